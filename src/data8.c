/*
 * data8.c
 *	  Module entry point: settings (GUCs) and one-time initialisation.
 */
#include "data8.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "http.h"
#include "json.h"
#include "profile.h"

PG_MODULE_MAGIC;

char	   *d8_profile_name = NULL;
int			d8_timeout_ms = 30000;
int			d8_connect_timeout_ms = 10000;
int			d8_max_retries = 5;
int			d8_parallel_requests = 4;
int			d8_poll_interval_ms = 1000;
bool		d8_progress = false;

void		_PG_init(void);

/* Defines the data8.* settings and prepares the HTTP and JSON layers. */
void
_PG_init(void)
{
	DefineCustomStringVariable("data8.profile",
							   "Name of the row of data8.profile whose credentials and URLs are used.",
							   NULL, &d8_profile_name, "default",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("data8.timeout",
							"Longest time one request to the Data8 service may take.",
							"A request that takes longer fails; idempotent requests are retried.",
							&d8_timeout_ms, 30000, 100, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("data8.connect_timeout",
							"Longest time to wait for a connection to the Data8 service.",
							NULL, &d8_connect_timeout_ms, 10000, 100, 600 * 1000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("data8.max_retries",
							"Retries of an idempotent request after a 429, a 5xx or a connection error.",
							"Retries wait with capped exponential backoff and jitter, or as long as Retry-After says.",
							&d8_max_retries, 5, 0, 100,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("data8.parallel_requests",
							"Number of requests (blocks or pages) kept in flight by the data path.",
							NULL, &d8_parallel_requests, 4, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("data8.poll_interval",
							"Time between two polls of a running job.",
							"The interval grows while a job runs, up to ten times this value.",
							&d8_poll_interval_ms, 1000, 10, 600 * 1000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("data8.progress",
							 "Reports progress of long work (uploads, downloads, jobs) as NOTICE lines.",
							 NULL, &d8_progress, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("data8");

	d8_profile_init();
	d8_json_init();
	d8_http_init();
}
