/*
 * http.c
 *	  The HTTP engine: libcurl multi transfers, retries, interrupts, and the
 *	  mapping of answers to SQLSTATEs.
 */
#include "data8.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "http.h"
#include "window.h"

#define D8_POLL_SLICE_MS	50		/* longest wait between interrupt checks */
#define D8_BACKOFF_BASE_MS	100
#define D8_BACKOFF_CAP_MS	5000
#define D8_RETRY_AFTER_CAP	300		/* seconds */

/* One transfer in a pipeline. */
typedef struct D8Slot
{
	CURL	   *easy;
	struct curl_slist *headers;
	D8Request  *req;
	D8Response *resp;
	D8Done		done;
	void	   *arg;
	bool		in_multi;		/* added to the multi handle */
	TimestampTz start_after;	/* waiting for a retry until then */
	bool		auth_retried;
	TimestampTz deadline;		/* the attempt fails if not done by then */
	TimestampTz sent;			/* when the attempt started */
	uint64		token_generation;
	char		errbuf[CURL_ERROR_SIZE];
} D8Slot;

struct D8Pipeline
{
	MemoryContext cxt;			/* owns this pipeline; its reset detaches */
	MemoryContextCallback cleanup;
	D8Profile  *profile;
	CURLM	   *multi;
	D8Window	window;			/* how many slots may be in use */
	TimestampTz paused_until;	/* Retry-After: no attempt starts before */
	int			nslots;			/* slots in use */
	D8Slot		slots[D8_MAX_PARALLEL];
};

/* Shared by all transfers of the backend: connections, DNS, TLS sessions. */
static CURLSH *d8_share = NULL;
/* Easy handles kept for reuse. */
static CURL *d8_free_easy[D8_MAX_PARALLEL * 2];
static int	d8_nfree_easy = 0;

/* Readies libcurl once per backend. */
void
d8_http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		elog(ERROR, "could not initialise libcurl");
}

/*
 * What a backend waiting here shows in pg_stat_activity: Extension /
 * Data8Request on 17 and later (registered once per backend), Extension /
 * Extension before (compat.h).
 */
static uint32
wait_event(void)
{
	static uint32 event = 0;

	if (event == 0)
		event = D8_WAIT_EVENT_NEW("Data8Request");
	return event;
}

static CURLSH *
get_share(void)
{
	if (d8_share == NULL)
	{
		d8_share = curl_share_init();
		if (d8_share == NULL)
			elog(ERROR, "could not create a libcurl share handle");
		curl_share_setopt(d8_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(d8_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(d8_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
	return d8_share;
}

static CURL *
easy_get(void)
{
	CURL	   *easy;

	if (d8_nfree_easy > 0)
		return d8_free_easy[--d8_nfree_easy];
	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	return easy;
}

static void
easy_put(CURL *easy)
{
	curl_easy_reset(easy);
	if (d8_nfree_easy < lengthof(d8_free_easy))
		d8_free_easy[d8_nfree_easy++] = easy;
	else
		curl_easy_cleanup(easy);
}

/* Detaches a slot's transfer; never fails (runs during error cleanup). */
static void
slot_release(D8Pipeline *pipe, D8Slot *slot)
{
	if (slot->easy)
	{
		if (slot->in_multi)
			curl_multi_remove_handle(pipe->multi, slot->easy);
		easy_put(slot->easy);
	}
	if (slot->headers)
		curl_slist_free_all(slot->headers);
	memset(slot, 0, sizeof(D8Slot));
}

/* Memory context callback: the pipeline's memory is going away. */
static void
pipeline_cleanup(void *arg)
{
	D8Pipeline *pipe = (D8Pipeline *) arg;
	int			i;

	for (i = 0; i < D8_MAX_PARALLEL; i++)
		if (pipe->slots[i].req != NULL)
			slot_release(pipe, &pipe->slots[i]);
	if (pipe->multi)
		curl_multi_cleanup(pipe->multi);
	pipe->multi = NULL;
	pipe->nslots = 0;
}

/*
 * Starts a pipeline of transfers for profile: window of them in flight, or
 * with window 0 an adaptive window of at most capacity (window.h).
 */
D8Pipeline *
d8_pipeline_begin(D8Profile *profile, int window, int capacity)
{
	MemoryContext cxt;
	D8Pipeline *pipe;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 pipeline",
								ALLOCSET_SMALL_SIZES);
	pipe = MemoryContextAllocZero(cxt, sizeof(D8Pipeline));
	pipe->cxt = cxt;
	pipe->profile = profile;
	d8_window_init(&pipe->window, window, window > 0 ? window : capacity);
	pipe->multi = curl_multi_init();
	if (pipe->multi == NULL)
	{
		MemoryContextDelete(cxt);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	}
	/*
	 * No CURLMOPT_MAX_HOST_CONNECTIONS: the slots already bound the
	 * transfers, and connections are counted in the shared cache, so a
	 * nested pipeline (a token fetch during an upload) would be parked
	 * behind the outer one's connections forever.
	 */
	pipe->cleanup.func = pipeline_cleanup;
	pipe->cleanup.arg = pipe;
	MemoryContextRegisterResetCallback(cxt, &pipe->cleanup);
	return pipe;
}

/* Starts the data path's pipeline: the active profile, data8.parallel_requests. */
D8Pipeline *
d8_data_pipeline_begin(void)
{
	return d8_pipeline_begin(d8_profile_active(), d8_window_fixed(), d8_window_capacity());
}

/* Ends a pipeline: its transfers (if any are left) are dropped. */
void
d8_pipeline_end(D8Pipeline *pipe)
{
	MemoryContextDelete(pipe->cxt);
}

static size_t
write_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	D8Slot	   *slot = (D8Slot *) userdata;
	StringInfo	body = &slot->resp->body;
	size_t		n = size * nmemb;

	if ((size_t) body->len + n > D8_MAX_RESPONSE)
	{
		slot->resp->too_large = true;
		return 0;				/* makes curl fail the transfer */
	}
	/* enlargeStringInfo may ERROR on OOM; that cannot happen below 64 MB */
	appendBinaryStringInfo(body, data, n);
	return n;
}

static bool
header_is(const char *line, size_t len, const char *name)
{
	size_t		n = strlen(name);

	return len > n && pg_strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Copies a header's value, trimmed, into dst. */
static void
header_value(const char *line, size_t len, const char *name,
			 char *dst, size_t dstlen)
{
	const char *v = line + strlen(name) + 1;
	const char *end = line + len;
	size_t		n;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	n = Min((size_t) (end - v), dstlen - 1);
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
read_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	D8Slot	   *slot = (D8Slot *) userdata;
	size_t		n = size * nmemb;
	char		value[64];

	if (header_is(data, n, "Content-Type"))
		header_value(data, n, "Content-Type", slot->resp->content_type,
					 sizeof(slot->resp->content_type));
	else if (header_is(data, n, "Retry-After"))
	{
		header_value(data, n, "Retry-After", value, sizeof(value));
		slot->resp->retry_after = atoi(value);
		if (slot->resp->retry_after < 0)
			slot->resp->retry_after = 0;
	}
	return n;
}

static void
setopt_failed(CURLcode rc)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not set up a Data8 request: %s", curl_easy_strerror(rc))));
}

#define SETOPT(easy, opt, val) \
	do { CURLcode rc_ = curl_easy_setopt((easy), (opt), (val)); \
		 if (rc_ != CURLE_OK) setopt_failed(rc_); } while (0)

/* Prepares a slot's easy handle for one attempt and adds it to the multi. */
static void
slot_start(D8Pipeline *pipe, D8Slot *slot)
{
	D8Request  *req = slot->req;
	D8Response *resp = slot->resp;
	CURL	   *easy = slot->easy;
	char	   *url;

	resetStringInfo(&resp->body);
	resp->status = 0;
	resp->content_type[0] = '\0';
	resp->retry_after = -1;
	resp->timed_out = false;
	resp->too_large = false;
	resp->error[0] = '\0';
	slot->errbuf[0] = '\0';

	if (slot->headers)
	{
		curl_slist_free_all(slot->headers);
		slot->headers = NULL;
	}
	curl_easy_reset(easy);

	if (req->flags & D8_ABSOLUTE_URL)
		url = req->path;
	else
		url = psprintf("%s%s", pipe->profile->api_url, req->path);

	SETOPT(easy, CURLOPT_URL, url);
	if (url != req->path)
		pfree(url);				/* curl keeps a copy */
	SETOPT(easy, CURLOPT_SHARE, get_share());
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(easy, CURLOPT_TIMEOUT_MS, (long) d8_timeout_ms);
	SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) d8_connect_timeout_ms);
	SETOPT(easy, CURLOPT_ACCEPT_ENCODING, "");
	/* refuses at once an answer announced too large (see also write_body) */
	SETOPT(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) D8_MAX_RESPONSE);
	SETOPT(easy, CURLOPT_USERAGENT, DATA8_USER_AGENT);
	SETOPT(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(easy, CURLOPT_ERRORBUFFER, slot->errbuf);
	SETOPT(easy, CURLOPT_WRITEFUNCTION, write_body);
	SETOPT(easy, CURLOPT_WRITEDATA, slot);
	SETOPT(easy, CURLOPT_HEADERFUNCTION, read_header);
	SETOPT(easy, CURLOPT_HEADERDATA, slot);
	SETOPT(easy, CURLOPT_PRIVATE, slot);
	SETOPT(easy, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "GET") == 0)
		SETOPT(easy, CURLOPT_HTTPGET, 1L);

	if (req->body)
	{
		SETOPT(easy, CURLOPT_POSTFIELDS, req->body->data);
		SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body->len);
	}
	else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "DELETE") != 0)
	{
		SETOPT(easy, CURLOPT_POSTFIELDS, "");
		SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
	}

	slot->headers = curl_slist_append(slot->headers, "Accept: application/json, application/problem+json");
	slot->headers = curl_slist_append(slot->headers, "Expect:");
	if (req->body)
		slot->headers = curl_slist_append(slot->headers,
										  (req->flags & D8_FORM) ?
										  "Content-Type: application/x-www-form-urlencoded" :
										  "Content-Type: application/json; charset=utf-8");
	if (!(req->flags & D8_NO_AUTH))
	{
		char	   *auth = d8_token_header(pipe->profile, &slot->token_generation);

		slot->headers = curl_slist_append(slot->headers, auth);
		explicit_bzero(auth, strlen(auth));
		pfree(auth);
	}
	if (slot->headers == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not build request headers")));
	SETOPT(easy, CURLOPT_HTTPHEADER, slot->headers);

	if (curl_multi_add_handle(pipe->multi, easy) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start a Data8 request")));
	slot->in_multi = true;
	slot->start_after = 0;
	slot->sent = GetCurrentTimestamp();
	/* a backstop to CURLOPT_TIMEOUT, which a transfer curl parks escapes */
	slot->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												 (int64) d8_timeout_ms + d8_connect_timeout_ms + 1000);
	resp->attempts++;
}

/* Milliseconds to wait before retry number n (1-based), with jitter. */
static long
backoff_ms(int n, int retry_after)
{
	long		ceiling = D8_BACKOFF_BASE_MS;
	long		ms;

	while (--n > 0 && ceiling < D8_BACKOFF_CAP_MS)
		ceiling *= 2;
	ceiling = Min(ceiling, D8_BACKOFF_CAP_MS);
	ms = ceiling / 2 + (long) (((double) random() / 2147483648.0) * (ceiling / 2));
	if (retry_after >= 0)
		ms = Max(ms, (long) Min(retry_after, D8_RETRY_AFTER_CAP) * 1000L);
	return ms;
}

static bool
transport_error_is_connect(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
		rc == CURLE_COULDNT_RESOLVE_PROXY;
}

/*
 * Decides what to do with a finished attempt: retry it later (true) or
 * hand it to its owner (false).
 */
static bool
slot_should_retry(D8Slot *slot, CURLcode rc)
{
	D8Request  *req = slot->req;
	D8Response *resp = slot->resp;
	bool		idempotent = (req->flags & D8_IDEMPOTENT) != 0;
	bool		create = (req->flags & D8_RETRY_CREATE) != 0;
	bool		retryable;

	if (rc == CURLE_OK && resp->status == 401 && !(req->flags & D8_NO_AUTH) &&
		!slot->auth_retried)
	{
		/* the token may have expired early: get a new one, once */
		slot->auth_retried = true;
		return true;
	}

	if (rc != CURLE_OK)
	{
		if (resp->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		{
			resp->too_large = true;
			return false;
		}
		retryable = idempotent || create || transport_error_is_connect(rc);
		if (retryable && !transport_error_is_connect(rc))
			resp->ambiguous = true;
	}
	else if (resp->status == 429 || resp->status == 503)
		retryable = true;		/* the service refused it: safe to resend */
	else if (resp->status == 502 || resp->status == 504 || resp->status == 500)
	{
		retryable = idempotent || create;
		if (retryable)
			resp->ambiguous = true;
	}
	else
		return false;

	return retryable && resp->retries < d8_max_retries;
}

/* Handles one finished transfer. */
static void
slot_finish(D8Pipeline *pipe, D8Slot *slot, CURLcode rc)
{
	D8Response *resp = slot->resp;
	long		status = 0;

	curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(pipe->multi, slot->easy);
	slot->in_multi = false;
	resp->status = (rc == CURLE_OK) ? status : 0;
	if (rc != CURLE_OK)
	{
		resp->timed_out = (rc == CURLE_OPERATION_TIMEDOUT);
		strlcpy(resp->error, slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc),
				sizeof(resp->error));
	}

	if (rc == CURLE_OPERATION_TIMEDOUT || resp->status == 429 || resp->status == 503)
	{
		TimestampTz now = GetCurrentTimestamp();

		d8_window_push_back(&pipe->window, slot->sent, now);
		/* Retry-After holds every transfer back, not only this one */
		if (resp->retry_after >= 0)
			pipe->paused_until =
				Max(pipe->paused_until,
					TimestampTzPlusMilliseconds(now, (int64) Min(resp->retry_after,
																	D8_RETRY_AFTER_CAP) * 1000));
	}
	else if (d8_http_ok(resp))
		d8_window_success(&pipe->window, GetCurrentTimestamp());

	if (slot_should_retry(slot, rc))
	{
		long		delay = 0;

		if (rc == CURLE_OK && resp->status == 401)
		{
			d8_token_invalidate(pipe->profile, slot->token_generation);
			resp->attempts--;	/* a token refresh is not a retry */
		}
		else
		{
			resp->retries++;
			delay = backoff_ms(resp->retries, resp->retry_after);
		}
		slot->start_after = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
		return;
	}

	/* hand it over; the slot is free again */
	{
		D8Request  *req = slot->req;
		D8Done		done = slot->done;
		void	   *arg = slot->arg;

		slot_release(pipe, slot);
		pipe->nslots--;
		if (done)
			done(req, resp, arg);
	}
}

/*
 * Drives the pipeline's transfers for at most wait_ms: starts transfers
 * whose backoff is over, reads what arrived, and checks for interrupts.
 */
static void
pipeline_step(D8Pipeline *pipe, long wait_ms)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_start = 0;
	int			running = 0;
	int			left;
	CURLMsg    *msg;
	int			i;
	bool		finished = false;

	for (i = 0; i < D8_MAX_PARALLEL; i++)
	{
		D8Slot	   *slot = &pipe->slots[i];

		TimestampTz start_after;

		if (slot->req == NULL || slot->in_multi)
			continue;
		start_after = Max(slot->start_after, pipe->paused_until);
		if (start_after <= now)
			slot_start(pipe, slot);
		else if (next_start == 0 || start_after < next_start)
			next_start = start_after;
	}

	curl_multi_perform(pipe->multi, &running);
	for (i = 0; i < D8_MAX_PARALLEL; i++)
	{
		D8Slot	   *slot = &pipe->slots[i];

		if (slot->req != NULL && slot->in_multi && now > slot->deadline)
		{
			slot_finish(pipe, slot, CURLE_OPERATION_TIMEDOUT);
			finished = true;
		}
	}
	while ((msg = curl_multi_info_read(pipe->multi, &left)) != NULL)
	{
		D8Slot	   *slot = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
		slot_finish(pipe, slot, msg->data.result);
		finished = true;
	}

	if (!finished)
	{
		long		timeout = Min(wait_ms, D8_POLL_SLICE_MS);

		if (next_start != 0)
		{
			long		until = (long) ((next_start - now) / 1000);

			timeout = Max(0, Min(timeout, until));
		}
		if (running > 0)
		{
			pgstat_report_wait_start(wait_event());
			curl_multi_poll(pipe->multi, NULL, 0, (int) timeout, NULL);
			pgstat_report_wait_end();
		}
		else if (timeout > 0)
			d8_sleep_ms(timeout);
	}
	CHECK_FOR_INTERRUPTS();
}

/*
 * Queues a request; waits (driving the others) while the window is full.
 * done(req, resp, arg) runs when it has its final answer.
 */
void
d8_pipeline_submit(D8Pipeline *pipe, D8Request *req, D8Response *resp,
				   D8Done done, void *arg)
{
	D8Slot	   *slot = NULL;
	int			i;

	while (pipe->nslots >= d8_window_allowed(&pipe->window) ||
		   pipe->nslots >= D8_MAX_PARALLEL)
		pipeline_step(pipe, D8_POLL_SLICE_MS);

	for (i = 0; i < D8_MAX_PARALLEL; i++)
		if (pipe->slots[i].req == NULL)
		{
			slot = &pipe->slots[i];
			break;
		}
	Assert(slot != NULL);

	memset(resp, 0, sizeof(D8Response));
	initStringInfo(&resp->body);
	resp->retry_after = -1;

	slot->easy = easy_get();
	slot->req = req;
	slot->resp = resp;
	slot->done = done;
	slot->arg = arg;
	slot->start_after = 0;
	pipe->nslots++;
	if (GetCurrentTimestamp() < pipe->paused_until)
		return;					/* pipeline_step starts it after the pause */
	slot_start(pipe, slot);
	/* let it go out at once */
	{
		int			running;

		curl_multi_perform(pipe->multi, &running);
	}
}

/* Requests the pipeline may have in flight now. */
int
d8_pipeline_window(D8Pipeline *pipe)
{
	return d8_window_allowed(&pipe->window);
}

/* The largest window the pipeline reached. */
int
d8_pipeline_peak_window(D8Pipeline *pipe)
{
	return pipe->window.peak;
}

/* Drives the pipeline's transfers once (at most about 50 ms). */
void
d8_pipeline_poll(D8Pipeline *pipe)
{
	pipeline_step(pipe, D8_POLL_SLICE_MS);
}

/* Waits until every request of the pipeline has its final answer. */
void
d8_pipeline_drain(D8Pipeline *pipe)
{
	while (pipe->nslots > 0)
		pipeline_step(pipe, D8_POLL_SLICE_MS);
}

/* Performs one request with retries; the answer may be any status. */
void
d8_http_perform(D8Profile *profile, D8Request *req, D8Response *resp)
{
	D8Pipeline *pipe = d8_pipeline_begin(profile, 1, 1);

	d8_pipeline_submit(pipe, req, resp, NULL, NULL);
	d8_pipeline_drain(pipe);
	d8_pipeline_end(pipe);
}

/* Sleeps ms milliseconds, waking for interrupts at least every 50 ms. */
void
d8_sleep_ms(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left;

		CHECK_FOR_INTERRUPTS();
		left = (long) ((end - GetCurrentTimestamp()) / 1000);
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(left, D8_POLL_SLICE_MS), wait_event());
		ResetLatch(MyLatch);
	}
}

bool
d8_http_ok(D8Response *resp)
{
	return resp->status >= 200 && resp->status < 300;
}

/* The problem+json answer's title and detail, if the answer is one. */
static void
problem_detail(D8Response *resp, StringInfo detail, char **title)
{
	*title = NULL;
	if (resp->body.len == 0 || strstr(resp->content_type, "json") == NULL)
		return;
	d8_json_problem(d8_json_try_parse(resp->body.data, resp->body.len), detail, title);
}

/* Raises the ERROR that an unsuccessful answer means. */
void
d8_http_raise(D8Request *req, D8Response *resp)
{
	StringInfoData detail;
	char	   *title = NULL;
	const char *object = req->object ? req->object : "the requested object";
	int			code;
	char	   *msg;

	initStringInfo(&detail);

	if (resp->status == 0)
	{
		if (resp->too_large)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("Data8 answer is too large"),
					 errdetail("Answers over %d bytes are refused.", D8_MAX_RESPONSE),
					 errcontext("Data8 request %s %s", req->method, req->path)));
		ereport(ERROR,
				(errcode(resp->timed_out ? ERRCODE_QUERY_CANCELED : ERRCODE_CONNECTION_FAILURE),
				 resp->timed_out ?
				 errmsg_plural("Data8 request timed out after %d attempt",
							   "Data8 request timed out after %d attempts",
							   resp->attempts, resp->attempts) :
				 errmsg_plural("could not reach the Data8 service after %d attempt",
							   "could not reach the Data8 service after %d attempts",
							   resp->attempts, resp->attempts),
				 errdetail_internal("%s", resp->error),
				 resp->timed_out ?
				 errhint("Raise data8.timeout or data8.max_retries.") :
				 errhint("Check the profile's api_url and token_url, and data8.max_retries."),
				 errcontext("Data8 request %s %s", req->method, req->path)));
	}

	problem_detail(resp, &detail, &title);

	switch (resp->status)
	{
		case 400:
		case 422:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			msg = psprintf("Data8 rejected the request for %s", object);
			break;
		case 401:
		case 403:
			code = ERRCODE_INSUFFICIENT_PRIVILEGE;
			msg = psprintf("Data8 refused access to %s", object);
			break;
		case 404:
			code = ERRCODE_UNDEFINED_OBJECT;
			msg = psprintf("%s does not exist in Data8", object);
			break;
		case 409:
			code = ERRCODE_DUPLICATE_OBJECT;
			msg = psprintf("%s already exists in Data8 or its name was used before", object);
			break;
		case 413:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			msg = psprintf("Data8 refused the request for %s as too large", object);
			break;
		case 429:
		case 500:
		case 502:
		case 503:
		case 504:
			code = ERRCODE_CONNECTION_FAILURE;
			msg = psprintf("Data8 service unavailable (HTTP %ld) after %d %s",
						   resp->status, resp->attempts,
						   resp->attempts == 1 ? "attempt" : "attempts");
			break;
		default:
			if (resp->status >= 300 && resp->status < 400)
			{
				code = ERRCODE_CONNECTION_FAILURE;
				msg = psprintf("Data8 answered with a redirect (HTTP %ld), which is not followed",
							   resp->status);
			}
			else
			{
				code = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
				msg = psprintf("unexpected Data8 answer HTTP %ld for %s",
							   resp->status, object);
			}
			break;
	}

	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", msg),
			 (title || detail.len) ?
			 errdetail_internal("%s%s%s", title ? title : "",
								(title && detail.len) ? "\n" : "", detail.data) : 0,
			 resp->status == 401 || resp->status == 403 ?
			 errhint("Check the client credentials and scope of profile \"%s\".",
					 d8_profile_name) : 0,
			 resp->status == 429 || resp->status >= 500 ?
			 errhint("The service is overloaded or down; try again later or raise data8.max_retries.") : 0,
			 errcontext("Data8 request %s %s", req->method, req->path)));
	pg_unreachable();
}

/* Raises an ERROR unless the answer is a success. */
void
d8_http_check(D8Request *req, D8Response *resp)
{
	if (!d8_http_ok(resp))
		d8_http_raise(req, resp);
}

/* Parses a successful answer; NULL when it has no body. */
D8Json *
d8_api_response_json(D8Request *req, D8Response *resp)
{
	if (resp->body.len == 0)
		return NULL;
	d8_http_check_json(req, resp);
	return d8_json_parse(resp->body.data, resp->body.len,
						 psprintf("%s %s", req->method, req->path));
}

/*
 * Ensures an answer is JSON by its content type (when it has one): a
 * profile whose api_url points elsewhere gets a page of HTML, not a parse
 * error.
 */
void
d8_http_check_json(D8Request *req, D8Response *resp)
{
	if (resp->content_type[0] && strstr(resp->content_type, "json") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Data8 answered %s %s with %s, not JSON",
						req->method, req->path, resp->content_type),
				 errhint("Check the profile's api_url: it may not point at the Data8 API.")));
}

/*
 * Calls the API with the active profile: an ERROR for anything but a
 * success; the parsed answer (or NULL for an empty one) otherwise.
 * GET, PUT and DELETE are idempotent; flags may add D8_IDEMPOTENT.
 */
D8Json *
d8_api(const char *method, char *path, const char *object,
	   StringInfo body, int flags)
{
	D8Request	req;
	D8Response	resp;
	D8Profile  *profile = d8_profile_active();

	req.method = method;
	req.path = path;
	req.object = object;
	req.body = body;
	req.flags = flags;
	if (strcmp(method, "GET") == 0 || strcmp(method, "PUT") == 0 ||
		strcmp(method, "DELETE") == 0)
		req.flags |= D8_IDEMPOTENT;

	d8_http_perform(profile, &req, &resp);
	/* a DELETE whose first answer was lost did its work */
	if (resp.status == 404 && resp.ambiguous && strcmp(method, "DELETE") == 0)
		return NULL;
	d8_http_check(&req, &resp);
	return d8_api_response_json(&req, &resp);
}

/*
 * POSTs an object whose name the client chose (a dataset, a job), so that
 * it can be retried even when an attempt's outcome is unknown.  A 409 is
 * taken as "it exists" when exists_ok, or when it follows such an attempt
 * (the first attempt took effect): the object is then read back from
 * recheck_path, and *existed (if given) says so.
 */
static D8Json *
api_create(char *path, const char *object, StringInfo body,
		   char *recheck_path, bool exists_ok, bool *existed)
{
	D8Request	req;
	D8Response	resp;
	D8Profile  *profile = d8_profile_active();

	req.method = "POST";
	req.path = path;
	req.object = object;
	req.body = body;
	req.flags = D8_RETRY_CREATE;

	d8_http_perform(profile, &req, &resp);
	if (existed)
		*existed = false;
	if (resp.status == 409 && (resp.ambiguous || exists_ok))
	{
		/* with exists_ok, the caller checks what is there either way */
		if (existed)
			*existed = true;
		return d8_api("GET", recheck_path, object, NULL, 0);
	}
	d8_http_check(&req, &resp);
	return d8_api_response_json(&req, &resp);
}

/* Creates a client-named object; 409 is an ERROR unless our own retry met it. */
D8Json *
d8_api_create(char *path, const char *object, StringInfo body,
			  char *recheck_path)
{
	return api_create(path, object, body, recheck_path, false, NULL);
}

/* Creates a client-named object, or reads it back when it exists already. */
D8Json *
d8_api_create_or_get(char *path, const char *object, StringInfo body,
					 char *recheck_path, bool *existed)
{
	return api_create(path, object, body, recheck_path, true, existed);
}

/*
 * Updates an object without clearing what the caller did not name: reads it
 * (GET path), lets build write the whole object into a body with the
 * caller's changes overlaid on what was read, PUTs it and reads it back.
 * When build reports no change, nothing is sent and the object is returned
 * as read.
 */
D8Json *
d8_api_update(char *path, const char *object, D8UpdateBody build, void *arg)
{
	D8Json	   *current = d8_api("GET", path, object, NULL, 0);
	StringInfoData body;

	if (!d8_json_is_object(current))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer for %s", object),
				 errdetail("Expected a JSON object.")));
	initStringInfo(&body);
	if (build(arg, &body, current) == 0)
		return current;
	d8_api("PUT", path, object, &body, 0);
	return d8_api("GET", path, object, NULL, 0);
}
