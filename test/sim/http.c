/* http.c: libmicrohttpd server, body accumulation, faults, routing, gzip,
 * response helpers and the request log. */
#include "sim.h"
#include <arpa/inet.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static atomic_long g_seq;     /* every request */
static atomic_long g_api_seq; /* API requests: fault counter */
static atomic_int g_in_flight; /* API requests between their headers and their answer */
static FILE *g_log;
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;

struct reqx { struct req r; long seq; };

const char *qget(struct req *r, const char *k)
{
    for (int i = 0; i < r->nq; i++)
        if (strcmp(r->q[i].k, k) == 0) return r->q[i].v;
    return NULL;
}

/* ---------- response helpers ---------- */
void reply_raw(struct req *r, int status, char *body, size_t len, const char *ctype)
{
    free(r->resp);
    r->status = status;
    r->resp = body;
    r->resp_len = len;
    r->resp_ctype = ctype;
}

void reply_json(struct req *r, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    reply_raw(r, status, s, strlen(s), "application/json; charset=utf-8");
}

void reply_empty(struct req *r, int status) { reply_raw(r, status, NULL, 0, NULL); }

static const char *reason(int st)
{
    switch (st) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static json_t *problem(struct req *r, int status, const char *title, const char *detail)
{
    char type[80];
    snprintf(type, sizeof type, "https://httpstatuses.io/%d", status);
    return json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", title, "status", status,
                     "detail", detail ? detail : title, "instance", r->path ? r->path : "/");
}

static void reply_problem_json(struct req *r, int status, json_t *p)
{
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    reply_raw(r, status, s, strlen(s), "application/problem+json; charset=utf-8");
}

void reply_problem(struct req *r, int status, const char *detail)
{
    reply_problem_json(r, status, problem(r, status, reason(status), detail));
}

void verr_add(json_t *errs, const char *field, const char *msg)
{
    json_t *a = json_object_get(errs, field);
    if (!a) { a = json_array(); json_object_set_new(errs, field, a); }
    json_array_append_new(a, json_string(msg));
}

void reply_validation(struct req *r, json_t *errs, const char *detail)
{
    json_t *p = problem(r, 400, "One or more validation errors occurred.",
                        detail ? detail : "See the errors property for details.");
    json_object_set_new(p, "errors", errs);
    reply_problem_json(r, 400, p);
}

void set_location(struct req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->location, sizeof r->location, fmt, ap);
    va_end(ap);
}

/* ---------- request log ---------- */
static void log_request(struct reqx *x)
{
    if (!g_log) return;
    struct req *r = &x->r;
    struct buf b = { 0 };
    char tmp[64];
    snprintf(tmp, sizeof tmp, "{\"seq\":%ld,\"apiSeq\":", x->seq);
    buf_puts(&b, tmp);
    if (r->api_seq > 0) { snprintf(tmp, sizeof tmp, "%ld", r->api_seq); buf_puts(&b, tmp); }
    else buf_puts(&b, "null");
    buf_puts(&b, ",\"method\":");
    buf_json_string(&b, r->method ? r->method : "", strlen(r->method ? r->method : ""));
    buf_puts(&b, ",\"path\":");
    buf_json_string(&b, r->path ? r->path : "", strlen(r->path ? r->path : ""));
    buf_puts(&b, ",\"query\":");
    buf_json_string(&b, r->query ? r->query : "", strlen(r->query ? r->query : ""));
    buf_puts(&b, ",\"account\":");
    if (r->acct_name) buf_json_string(&b, r->acct_name, strlen(r->acct_name));
    else buf_puts(&b, "null");
    snprintf(tmp, sizeof tmp, ",\"status\":%d,\"fault\":", r->status);
    buf_puts(&b, tmp);
    if (r->fault) buf_json_string(&b, r->fault, strlen(r->fault));
    else buf_puts(&b, "null");
    if (r->log_block != LONG_MIN) { snprintf(tmp, sizeof tmp, ",\"block\":%ld", r->log_block); buf_puts(&b, tmp); }
    if (r->log_records != LONG_MIN) { snprintf(tmp, sizeof tmp, ",\"records\":%ld", r->log_records); buf_puts(&b, tmp); }
    if (g_opts.hostile) { /* where it arrived, and whether it carried credentials (never their value) */
        buf_puts(&b, ",\"local\":");
        buf_json_string(&b, r->local, strlen(r->local));
        buf_puts(&b, r->authorization ? ",\"authorization\":true" : ",\"authorization\":false");
    }
    snprintf(tmp, sizeof tmp, ",\"ms\":%.3f}\n", mono_ms() - r->t0);
    buf_puts(&b, tmp);
    pthread_mutex_lock(&g_log_mu);
    fputs(b.p, g_log);
    fflush(g_log);
    pthread_mutex_unlock(&g_log_mu);
    free(b.p);
}

/* ---------- MHD callbacks ---------- */
static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls; (void)c;
    struct reqx *x = calloc(1, sizeof *x);
    struct req *r = &x->r;
    x->seq = atomic_fetch_add(&g_seq, 1) + 1;
    r->t0 = mono_ms();
    r->raw_uri = strdup(uri ? uri : "/");
    const char *qm = strchr(r->raw_uri, '?');
    if (qm) {
        r->path = strndup(r->raw_uri, (size_t)(qm - r->raw_uri));
        r->query = strdup(qm + 1);
    } else {
        r->path = strdup(r->raw_uri);
        r->query = strdup("");
    }
    r->log_block = r->log_records = LONG_MIN;
    return x;
}

static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls; (void)c;
    return strlen(s); /* keep raw: segments are decoded one by one */
}

/* Takes a request out of the --max-concurrent gauge, once. */
static void release_in_flight(struct req *r)
{
    if (atomic_exchange(&r->in_flight, 0)) atomic_fetch_sub(&g_in_flight, 1);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    struct reqx *x = *con_cls;
    if (!x) return;
    struct req *r = &x->r;
    release_in_flight(r); /* a request that ended before its answer */
    log_request(x);
    for (int i = 0; i < r->nseg; i++) free(r->segs[i]);
    for (int i = 0; i < r->nq; i++) { free(r->q[i].k); free(r->q[i].v); }
    free(r->raw_uri); free(r->path); free(r->query); free(r->body); free(r->resp);
    if (r->json) json_decref(r->json);
    free(x);
    *con_cls = NULL;
}

static void parse_path_query(struct req *r)
{
    const char *p = r->path;
    while (*p == '/') p++;
    while (*p && r->nseg < 8) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        r->segs[r->nseg++] = pct_decode(p, n, 0);
        if (!e) break;
        p = e + 1;
        if (!*p) break; /* trailing slash ignored */
    }
    if (*p && r->nseg == 8) r->nseg = 9; /* too deep: no route */
    const char *q = r->query;
    while (*q && r->nq < 16) {
        const char *e = strchr(q, '&');
        size_t n = e ? (size_t)(e - q) : strlen(q);
        if (n) {
            const char *eq = memchr(q, '=', n);
            size_t kn = eq ? (size_t)(eq - q) : n;
            r->q[r->nq].k = pct_decode(q, kn, 1);
            r->q[r->nq].v = eq ? pct_decode(eq + 1, n - kn - 1, 1) : strdup("");
            r->nq++;
        }
        if (!e) break;
        q = e + 1;
    }
}

static ssize_t drop_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    static const char part[] = "[{\"partial\":\"the connection is dropped here";
    if (pos == 0 && max >= sizeof part - 1) {
        memcpy(buf, part, sizeof part - 1);
        return (ssize_t)(sizeof part - 1);
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static int is_token_path(const char *p) { return strcasecmp(p, "/connect/token") == 0; }

/* every fault but drop-after answers instead of the handler */
static int fault_preempts(struct req *r) { return r->fault && strcmp(r->fault, "drop-after") != 0; }

static void dispatch(struct req *r)
{
    parse_path_query(r);
    if (r->nseg > 8) { reply_problem(r, 404, "No such route."); return; }
    if (is_token_path(r->path)) { handle_token(r); return; }
    if (fault_preempts(r)) {
        if (strcmp(r->fault, "stall") == 0) sleep_ms(g_opts.stall_ms);
        if (strcmp(r->fault, "drop") == 0) { r->drop = 1; r->status = 200; return; }
        int st = strcmp(r->fault, "503") == 0 || strcmp(r->fault, "stall") == 0 ? 503 : 429;
        r->retry_after = g_opts.retry_after;
        reply_problem(r, st, strcmp(r->fault, "limit") == 0 ? "Too many requests in flight: retry later."
                             : st == 429 ? "Simulated rate limit: retry later."
                             : "Simulated service unavailability: retry later.");
        return;
    }
    if (g_opts.latency_ms > 0) sleep_ms(g_opts.latency_ms);
    if (r->nseg == 0) { reply_problem(r, 404, "No such route."); return; }
    void (*h)(struct req *) = NULL;
    if (strcasecmp(r->segs[0], "ApiKey") == 0) h = handle_apikey;
    else if (strcasecmp(r->segs[0], "ClientCredential") == 0) h = handle_clientcred;
    else if (strcasecmp(r->segs[0], "Dataset") == 0) h = handle_dataset;
    else if (strcasecmp(r->segs[0], "Job") == 0) h = handle_job;
    if (!h) { reply_problem(r, 404, "No such route."); return; }
    r->acct = auth_bearer(r->authorization);
    if (!r->acct) {
        r->www_auth = 1;
        reply_problem(r, 401, "A valid bearer token is required.");
        return;
    }
    r->acct_name = r->acct->client_id;
    if (h == handle_dataset && hostile_handle(r)) return;
    h(r);
}

static int gzip_body(const char *in, size_t n, char **out, size_t *outn)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    size_t cap = deflateBound(&zs, n) + 32;
    char *o = malloc(cap);
    zs.next_in = (Bytef *)in; zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)o; zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) { free(o); return 0; }
    *out = o; *outn = zs.total_out;
    return 1;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct req *r)
{
    struct MHD_Response *resp;
    if (r->drop) {
        resp = MHD_create_response_from_callback(4096, 1024, drop_reader, NULL, NULL);
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        enum MHD_Result ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (r->stream) { /* hostile: a chunked body generated on the fly */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, hostile_huge_reader, NULL, NULL);
        MHD_add_response_header(resp, "Content-Type", r->resp_ctype);
        enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    const char *body = r->resp ? r->resp : "";
    size_t len = r->resp_len;
    int gz = 0;
    char *z = NULL; size_t zn = 0;
    if (r->accept_gzip && len > 1024 && !r->resp_encoding && gzip_body(body, len, &z, &zn)) gz = 1;
    if (gz) resp = MHD_create_response_from_buffer(zn, z, MHD_RESPMEM_MUST_FREE);
    else if (!r->resp) resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else {
        resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_FREE);
        r->resp = NULL; /* owned by the response now */
    }
    if (r->resp_ctype) MHD_add_response_header(resp, "Content-Type", r->resp_ctype);
    if (gz) MHD_add_response_header(resp, "Content-Encoding", "gzip");
    else if (r->resp_encoding) MHD_add_response_header(resp, "Content-Encoding", r->resp_encoding);
    if (r->resp_ctype) MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    if (r->location[0]) MHD_add_response_header(resp, "Location", r->location);
    if (r->allow[0]) MHD_add_response_header(resp, "Allow", r->allow);
    if (r->www_auth) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    if (r->retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)cls; (void)url; (void)version;
    struct reqx *x = *con_cls;
    if (!x) return MHD_NO;
    struct req *r = &x->r;
    if (!r->started) {
        r->started = 1;
        r->method = method;
        r->content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        r->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
        r->accept_gzip = ae && strcasestr(ae, "gzip") != NULL;
        if (g_opts.hostile) {
            const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
            struct sockaddr_in la;
            socklen_t ln = sizeof la;
            if (ci && getsockname(ci->connect_fd, (struct sockaddr *)&la, &ln) == 0 && la.sin_family == AF_INET)
                inet_ntop(AF_INET, &la.sin_addr, r->local, sizeof r->local);
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > g_opts.max_body) r->too_big = 1;
        if (!is_token_path(r->path)) {
            long n = atomic_fetch_add(&g_api_seq, 1) + 1;
            r->api_seq = n;
            if (g_opts.fail_503_every > 0 && n % g_opts.fail_503_every == 0) r->fault = "503";
            else if (g_opts.fail_429_every > 0 && n % g_opts.fail_429_every == 0) r->fault = "429";
            else if (g_opts.drop_every > 0 && n % g_opts.drop_every == 0) r->fault = "drop";
            else if (g_opts.drop_after_every > 0 && n % g_opts.drop_after_every == 0) r->fault = "drop-after";
            else if (g_opts.stall_every > 0 && n % g_opts.stall_every == 0) r->fault = "stall";
            atomic_store(&r->in_flight, 1);
            int now = atomic_fetch_add(&g_in_flight, 1) + 1;
            if (!r->fault && g_opts.max_concurrent > 0 && now > g_opts.max_concurrent) r->fault = "limit";
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || fault_preempts(r)) return MHD_YES;
        if (r->body_len + n > g_opts.max_body) {
            r->too_big = 1;
            free(r->body); r->body = NULL; r->body_len = r->body_cap = 0;
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n + 1) cap *= 2;
            r->body = realloc(r->body, cap);
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = 0;
        return MHD_YES;
    }
    if (r->too_big && !fault_preempts(r)) reply_problem(r, 413, "The request body is larger than the server accepts.");
    else dispatch(r);
    if (!r->status) reply_problem(r, 500, "No response produced.");
    /* drop-after: the handler has acted (its status is logged); the answer is lost */
    if (r->fault && strcmp(r->fault, "drop-after") == 0) r->drop = 1;
    release_in_flight(r); /* answered: no longer counts against --max-concurrent */
    return send_reply(c, r);
}

static struct MHD_Daemon *g_daemon, *g_daemon2;

static struct MHD_Daemon *start_daemon(struct sockaddr_in *sa)
{
    /* Added latency and stalls sleep in the thread serving the request: with
     * a pool, connections that share a thread would wait for each other, so
     * then every connection gets its own thread (the delay is per request,
     * as the real service's would be). */
    int per_connection = g_opts.latency_ms > 0 || g_opts.stall_every > 0;
    unsigned flags = per_connection
        ? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL
        : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    return MHD_start_daemon(flags, (uint16_t)g_opts.port, NULL, NULL, access_cb, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
                            MHD_OPTION_THREAD_POOL_SIZE, per_connection ? 0u : (unsigned)g_opts.threads,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
                            MHD_OPTION_END);
}

int http_start(void)
{
    if (g_opts.log_path) {
        g_log = fopen(g_opts.log_path, "a");
        if (!g_log) { perror(g_opts.log_path); return -1; }
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g_opts.port);
    const char *bind = strcmp(g_opts.bind, "localhost") == 0 ? "127.0.0.1" : g_opts.bind;
    if (inet_pton(AF_INET, bind, &sa.sin_addr) != 1) {
        fprintf(stderr, "data8-sim: --bind needs an IPv4 address\n");
        return -1;
    }
    g_daemon = start_daemon(&sa);
    if (!g_daemon) { fprintf(stderr, "data8-sim: cannot listen on %s:%d\n", bind, g_opts.port); return -1; }
    fprintf(stderr, "data8-sim listening on %s:%d\n", bind, g_opts.port);
    /* hostile: the redirect target, another host on the same port, is served
     * too, so the log shows whether a client followed it (and with what) */
    if (g_opts.hostile && strcmp(bind, "0.0.0.0") != 0 && strcmp(bind, "127.0.0.2") != 0) {
        inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
        g_daemon2 = start_daemon(&sa);
        if (!g_daemon2) { fprintf(stderr, "data8-sim: --hostile: cannot listen on 127.0.0.2:%d\n", g_opts.port); return -1; }
        fprintf(stderr, "data8-sim: --hostile: redirect target 127.0.0.2:%d served too\n", g_opts.port);
    }
    fflush(stderr);
    return 0;
}

void http_stop(void)
{
    if (g_log) fflush(g_log);
}

/* JSON request bodies: 415 for a wrong content type, 400 for invalid JSON.
 * Returns the parsed body (owned by r) or NULL after replying. When the body
 * is empty and !required, returns an empty object. */
int body_precheck(struct req *r, int required)
{
    if (r->body_len == 0) {
        if (!required) return 2;
        json_t *e = json_object();
        verr_add(e, "body", "A non-empty request body is required.");
        reply_validation(r, e, NULL);
        return 0;
    }
    const char *ct = r->content_type;
    int ok = 0;
    if (ct) {
        size_t n = strcspn(ct, ";");
        while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
        if ((n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
            (n == 9 && strncasecmp(ct, "text/json", 9) == 0) ||
            (n > 17 && strncasecmp(ct, "application/", 12) == 0 && strncasecmp(ct + n - 5, "+json", 5) == 0))
            ok = 1;
    }
    if (!ok) { reply_problem(r, 415, "The request body must be application/json."); return 0; }
    return 1;
}

void reply_bad_json(struct req *r, const json_error_t *err)
{
    json_t *e = json_object();
    char msg[300];
    snprintf(msg, sizeof msg, "Invalid JSON at line %d column %d: %s", err->line, err->column, err->text);
    verr_add(e, "body", msg);
    reply_validation(r, e, "The request body is not valid JSON.");
}

json_t *body_json(struct req *r, int required)
{
    int pc = body_precheck(r, required);
    if (pc == 0) return NULL;
    if (pc == 2) { r->json = json_object(); return r->json; }
    json_error_t err;
    r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!r->json) { reply_bad_json(r, &err); return NULL; }
    return r->json;
}

void reply_405(struct req *r, const char *allow)
{
    snprintf(r->allow, sizeof r->allow, "%s", allow);
    reply_problem(r, 405, "This method is not allowed on this resource.");
}

int is_method(struct req *r, const char *m) { return strcmp(r->method, m) == 0; }
