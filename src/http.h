/*
 * http.h
 *	  The HTTP engine: every request to Data8 goes through here.
 *
 * libcurl multi transfers driven by a loop that reacts to interrupts within
 * about 50 ms, retries with capped exponential backoff and jitter (and
 * Retry-After), a fresh OAuth token on a 401, keep-alive connections shared
 * by all transfers of the backend, and error mapping to SQLSTATEs.
 * Transfers belong to a D8Pipeline whose memory context owns them: when
 * that context goes (normal end or ERROR), its transfers are detached.
 */
#ifndef DATA8_HTTP_H
#define DATA8_HTTP_H

#include "postgres.h"
#include "lib/stringinfo.h"

#include "compat.h"

#include "json.h"
#include "profile.h"

/* Request flags */
#define D8_IDEMPOTENT		0x01	/* retry on 429/5xx/transport errors */
#define D8_RETRY_CREATE		0x02	/* POST of a client-named object: retry
									 * even when the outcome is unknown */
#define D8_NO_AUTH			0x04	/* token endpoint: no bearer token */
#define D8_FORM				0x08	/* body is form-encoded, not JSON */
#define D8_ABSOLUTE_URL		0x10	/* path is a whole URL */

typedef struct D8Request
{
	const char *method;			/* GET, POST, PUT, PATCH, DELETE */
	char	   *path;			/* encoded path and query under api_url */
	const char *object;			/* what it names, for messages */
	StringInfo	body;			/* request body, or NULL */
	int			flags;
} D8Request;

typedef struct D8Response
{
	long		status;			/* HTTP status, 0 when there was no answer */
	StringInfoData body;
	char		content_type[128];
	int			retry_after;	/* seconds, -1 when absent */
	int			attempts;		/* transfers made */
	int			retries;		/* of which retries after a fault */
	bool		ambiguous;		/* an earlier attempt may have taken effect */
	bool		timed_out;
	bool		too_large;
	char		error[256];		/* transport error text */
} D8Response;

typedef struct D8Pipeline D8Pipeline;
typedef void (*D8Done) (D8Request *req, D8Response *resp, void *arg);

extern void d8_http_init(void);

/* Many requests in flight (http.c) */
extern D8Pipeline *d8_pipeline_begin(D8Profile *profile, int window, int capacity);
extern D8Pipeline *d8_data_pipeline_begin(void);
extern int	d8_pipeline_window(D8Pipeline *pipe);
extern int	d8_pipeline_peak_window(D8Pipeline *pipe);
extern void d8_pipeline_submit(D8Pipeline *pipe, D8Request *req,
							   D8Response *resp, D8Done done, void *arg);
extern void d8_pipeline_drain(D8Pipeline *pipe);
extern void d8_pipeline_poll(D8Pipeline *pipe);
extern void d8_pipeline_end(D8Pipeline *pipe);

/* One request at a time (http.c) */
extern void d8_http_perform(D8Profile *profile, D8Request *req, D8Response *resp);
extern bool d8_http_ok(D8Response *resp);
pg_noreturn extern void d8_http_raise(D8Request *req, D8Response *resp);
extern void d8_http_check(D8Request *req, D8Response *resp);
extern D8Json *d8_api(const char *method, char *path, const char *object,
					  StringInfo body, int flags);
extern D8Json *d8_api_create(char *path, const char *object, StringInfo body,
							 char *recheck_path);
extern D8Json *d8_api_create_or_get(char *path, const char *object, StringInfo body,
									 char *recheck_path, bool *existed);
extern D8Json *d8_api_response_json(D8Request *req, D8Response *resp);
extern void d8_http_check_json(D8Request *req, D8Response *resp);

/*
 * Writes the whole object for a PUT into body: the caller's changes over
 * current (the object as read).  Returns the number of changes.
 */
typedef int (*D8UpdateBody) (void *arg, StringInfo body, D8Json *current);
extern D8Json *d8_api_update(char *path, const char *object, D8UpdateBody build, void *arg);

/* Interruptible sleep (http.c) */
extern void d8_sleep_ms(long ms);

#endif							/* DATA8_HTTP_H */
