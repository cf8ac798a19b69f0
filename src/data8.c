/*
 * data8.c
 *	  Module entry point: settings (GUCs) and one-time initialisation.
 */
#include "data8.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "json.h"
#include "profile.h"
#include "transport.h"

PG_MODULE_MAGIC;

char	   *d8_profile_name = NULL;
int			d8_timeout_ms = 30000;
int			d8_connect_timeout_ms = 10000;
int			d8_max_retries = 5;
int			d8_parallel_requests = 0;
int			d8_max_parallel_requests = 32;
static char *d8_parallel_requests_setting = NULL;
int			d8_poll_interval_ms = 1000;
bool		d8_progress = false;

void		_PG_init(void);

/* Reads a data8.parallel_requests value into *n (0 for auto); false if invalid. */
static bool
parse_parallel_requests(const char *value, int *n)
{
	char	   *end;
	long		v;

	if (pg_strcasecmp(value, "auto") == 0)
	{
		*n = 0;
		return true;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || *end != '\0' || errno != 0 || v < 1 || v > D8_MAX_PARALLEL)
		return false;
	*n = (int) v;
	return true;
}

/* Ensures data8.parallel_requests is auto or a number of requests. */
static bool
check_parallel_requests(char **newval, void **extra, GucSource source)
{
	int			n;

	if (parse_parallel_requests(*newval, &n))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("data8.parallel_requests must be auto or a number from 1 to %d.",
						D8_MAX_PARALLEL);
	return false;
}

/* Makes d8_parallel_requests follow data8.parallel_requests (checked already). */
static void
assign_parallel_requests(const char *newval, void *extra)
{
	int			n = 0;

	(void) parse_parallel_requests(newval, &n);
	d8_parallel_requests = n;
}

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
	DefineCustomStringVariable("data8.parallel_requests",
							   "Number of requests (blocks or pages) kept in flight by the data path.",
							   "auto sizes the window to the link: it grows while it is full and throughput grows, goes back to its best size when growing stops paying, and halves when the service pushes back, up to data8.max_parallel_requests; a number from 1 to 64 fixes it.",
							   &d8_parallel_requests_setting, "auto",
							   PGC_USERSET, 0, check_parallel_requests,
							   assign_parallel_requests, NULL);
	DefineCustomIntVariable("data8.max_parallel_requests",
							"Largest number of requests the auto window of data8.parallel_requests keeps in flight.",
							NULL, &d8_max_parallel_requests, 32, 1, D8_MAX_PARALLEL,
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
