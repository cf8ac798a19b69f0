/* hostile.c: --hostile mode. GET /Dataset/{name} and GET /Dataset/{name}/data
 * for a name starting with "hostile_" get a deliberately bad answer chosen by
 * the rest of the name, so client tests can check that nothing bad happens
 * (crash, hang, unbounded memory, token sent elsewhere). Off by default.
 *
 *   hostile_<mode>        both routes answer badly (for the record modes the
 *                         dataset itself is a good completed output dataset)
 *   hostile_bad_gzip, hostile_gzip_bomb, hostile_unasked_encoding
 *                         bodies under a Content-Encoding header: gzip that
 *                         is no deflate data; 100 kB of gzip that decodes to
 *                         100 MB; "br", which no client asked for
 *   hostile_<mode>_page   GET /Dataset/{name} is a good completed output
 *                         dataset {"id":1,"name":0} of 5000 records (huge:
 *                         3,276,800, what its body holds); only the data
 *                         route answers badly
 */
#include "sim.h"
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DEPTH 100000
#define HUGE_RECORD 64                       /* bytes per record, with its comma */
#define HUGE_RECORDS (200L * 1024 * 1024 / HUGE_RECORD)
#define HUGE_SIZE (1 + (uint64_t)HUGE_RECORDS * HUGE_RECORD) /* "[" + records + "]" */

/* well-formed records of a dataset {"id":1,"name":0}, as served */
static const char *const rec_bad[] = {
    "{\"id\":1,\"name\":\"a\",\"unexpected\":true}", /* an unknown key */
    "{\"id\":\"two\",\"name\":\"b\"}",              /* a string in an integer column */
    "{\"id\":3,\"name\":{\"nested\":[1,2]}}",        /* an object as a value */
};
static const char *const rec_key[] = {
    "{\"id\":1,\"name\":\"a\"}", "{\"id\":2,\"name\":\"b\",\"unexpected\":true}", "{\"id\":3,\"name\":\"c\"}",
};
static const char *const rec_type[] = {
    "{\"id\":1,\"name\":\"a\"}", "{\"id\":\"two\",\"name\":\"b\"}", "{\"id\":3,\"name\":\"c\"}",
};
static const char *const rec_object[] = {
    "{\"id\":1,\"name\":\"a\"}", "{\"id\":2,\"name\":{\"nested\":[1,2]}}", "{\"id\":3,\"name\":\"c\"}",
};
/* a record that is not an object: the 3rd of 3 */
static const char *const rec_number[] = { "{\"id\":1,\"name\":\"a\"}", "{\"id\":2,\"name\":\"b\"}", "42" };
static const char *const rec_string[] = { "{\"id\":1,\"name\":\"a\"}", "{\"id\":2,\"name\":\"b\"}", "\"text\"" };
static const char *const rec_array[] = { "{\"id\":1,\"name\":\"a\"}", "{\"id\":2,\"name\":\"b\"}", "[1,2]" };
static const char *const rec_null[] = { "{\"id\":1,\"name\":\"a\"}", "{\"id\":2,\"name\":\"b\"}", "null" };
static const char *const rec_short[] = { "{\"id\":1,\"name\":\"a\"}" };
static const char *const rec_nul[] = { "{\"id\":1,\"name\":\"a\\u0000b\"}" };
static const char *const rec_utf8[] = { "{\"id\":1,\"name\":\"a\xff\xfe" "b\xc3(\"}" };

struct recmode {
    const char *name;
    const char *const *recs;
    int nrecs;        /* records served */
    long count;       /* recordCount promised */
};
static const struct recmode recmodes[] = {
    { "bad_records", rec_bad, 3, 3 },
    { "bad_records_key", rec_key, 3, 3 },
    { "bad_records_type", rec_type, 3, 3 },
    { "bad_records_object", rec_object, 3, 3 },
    { "bad_records_short", rec_short, 1, 3 },
    { "bad_records_number", rec_number, 3, 3 },
    { "bad_records_string", rec_string, 3, 3 },
    { "bad_records_array", rec_array, 3, 3 },
    { "bad_records_null", rec_null, 3, 3 },
    { "nul", rec_nul, 1, 1 },
    { "bad_utf8", rec_utf8, 1, 1 },
};

static const char *const badmodes[] = {
    "invalid_json", "truncated_json", "deep_json", "huge", "wrong_type", "redirect",
    "bad_gzip", "gzip_bomb", "unasked_encoding",
};

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static void reply_text(struct req *r, int status, const char *body, const char *ctype)
{
    reply_raw(r, status, dup_n(body, strlen(body)), strlen(body), ctype);
}

/* the good dataset object of a record mode or a _page mode */
static void reply_dataset(struct req *r, const char *name, long count)
{
    json_t *cols = json_pack("{s:i,s:i}", "id", COL_INTEGER, "name", COL_STRING);
    char loc[300];
    snprintf(loc, sizeof loc, "/Dataset/%s", name);
    reply_json(r, 200, json_pack("{s:s,s:o,s:b,s:I,s:b,s:s}", "name", name, "columns", cols,
                                 "input", 0, "recordCount", (json_int_t)count, "completed", 1,
                                 "location", loc));
}

static void reply_records(struct req *r, const struct recmode *m)
{
    const char *s = qget(r, "start"), *c = qget(r, "count");
    long start = s ? atol(s) : 1, count = c ? atol(c) : 1000;
    struct buf b = { 0 };
    if (start < 1) start = 1;
    buf_putc(&b, '[');
    for (long i = start - 1, k = 0; i < m->nrecs && k < count; i++, k++) {
        if (k) buf_putc(&b, ',');
        buf_puts(&b, m->recs[i]);
    }
    buf_putc(&b, ']');
    reply_raw(r, 200, b.p, b.len, "application/json; charset=utf-8");
}

/* "[[[...]]]" DEPTH deep; inside a record for the data route of a _page mode */
static void reply_deep(struct req *r, int in_record)
{
    const char *pre = in_record ? "[{\"id\":1,\"name\":" : "", *post = in_record ? "}]" : "";
    size_t np = strlen(pre), nq = strlen(post), n = np + 2 * (size_t)DEPTH + nq;
    char *p = malloc(n + 1);
    memcpy(p, pre, np);
    memset(p + np, '[', DEPTH);
    memset(p + np + DEPTH, ']', DEPTH);
    memcpy(p + np + 2 * DEPTH, post, nq);
    p[n] = 0;
    reply_raw(r, 200, p, n, "application/json; charset=utf-8");
}

/* the huge body: a pure function of the position, so nothing is buffered */
static void huge_record(long i, char out[HUGE_RECORD + 1])
{
    int n = snprintf(out, HUGE_RECORD + 1, "{\"id\":%ld,\"name\":\"", i + 1);
    memset(out + n, 'x', (size_t)(HUGE_RECORD - n - 3));
    memcpy(out + HUGE_RECORD - 3, "\"}", 2);
    out[HUGE_RECORD - 1] = i + 1 == HUGE_RECORDS ? ']' : ',';
    out[HUGE_RECORD] = 0;
}

ssize_t hostile_huge_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    size_t w = 0;
    char rec[HUGE_RECORD + 1];
    if (pos >= HUGE_SIZE) return MHD_CONTENT_READER_END_OF_STREAM;
    while (w < max && pos < HUGE_SIZE) {
        if (pos == 0) { buf[w++] = '['; pos++; continue; }
        uint64_t k = (pos - 1) / HUGE_RECORD, off = (pos - 1) % HUGE_RECORD;
        huge_record((long)k, rec);
        size_t n = HUGE_RECORD - off;
        if (n > max - w) n = max - w;
        memcpy(buf + w, rec + off, n);
        w += n;
        pos += n;
    }
    return (ssize_t)w;
}

/* gzip of BOMB_SIZE bytes of JSON ("[" and spaces): about 100 kB that
 * would decode to 100 MB; made once */
#define BOMB_SIZE (100L * 1024 * 1024)
static char *bomb;
static size_t bomb_len;
static pthread_once_t bomb_once = PTHREAD_ONCE_INIT;

static void make_bomb(void)
{
    static char spaces[1024 * 1024];
    z_stream zs;
    size_t cap = 1024 * 1024;
    memset(spaces, ' ', sizeof spaces);
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    bomb = malloc(cap);
    zs.next_out = (Bytef *)bomb;
    zs.avail_out = (uInt)cap;
    for (long fed = 0; fed < BOMB_SIZE; fed += (long)sizeof spaces) {
        zs.next_in = (Bytef *)spaces;
        zs.avail_in = sizeof spaces;
        if (fed == 0) spaces[0] = '[';
        if (deflate(&zs, fed + (long)sizeof spaces >= BOMB_SIZE ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR)
            abort();
        spaces[0] = ' ';
    }
    bomb_len = zs.total_out;
    deflateEnd(&zs);
}

/* a body sent as is, under a Content-Encoding header */
static void reply_encoded(struct req *r, const char *body, size_t len, const char *encoding)
{
    reply_raw(r, 200, dup_n(body, len), len, "application/json; charset=utf-8");
    r->resp_encoding = encoding;
}

static void reply_bad(struct req *r, const char *mode, const char *name, int data, int page)
{
    /* a gzip header, then bytes that are no deflate data, then a trailer */
    static const char bad_gzip[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
                                   "this is not deflate data at all"
                                   "\x00\x00\x00\x00\x64\x00\x00\x00";
    if (strcmp(mode, "bad_gzip") == 0) {
        reply_encoded(r, bad_gzip, sizeof bad_gzip - 1, "gzip");
        return;
    }
    if (strcmp(mode, "gzip_bomb") == 0) {
        pthread_once(&bomb_once, make_bomb);
        reply_encoded(r, bomb, bomb_len, "gzip");
        return;
    }
    if (strcmp(mode, "unasked_encoding") == 0) {
        static const char plain[] = "{\"name\":\"hostile_unasked_encoding\"}";
        reply_encoded(r, plain, sizeof plain - 1, "br");
        return;
    }
    if (strcmp(mode, "invalid_json") == 0)
        reply_text(r, 200, "{\"name\": \"x\", @#! garbage <<", "application/json; charset=utf-8");
    else if (strcmp(mode, "truncated_json") == 0)
        reply_text(r, 200, data ? "[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"na"
                                : "{\"name\":\"hostile_truncated_json\",\"columns\":{\"id\":1,\"name\":0},\"inp",
                   "application/json; charset=utf-8");
    else if (strcmp(mode, "deep_json") == 0)
        reply_deep(r, data && page);
    else if (strcmp(mode, "huge") == 0) {
        r->status = 200;
        r->resp_ctype = "application/json; charset=utf-8";
        r->stream = 1;
    } else if (strcmp(mode, "wrong_type") == 0)
        reply_text(r, 200, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
                           "<body><h1>Please sign in</h1></body></html>\n", "text/html; charset=utf-8");
    else { /* redirect */
        (void)name;
        set_location(r, "http://127.0.0.2:%d/Dataset/x", g_opts.port);
        reply_text(r, 302, "<html><body>Moved</body></html>", "text/html");
    }
}

/* 1 when the request was answered here */
int hostile_handle(struct req *r)
{
    if (!g_opts.hostile || r->nseg < 2 || r->nseg > 3 || !is_method(r, "GET")) return 0;
    const char *name = r->segs[1];
    int data = r->nseg == 3;
    if (data && strcmp(r->segs[2], "data") != 0) return 0;
    if (strncmp(name, "hostile_", 8) != 0) return 0;
    char mode[128];
    snprintf(mode, sizeof mode, "%s", name + 8);
    int page = 0;
    size_t n = strlen(mode);
    if (n > 5 && strcmp(mode + n - 5, "_page") == 0) { mode[n - 5] = 0; page = 1; }
    for (size_t i = 0; i < sizeof recmodes / sizeof recmodes[0]; i++)
        if (!page && strcmp(mode, recmodes[i].name) == 0) {
            if (data) reply_records(r, &recmodes[i]);
            else reply_dataset(r, name, recmodes[i].count);
            return 1;
        }
    for (size_t i = 0; i < sizeof badmodes / sizeof badmodes[0]; i++)
        if (strcmp(mode, badmodes[i]) == 0) {
            /* 5 pages, several in flight; huge: as many as its body holds */
            if (page && !data) reply_dataset(r, name, strcmp(mode, "huge") == 0 ? HUGE_RECORDS : 5000);
            else reply_bad(r, mode, name, data, page);
            return 1;
        }
    return 0; /* an unknown mode: the normal service */
}

/* --hostile, lists: while the account holds a dataset named
 * hostile_list_short, GET /Dataset and GET /Job answer 1 item a page (a
 * short page that is not the end); while it holds hostile_list_ignore_page,
 * they ignore `page` and always answer the first page. */
void hostile_list_paging(struct account *a, long *page, long *per_page)
{
    if (!g_opts.hostile) return;
    if (ds_find(a, "hostile_list_short")) *per_page = 1;
    if (ds_find(a, "hostile_list_ignore_page")) *page = 1;
}

/* --hostile, API keys: a key named hostile_ips... lists, besides its own
 * entries, "10.1.2.3/16" (host bits set), which the service itself never
 * accepts */
void hostile_key_ips(const char *key, json_t *ips)
{
    if (g_opts.hostile && strncmp(key, "hostile_ips", 11) == 0)
        json_array_append_new(ips, json_string("10.1.2.3/16"));
}
