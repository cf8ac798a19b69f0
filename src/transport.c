/*
 * transport.c
 *	  The transport (see transport.h): libcurl multi transfers in slots,
 *	  timeouts, retries with backoff, the request window, interrupts.
 */
#include "data8.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "transport.h"
#include "gzip.h"
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
	TimestampTz queued;			/* when the request was submitted */
	bool		auth_retried;
	TimestampTz deadline;		/* the attempt fails if not done by then */
	TimestampTz sent;			/* when the attempt started */
	int			inflight;		/* attempts in flight then, itself included */
	uint64		auth_generation;	/* of the credentials it was sent with */
	bool		gzip;			/* the answer is Content-Encoding: gzip */
	bool		bad_encoding;	/* ... or an encoding that was not asked for */
	char		errbuf[CURL_ERROR_SIZE];
} D8Slot;

struct D8Pipeline
{
	MemoryContext cxt;			/* owns this pipeline; its reset detaches */
	MemoryContextCallback cleanup;
	char	   *base_url;		/* what a request's path is under */
	D8Auth		auth;			/* auth.header NULL: no credentials */
	CURLM	   *multi;
	D8Window	window;			/* how many slots may be in use */
	TimestampTz paused_until;	/* Retry-After: no attempt starts before */
	int			nslots;			/* slots in use */
	int			in_window;		/* the stream's requests not consumed, at the last submit */
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
 * Starts a pipeline of transfers to paths under base_url with credentials
 * from auth (or none when NULL): window of them in flight, or with window 0
 * an adaptive window of at most capacity (window.h).
 */
D8Pipeline *
d8_pipeline_begin(const char *base_url, const D8Auth *auth, int window, int capacity)
{
	MemoryContext cxt;
	D8Pipeline *pipe;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 pipeline",
								ALLOCSET_SMALL_SIZES);
	pipe = MemoryContextAllocZero(cxt, sizeof(D8Pipeline));
	pipe->cxt = cxt;
	pipe->base_url = MemoryContextStrdup(cxt, base_url);
	if (auth)
		pipe->auth = *auth;
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

/* Forgets what the headers of an answer said, before (another) one is read. */
static void
forget_headers(D8Slot *slot)
{
	slot->resp->content_type[0] = '\0';
	slot->resp->retry_after = -1;
	slot->gzip = false;
	slot->bad_encoding = false;
}

static size_t
read_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	D8Slot	   *slot = (D8Slot *) userdata;
	size_t		n = size * nmemb;
	char		value[64];

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		forget_headers(slot);	/* a status line: another answer (after a 100) begins */
	else if (header_is(data, n, "Content-Type"))
		header_value(data, n, "Content-Type", slot->resp->content_type,
					 sizeof(slot->resp->content_type));
	else if (header_is(data, n, "Content-Encoding"))
	{
		/* only gzip is asked for (see slot_start) */
		header_value(data, n, "Content-Encoding", value, sizeof(value));
		if (pg_strcasecmp(value, "gzip") == 0 || pg_strcasecmp(value, "x-gzip") == 0)
			slot->gzip = true;
		else if (pg_strcasecmp(value, "identity") != 0)
			slot->bad_encoding = true;
	}
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
	forget_headers(slot);
	resp->timed_out = false;
	resp->too_large = false;
	resp->undecodable = false;
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
		url = psprintf("%s%s", pipe->base_url, req->path);

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
	/* gzip, decoded here when the transfer is done (gzip.c), not by curl */
	SETOPT(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
	SETOPT(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
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
	if (pipe->auth.header)
	{
		char	   *auth = pipe->auth.header(pipe->auth.arg, &slot->auth_generation);

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
	slot->inflight = 0;
	for (int i = 0; i < D8_MAX_PARALLEL; i++)
		slot->inflight += pipe->slots[i].in_multi;	/* not those waiting */
	/* the window is full as d8_pipeline_submit sees it, or as the stream does */
	d8_window_sent(&pipe->window, Max(pipe->nslots, pipe->in_window), slot->sent);
	/* a backstop to CURLOPT_TIMEOUT, which a transfer curl parks escapes */
	slot->deadline = TimestampTzPlusMilliseconds(slot->sent,
												 (int64) d8_timeout_ms + d8_connect_timeout_ms + 1000);
	resp->attempts++;
}

/* The wait a Retry-After of so many seconds asks for, capped, in ms. */
static long
retry_after_ms(int retry_after)
{
	return (long) Min(retry_after, D8_RETRY_AFTER_CAP) * 1000L;
}

/*
 * Milliseconds to wait before retry number n (1-based): as long as a
 * positive Retry-After says, so that the refused request is due when the
 * pause it set ends, with (and, oldest, ahead of) the requests held behind
 * it; else capped exponential backoff with jitter.
 */
static long
backoff_ms(int n, int retry_after)
{
	long		ceiling = D8_BACKOFF_BASE_MS;

	if (retry_after > 0)
		return retry_after_ms(retry_after);
	while (--n > 0 && ceiling < D8_BACKOFF_CAP_MS)
		ceiling *= 2;
	ceiling = Min(ceiling, D8_BACKOFF_CAP_MS);
	return ceiling / 2 + (long) (((double) random() / 2147483648.0) * (ceiling / 2));
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
slot_should_retry(D8Pipeline *pipe, D8Slot *slot, CURLcode rc)
{
	D8Request  *req = slot->req;
	D8Response *resp = slot->resp;
	bool		idempotent = (req->flags & D8_IDEMPOTENT) != 0;
	bool		create = (req->flags & D8_RETRY_CREATE) != 0;
	bool		retryable;

	if (rc == CURLE_OK && resp->status == 401 && pipe->auth.header &&
		!slot->auth_retried)
	{
		/* the credentials may have expired early: new ones, once */
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
		if (resp->undecodable)
			return false;
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

/*
 * Decodes a finished transfer's body as its Content-Encoding says.  An
 * answer that cannot be decoded fails the transfer, with no retry: the
 * service sent it as it meant to (like an answer over the size limit).
 */
static CURLcode
decode_body(D8Slot *slot)
{
	if (slot->bad_encoding)
	{
		slot->resp->undecodable = true;
		strlcpy(slot->errbuf, "Its Content-Encoding is not gzip, the only one asked for.",
				sizeof(slot->errbuf));
		return CURLE_BAD_CONTENT_ENCODING;
	}
	if (!slot->gzip)
		return CURLE_OK;
	switch (d8_gunzip(&slot->resp->body,
					  (slot->req->flags & D8_REUSE_BUFFERS) ? &slot->resp->spare : NULL,
					  D8_MAX_RESPONSE))
	{
		case D8_GUNZIP_OK:
			break;
		case D8_GUNZIP_CORRUPT:
			slot->resp->undecodable = true;
			strlcpy(slot->errbuf, "Its body is not one valid gzip member.", sizeof(slot->errbuf));
			return CURLE_BAD_CONTENT_ENCODING;
		case D8_GUNZIP_TOO_LARGE:
			slot->resp->too_large = true;
			return CURLE_FILESIZE_EXCEEDED;
	}
	return CURLE_OK;
}

/* Handles one finished transfer. */
static void
slot_finish(D8Pipeline *pipe, D8Slot *slot, CURLcode rc)
{
	D8Response *resp = slot->resp;
	long		status = 0;
	TimestampTz now;

	curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(pipe->multi, slot->easy);
	slot->in_multi = false;
	if (rc == CURLE_OK)
		rc = decode_body(slot);
	resp->status = (rc == CURLE_OK) ? status : 0;
	if (rc != CURLE_OK)
	{
		resp->timed_out = (rc == CURLE_OPERATION_TIMEDOUT);
		strlcpy(resp->error, slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc),
				sizeof(resp->error));
	}
	now = GetCurrentTimestamp();	/* a retry after Retry-After is due with the pause's end */

	if (rc == CURLE_OPERATION_TIMEDOUT || resp->status == 429 || resp->status == 503)
	{
		d8_window_push_back(&pipe->window, slot->sent, slot->inflight, now);
		/* Retry-After holds every transfer back, not only this one */
		if (resp->retry_after >= 0)
			pipe->paused_until =
				Max(pipe->paused_until,
					TimestampTzPlusMilliseconds(now, retry_after_ms(resp->retry_after)));
	}
	else if (d8_http_ok(resp))
		d8_window_success(&pipe->window, now);

	if (slot_should_retry(pipe, slot, rc))
	{
		long		delay = 0;

		if (rc == CURLE_OK && resp->status == 401)
		{
			if (pipe->auth.refused)
				pipe->auth.refused(pipe->auth.arg, slot->auth_generation);
			resp->attempts--;	/* new credentials are not a retry */
		}
		else
		{
			resp->retries++;
			delay = backoff_ms(resp->retries, resp->retry_after);
		}
		slot->start_after = TimestampTzPlusMilliseconds(now, delay);
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
 * Reads what has arrived, without waiting, and finishes the transfers that
 * are done or past their deadline; true if any was.  *running is set to the
 * transfers still running.
 */
static bool
pipeline_reap(D8Pipeline *pipe, int *running)
{
	TimestampTz now = GetCurrentTimestamp();
	int			left;
	CURLMsg    *msg;
	int			i;
	bool		finished = false;

	curl_multi_perform(pipe->multi, running);
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
	return finished;
}

/*
 * Starts the waiting transfers whose backoff and pause are over, the one
 * submitted first first: after a Retry-After pause the request the service
 * refused goes out before those queued behind it, so it is not the one
 * that meets the next refusal every time.  Returns when the next waiting
 * transfer may start (0: none waits).
 */
static TimestampTz
start_due(D8Pipeline *pipe, TimestampTz now)
{
	for (;;)
	{
		D8Slot	   *oldest = NULL;
		TimestampTz next_start = 0;

		for (int i = 0; i < D8_MAX_PARALLEL; i++)
		{
			D8Slot	   *slot = &pipe->slots[i];
			TimestampTz start_after;

			if (slot->req == NULL || slot->in_multi)
				continue;
			start_after = Max(slot->start_after, pipe->paused_until);
			if (start_after > now)
			{
				if (next_start == 0 || start_after < next_start)
					next_start = start_after;
			}
			else if (oldest == NULL || slot->queued < oldest->queued)
				oldest = slot;
		}
		if (oldest == NULL)
			return next_start;
		slot_start(pipe, oldest);
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
	TimestampTz next_start = start_due(pipe, now);
	int			running = 0;
	bool		finished;

	finished = pipeline_reap(pipe, &running);
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
	int			running;

	/*
	 * Answers already here go first: the window sees what they say, and the
	 * count of those in flight (slot_start) leaves them out.
	 */
	(void) pipeline_reap(pipe, &running);
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

	if (req->flags & D8_REUSE_BUFFERS)
	{
		StringInfoData body = resp->body;
		StringInfoData spare = resp->spare;

		memset(resp, 0, sizeof(D8Response));
		resp->body = body;
		resp->spare = spare;
	}
	else
	{
		memset(resp, 0, sizeof(D8Response));
		initStringInfo(&resp->body);
	}
	resp->retry_after = -1;

	slot->easy = easy_get();
	slot->req = req;
	slot->resp = resp;
	slot->done = done;
	slot->arg = arg;
	slot->start_after = 0;
	slot->queued = GetCurrentTimestamp();
	pipe->nslots++;
	/* it goes now, behind any older one due, or after the pause */
	(void) start_due(pipe, slot->queued);
	if (slot->in_multi)
		curl_multi_perform(pipe->multi, &running);	/* let it go out at once */
}

/*
 * The stream has n requests in its window (the next one submitted included)
 * that it has not consumed yet: answers it holds (fetch: pages not yet
 * emitted) fill the window as much as requests in flight do, so that the
 * window sees when it was the limit.  A stream that consumes each answer as
 * it arrives (upload) need not say.
 */
void
d8_pipeline_set_in_window(D8Pipeline *pipe, int n)
{
	pipe->in_window = Max(0, n);
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
d8_transport_perform(const char *base_url, const D8Auth *auth, D8Request *req,
					 D8Response *resp)
{
	D8Pipeline *pipe = d8_pipeline_begin(base_url, auth, 1, 1);

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

/* A success (2xx) answer. */
bool
d8_http_ok(D8Response *resp)
{
	return resp->status >= 200 && resp->status < 300;
}
