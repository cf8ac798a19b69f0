/*
 * transport.h
 *	  The transport: HTTP requests over libcurl, knowing nothing of Data8.
 *
 * libcurl multi transfers driven by a loop that reacts to interrupts within
 * about 50 ms, retries with capped exponential backoff and jitter (and
 * Retry-After, which pauses the whole pipeline), a request window (window.h),
 * keep-alive connections shared by all transfers of the backend.  The
 * credentials come from an optional hook, asked again once after a 401.
 * Transfers belong to a D8Pipeline whose memory context owns them: when
 * that context goes (normal end or ERROR), its transfers are detached.
 */
#ifndef DATA8_TRANSPORT_H
#define DATA8_TRANSPORT_H

#include "postgres.h"
#include "lib/stringinfo.h"

#include "compat.h"

/* Request flags */
#define D8_IDEMPOTENT		0x01	/* retry on 429/5xx/transport errors */
#define D8_RETRY_CREATE		0x02	/* POST of a client-named object: retry
									 * even when the outcome is unknown */
#define D8_FORM				0x08	/* body is form-encoded, not JSON */
#define D8_ABSOLUTE_URL		0x10	/* path is a whole URL */
#define D8_REUSE_BUFFERS	0x20	/* the caller gives resp's buffers: body
									 * initialised, spare empty (data NULL) or
									 * not; they are kept, not made afresh */

typedef struct D8Request
{
	const char *method;			/* GET, POST, PUT, PATCH, DELETE */
	char	   *path;			/* encoded path and query under the base URL */
	const char *object;			/* what it names, for messages */
	StringInfo	body;			/* request body, or NULL */
	int			flags;
} D8Request;

typedef struct D8Response
{
	long		status;			/* HTTP status, 0 when there was no answer */
	StringInfoData body;
	StringInfoData spare;		/* with D8_REUSE_BUFFERS: decoded into, then
								 * swapped with body */
	char		content_type[128];
	int			retry_after;	/* seconds, -1 when absent */
	int			attempts;		/* transfers made */
	int			retries;		/* of which retries after a fault */
	bool		ambiguous;		/* an earlier attempt may have taken effect */
	bool		timed_out;
	bool		too_large;
	bool		undecodable;	/* its Content-Encoding could not be decoded */
	char		error[256];		/* transport error text */
} D8Response;

/*
 * Credentials of a pipeline's requests: header() gives the header line
 * (palloc'd, wiped after use) and a generation; refused(generation) hears
 * that an answer was 401, before the request is sent once more.
 */
typedef struct D8Auth
{
	char	   *(*header) (void *arg, uint64 *generation);
	void		(*refused) (void *arg, uint64 generation);
	void	   *arg;
} D8Auth;

typedef struct D8Pipeline D8Pipeline;
typedef void (*D8Done) (D8Request *req, D8Response *resp, void *arg);

extern void d8_http_init(void);

/* Many requests in flight */
extern D8Pipeline *d8_pipeline_begin(const char *base_url, const D8Auth *auth,
									 int window, int capacity);
extern void d8_pipeline_submit(D8Pipeline *pipe, D8Request *req,
							   D8Response *resp, D8Done done, void *arg);
extern void d8_pipeline_drain(D8Pipeline *pipe);
extern void d8_pipeline_poll(D8Pipeline *pipe);
extern void d8_pipeline_end(D8Pipeline *pipe);
extern void d8_pipeline_set_in_window(D8Pipeline *pipe, int n);
extern int	d8_pipeline_window(D8Pipeline *pipe);
extern int	d8_pipeline_peak_window(D8Pipeline *pipe);

/* One request at a time */
extern void d8_transport_perform(const char *base_url, const D8Auth *auth,
								 D8Request *req, D8Response *resp);
extern bool d8_http_ok(D8Response *resp);

/* Interruptible sleep */
extern void d8_sleep_ms(long ms);

#endif							/* DATA8_TRANSPORT_H */
