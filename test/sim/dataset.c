/* dataset.c: /Dataset routes; records held as compact JSON strings per block. */
#include "sim.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ERRS 100

/* ---------- store ---------- */
static int ds_cmp_idx(struct account *a, const char *name, int *pos)
{
    int lo = 0, hi = a->nds;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(a->ds[mid]->name, name);
        if (c == 0) { *pos = mid; return 1; }
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    *pos = lo;
    return 0;
}

struct dataset *ds_find(struct account *a, const char *name)
{
    int pos;
    return ds_cmp_idx(a, name, &pos) ? a->ds[pos] : NULL;
}

int ds_name_taken(struct account *a, const char *name)
{
    if (ds_find(a, name)) return 1;
    for (int i = 0; i < a->ndeleted; i++) if (strcmp(a->deleted[i], name) == 0) return 1;
    return 0;
}

struct dataset *ds_new(const char *name, struct column *cols, int ncols, int input)
{
    struct dataset *d = calloc(1, sizeof *d);
    atomic_init(&d->refs, 1);
    d->name = strdup(name);
    d->cols = cols;
    d->ncols = ncols;
    d->input = input;
    return d;
}

int ds_insert(struct account *a, struct dataset *d)
{
    int pos;
    if (ds_cmp_idx(a, d->name, &pos)) return -1;
    if (a->nds == a->capds) {
        a->capds = a->capds ? a->capds * 2 : 64;
        a->ds = realloc(a->ds, sizeof *a->ds * (size_t)a->capds);
    }
    memmove(a->ds + pos + 1, a->ds + pos, sizeof *a->ds * (size_t)(a->nds - pos));
    a->ds[pos] = d;
    a->nds++;
    return 0;
}

void ds_ref(struct dataset *d) { atomic_fetch_add(&d->refs, 1); }

void ds_unref(struct dataset *d)
{
    if (atomic_fetch_sub(&d->refs, 1) != 1) return;
    for (int i = 0; i < d->nblocks; i++) { free(d->blocks[i].data); free(d->blocks[i].off); }
    for (int i = 0; i < d->ncols; i++) free(d->cols[i].name);
    free(d->blocks); free(d->cols); free(d->cum); free(d->name); free(d);
}

void ds_finish(struct dataset *d)
{
    free(d->cum);
    d->cum = malloc(sizeof(long) * (size_t)(d->nblocks + 1));
    long c = 0;
    for (int i = 0; i < d->nblocks; i++) { d->cum[i] = c; c += d->blocks[i].n; }
    d->cum[d->nblocks] = c;
    d->record_count = c;
    d->completed = 1;
}

void ds_put_block(struct dataset *d, struct block *b)
{
    int lo = 0, hi = d->nblocks;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (d->blocks[mid].number < b->number) lo = mid + 1; else hi = mid;
    }
    if (lo < d->nblocks && d->blocks[lo].number == b->number) {
        d->record_count -= d->blocks[lo].n;
        free(d->blocks[lo].data); free(d->blocks[lo].off);
        d->blocks[lo] = *b;
    } else {
        if (d->nblocks == d->capblocks) {
            d->capblocks = d->capblocks ? d->capblocks * 2 : 16;
            d->blocks = realloc(d->blocks, sizeof *d->blocks * (size_t)d->capblocks);
        }
        memmove(d->blocks + lo + 1, d->blocks + lo, sizeof *d->blocks * (size_t)(d->nblocks - lo));
        d->blocks[lo] = *b;
        d->nblocks++;
    }
    d->record_count += b->n;
}

/* ---------- JSON views ---------- */
static json_t *columns_json(struct dataset *d)
{
    json_t *o = json_object();
    for (int i = 0; i < d->ncols; i++) json_object_set_new(o, d->cols[i].name, json_integer(d->cols[i].type));
    return o;
}

static json_t *ds_json(struct dataset *d)
{
    return json_pack("{s:s,s:o,s:b,s:I,s:b}", "name", d->name, "columns", columns_json(d), "input", d->input,
                     "recordCount", (json_int_t)d->record_count, "completed", d->completed);
}

static json_t *ds_ref_json(struct dataset *d)
{
    char loc[128];
    snprintf(loc, sizeof loc, "/Dataset/%s", d->name);
    return json_pack("{s:s,s:b,s:b,s:I,s:s}", "name", d->name, "input", d->input, "completed", d->completed,
                     "recordCount", (json_int_t)d->record_count, "location", loc);
}

static int parse_bool(const char *s, int *v)
{
    if (!strcasecmp(s, "true")) { *v = 1; return 1; }
    if (!strcasecmp(s, "false")) { *v = 0; return 1; }
    return 0;
}

static int parse_long(const char *s, long *v)
{
    char *e;
    if (!s || !*s) return 0;
    *v = strtol(s, &e, 10);
    return *e == 0;
}

/* ---------- handlers ---------- */
static void ds_list(struct req *r, struct account *a)
{
    long page = 1;
    int inc_in = 1, inc_out = 1;
    json_t *errs = json_object();
    const char *s;
    if ((s = qget(r, "page")) && (!parse_long(s, &page) || page < 1))
        verr_add(errs, "page", "The page must be an integer of at least 1.");
    if ((s = qget(r, "input")) && !parse_bool(s, &inc_in)) verr_add(errs, "input", "The value must be true or false.");
    if ((s = qget(r, "output")) && !parse_bool(s, &inc_out)) verr_add(errs, "output", "The value must be true or false.");
    if (json_object_size(errs)) { reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    json_t *arr = json_array();
    long per_page = 100, n = 0;
    pthread_mutex_lock(&a->mu);
    hostile_list_paging(a, &page, &per_page);
    long skip = (page - 1) * per_page;
    jobs_tick(a);
    for (int i = 0; i < a->nds && (long)json_array_size(arr) < per_page; i++) {
        struct dataset *d = a->ds[i];
        if (d->input ? !inc_in : !inc_out) continue;
        if (n++ < skip) continue;
        json_array_append_new(arr, ds_ref_json(d));
    }
    pthread_mutex_unlock(&a->mu);
    reply_json(r, 200, arr);
}

static void ds_create(struct req *r, struct account *a)
{
    json_t *b = body_json(r, 1);
    if (!b) return;
    json_t *errs = json_object(), *name = NULL, *cols = NULL;
    if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
    else {
        name = json_object_get(b, "name");
        cols = json_object_get(b, "columns");
        if (!json_is_string(name)) verr_add(errs, "name", "The name is required and must be a string.");
        else if (!valid_name(json_string_value(name)))
            verr_add(errs, "name", "The name must start with a-z, contain only a-z, 0-9 and _, and be at most 100 characters.");
        if (!json_is_object(cols)) verr_add(errs, "columns", "The columns are required and must be an object of name: type code.");
        else if (json_object_size(cols) < 1 || json_object_size(cols) > 1000)
            verr_add(errs, "columns", "A dataset must have between 1 and 1000 columns.");
        else {
            const char *k; json_t *v;
            char field[160];
            json_object_foreach(cols, k, v) {
                snprintf(field, sizeof field, "columns.%s", k);
                if (!valid_name(k))
                    verr_add(errs, field, "The column name must start with a-z, contain only a-z, 0-9 and _, and be at most 100 characters.");
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 5)
                    verr_add(errs, field, "The column type must be an integer code 0 to 5.");
            }
        }
    }
    if (json_object_size(errs)) { reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    int nc = (int)json_object_size(cols), i = 0;
    struct column *c = calloc((size_t)nc, sizeof *c);
    const char *k; json_t *v;
    json_object_foreach(cols, k, v) { c[i].name = strdup(k); c[i].type = (int)json_integer_value(v); i++; }
    struct dataset *d = ds_new(json_string_value(name), c, nc, 1);
    pthread_mutex_lock(&a->mu);
    if (ds_name_taken(a, d->name)) {
        pthread_mutex_unlock(&a->mu);
        ds_unref(d);
        reply_problem(r, 409, "A dataset with this name exists or existed (deleted names cannot be reused).");
        return;
    }
    ds_insert(a, d);
    json_t *o = ds_json(d);
    pthread_mutex_unlock(&a->mu);
    set_location(r, "/Dataset/%s", d->name);
    reply_json(r, 201, o);
}

static void ds_complete(struct req *r, struct account *a, const char *name)
{
    json_t *b = body_json(r, 1);
    if (!b) return;
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    struct dataset *d = ds_find(a, name);
    if (!d) { pthread_mutex_unlock(&a->mu); reply_problem(r, 404, "No such dataset."); return; }
    json_t *errs = json_object(), *rc = NULL, *comp = NULL;
    if (!d->input) verr_add(errs, "name", "Output datasets cannot be updated.");
    else if (d->completed) verr_add(errs, "name", "The dataset is already completed.");
    else if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
    else {
        rc = json_object_get(b, "recordCount");
        comp = json_object_get(b, "completed");
        if (!json_is_true(comp)) verr_add(errs, "completed", "The only supported update is completed: true.");
        if (!json_is_integer(rc) || json_integer_value(rc) < 0)
            verr_add(errs, "recordCount", "The recordCount is required and must be a non-negative integer.");
        else if (json_integer_value(rc) != d->record_count) {
            char msg[160];
            snprintf(msg, sizeof msg, "The dataset holds %ld records, not %" JSON_INTEGER_FORMAT ".", d->record_count,
                     json_integer_value(rc));
            verr_add(errs, "recordCount", msg);
        }
    }
    if (json_object_size(errs)) { pthread_mutex_unlock(&a->mu); reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    ds_finish(d);
    pthread_mutex_unlock(&a->mu);
    reply_empty(r, 204);
}

static void ds_delete(struct req *r, struct account *a, const char *name)
{
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    int pos;
    if (!ds_cmp_idx(a, name, &pos)) { pthread_mutex_unlock(&a->mu); reply_problem(r, 404, "No such dataset."); return; }
    struct dataset *d = a->ds[pos];
    memmove(a->ds + pos, a->ds + pos + 1, sizeof *a->ds * (size_t)(a->nds - pos - 1));
    a->nds--;
    d->deleted = 1;
    if (a->ndeleted == a->capdeleted) {
        a->capdeleted = a->capdeleted ? a->capdeleted * 2 : 16;
        a->deleted = realloc(a->deleted, sizeof(char *) * (size_t)a->capdeleted);
    }
    a->deleted[a->ndeleted++] = strdup(name);
    pthread_mutex_unlock(&a->mu);
    ds_unref(d);
    reply_empty(r, 204);
}

/* column lookup: small open-addressing hash built per request for wide sets */
static unsigned fnv(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* v is jansson's value (numbers are parsed as reals); raw is the client's text */
static int value_ok(int type, json_t *v, const char *raw, size_t rawn)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return 1;
    case JSON_STRING:
        if (type == COL_STRING) return 1;
        if (type == COL_DATE) return valid_date(json_string_value(v));
        if (type == COL_DATETIME) return valid_datetime_z(json_string_value(v));
        return 0;
    case JSON_INTEGER: case JSON_REAL:
        if (type == COL_DECIMAL) return 1;
        return type == COL_INTEGER && jraw_int(raw, rawn, INT64_MIN, INT64_MAX, NULL);
    case JSON_TRUE: case JSON_FALSE: return type == COL_BOOLEAN;
    default: return 0;
    }
}

static const char *type_msg(int type)
{
    static const char *m[] = {
        "The value must be a string or null.", "The value must be an integer (64-bit) or null.",
        "The value must be a number or null.", "The value must be true, false or null.",
        "The value must be a date YYYY-MM-DD or null.",
        "The value must be an ISO 8601 UTC date-time (YYYY-MM-DDTHH:MM:SS[.fraction]Z) or null.",
    };
    return m[type];
}

struct perr { char field[256]; const char *msg; };

static void perr_add(struct perr *e, int *n, const char *field, const char *msg)
{
    if (*n >= MAX_ERRS) { (*n)++; return; }
    size_t L = strlen(field);
    if (L > sizeof e[*n].field - 1) L = sizeof e[*n].field - 1;
    memcpy(e[*n].field, field, L);
    e[*n].field[L] = 0;
    e[*n].msg = msg;
    (*n)++;
}

/* PATCH /Dataset/{name}/data. The body is parsed once with jansson inside a
 * per-thread arena (no malloc per value); errors are gathered as plain C and
 * turned into JSON only after the arena is released. jansson checks the JSON
 * and gives each value's type (numbers as reals, so any number parses); the
 * raw scanner gives each value's original text, and numbers are stored
 * exactly as the client wrote them. */
static void ds_patch(struct req *r, struct account *a, const char *name)
{
    if (!body_precheck(r, 1)) return;
    struct perr errs[MAX_ERRS];
    int nerr = 0;
    json_error_t jerr;
    int bad_json = 0, notfound = 0;
    struct dataset *d = NULL;
    struct buf out = { 0 };
    struct block blk = { 0 };
    char field[256], key[256];
    const char *k, *v, *bn_raw = NULL, *recs_raw = NULL;
    size_t kn, vn, bn_rawn = 0, recs_rawn = 0;
    int64_t bnum = -1;

    arena_begin();
    json_t *b = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!b) { bad_json = 1; goto release; }
    json_t *bn = json_is_object(b) ? json_object_get(b, "blockNumber") : NULL;
    json_t *recs = json_is_object(b) ? json_object_get(b, "records") : NULL;
    if (json_is_object(b)) {
        struct jraw_it top;
        jraw_open(&top, r->body, r->body_len);
        while (jraw_member(&top, &k, &kn, &v, &vn)) {
            jraw_key(k, kn, key, sizeof key);
            if (strcmp(key, "blockNumber") == 0) { bn_raw = v; bn_rawn = vn; }
            else if (strcmp(key, "records") == 0) { recs_raw = v; recs_rawn = vn; }
        }
    }
    int bn_ok = json_is_number(bn) && bn_raw && jraw_int(bn_raw, bn_rawn, 0, 2147483647, &bnum);
    int64_t logged;
    if (json_is_number(bn) && bn_raw && jraw_int(bn_raw, bn_rawn, LONG_MIN, LONG_MAX, &logged))
        r->log_block = (long)logged;
    if (json_is_array(recs)) r->log_records = (long)json_array_size(recs);
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    d = ds_find(a, name);
    if (d) ds_ref(d);
    int input = d ? d->input : 0, completed = d ? d->completed : 0;
    pthread_mutex_unlock(&a->mu);
    if (!d) { notfound = 1; goto release; }
    if (!input) perr_add(errs, &nerr, "name", "Records can only be uploaded to input datasets.");
    else if (completed) perr_add(errs, &nerr, "name", "The dataset is completed; no more records can be uploaded.");
    else if (!json_is_object(b)) perr_add(errs, &nerr, "body", "The body must be a JSON object.");
    else {
        if (!bn_ok)
            perr_add(errs, &nerr, "blockNumber", "The blockNumber is required and must be an integer of at least 0.");
        if (!json_is_array(recs) || !recs_raw)
            perr_add(errs, &nerr, "records", "The records are required and must be an array.");
        else if (json_array_size(recs) < 1 || json_array_size(recs) > 1000)
            perr_add(errs, &nerr, "records", "A block must hold between 1 and 1000 records.");
    }
    if (nerr) goto release;
    /* validate and serialise (no lock: columns are immutable) */
    int nc = d->ncols, hcap = 16;
    while (hcap < nc * 2) hcap *= 2;
    int *ht = malloc(sizeof(int) * (size_t)hcap);
    for (int i = 0; i < hcap; i++) ht[i] = -1;
    for (int i = 0; i < nc; i++) {
        unsigned h = fnv(d->cols[i].name) & (unsigned)(hcap - 1);
        while (ht[h] >= 0) h = (h + 1) & (unsigned)(hcap - 1);
        ht[h] = i;
    }
    size_t n = json_array_size(recs);
    json_t **vals = malloc(sizeof(json_t *) * (size_t)nc);
    const char **raws = malloc(sizeof(char *) * (size_t)nc);
    size_t *rawns = malloc(sizeof(size_t) * (size_t)nc);
    struct jraw_it ri;
    jraw_open(&ri, recs_raw, recs_rawn);
    blk.number = (long)bnum;
    blk.n = (int)n;
    blk.off = malloc(sizeof(size_t) * (n + 1));
    out.cap = r->body_len + 64 + (size_t)nc * 16;
    out.p = malloc(out.cap);
    for (size_t i = 0; i < n && nerr < MAX_ERRS; i++) {
        json_t *rec = json_array_get(recs, i);
        const char *rv;
        size_t rvn;
        int have_raw = jraw_element(&ri, &rv, &rvn);
        blk.off[i] = out.len;
        if (!json_is_object(rec) || !have_raw) {
            snprintf(field, sizeof field, "records[%zu]", i);
            perr_add(errs, &nerr, field, "Each record must be a JSON object.");
            continue;
        }
        memset(vals, 0, sizeof(json_t *) * (size_t)nc);
        struct jraw_it mi;
        jraw_open(&mi, rv, rvn);
        size_t seen = 0;
        while (jraw_member(&mi, &k, &kn, &v, &vn)) {
            seen++;
            size_t klen = jraw_key(k, kn, key, sizeof key);
            int ci = -1;
            if (klen < sizeof key) {
                unsigned h = fnv(key) & (unsigned)(hcap - 1);
                while (ht[h] >= 0) {
                    if (strcmp(d->cols[ht[h]].name, key) == 0) { ci = ht[h]; break; }
                    h = (h + 1) & (unsigned)(hcap - 1);
                }
            }
            if (ci < 0) {
                snprintf(field, sizeof field, "records[%zu].%.200s", i, key);
                perr_add(errs, &nerr, field, "Unknown column.");
                continue;
            }
            json_t *jv = json_object_get(rec, key);
            if (!jv || !value_ok(d->cols[ci].type, jv, v, vn)) {
                snprintf(field, sizeof field, "records[%zu].%.200s", i, key);
                perr_add(errs, &nerr, field, type_msg(d->cols[ci].type));
                continue;
            }
            vals[ci] = jv;
            raws[ci] = v;
            rawns[ci] = vn;
        }
        if (seen != json_object_size(rec)) {
            /* the scanner and jansson disagree: never store a guess */
            snprintf(field, sizeof field, "records[%zu]", i);
            perr_add(errs, &nerr, field, "The record could not be read.");
        }
        if (nerr) continue;
        buf_putc(&out, '{');
        for (int c = 0; c < nc; c++) {
            if (c) buf_putc(&out, ',');
            buf_json_string(&out, d->cols[c].name, strlen(d->cols[c].name));
            buf_putc(&out, ':');
            if (!vals[c]) buf_put(&out, "null", 4);
            else if (json_is_number(vals[c])) buf_put(&out, raws[c], rawns[c]); /* exactly as sent */
            else buf_json_value(&out, vals[c]);
        }
        buf_putc(&out, '}');
    }
    free(ht);
    free(vals);
    free(raws);
    free(rawns);
    blk.off[n] = out.len;
release:
    if (b) json_decref(b);
    arena_end();
    if (bad_json) { reply_bad_json(r, &jerr); return; }
    if (notfound) { reply_problem(r, 404, "No such dataset."); return; }
    if (nerr) {
        free(out.p); free(blk.off); ds_unref(d);
        json_t *e = json_object();
        for (int i = 0; i < nerr && i < MAX_ERRS; i++) verr_add(e, errs[i].field, errs[i].msg);
        reply_validation(r, e, nerr >= MAX_ERRS ? "Too many errors; only the first 100 are listed." : NULL);
        return;
    }
    blk.data = out.p ? realloc(out.p, out.len + 1) : calloc(1, 1);
    pthread_mutex_lock(&a->mu);
    int gone = d->deleted, done = d->completed;
    if (!gone && !done) ds_put_block(d, &blk);
    pthread_mutex_unlock(&a->mu);
    ds_unref(d);
    if (gone || done) {
        free(blk.data); free(blk.off);
        if (gone) reply_problem(r, 404, "No such dataset.");
        else {
            json_t *e = json_object();
            verr_add(e, "name", "The dataset is completed; no more records can be uploaded.");
            reply_validation(r, e, NULL);
        }
        return;
    }
    reply_empty(r, 204);
}

static void ds_download(struct req *r, struct account *a, const char *name)
{
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    struct dataset *d = ds_find(a, name);
    if (d) ds_ref(d);
    pthread_mutex_unlock(&a->mu);
    if (!d) { reply_problem(r, 404, "No such dataset."); return; }
    json_t *errs = json_object();
    long start = 0, count = 0;
    if (d->input) verr_add(errs, "name", "Records can only be downloaded from output datasets.");
    else if (!d->completed) verr_add(errs, "name", "The dataset is not completed yet.");
    else {
        if (!parse_long(qget(r, "start"), &start) || start < 1)
            verr_add(errs, "start", "The start is required and must be an integer of at least 1.");
        if (!parse_long(qget(r, "count"), &count) || count < 1 || count > 1000)
            verr_add(errs, "count", "The count is required and must be an integer from 1 to 1000.");
    }
    if (json_object_size(errs)) { ds_unref(d); reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    /* completed output datasets are immutable: read without the lock */
    struct buf out = { 0 };
    buf_putc(&out, '[');
    long idx = start - 1, left = count;
    int lo = 0, hi = d->nblocks;
    while (lo < hi) { int mid = (lo + hi) / 2; if (d->cum[mid + 1] <= idx) lo = mid + 1; else hi = mid; }
    int first = 1;
    for (int bi = lo; bi < d->nblocks && left > 0; bi++) {
        struct block *bk = &d->blocks[bi];
        long from = idx - d->cum[bi];
        if (from < 0) from = 0;
        long to = from + left;
        if (to > bk->n) to = bk->n;
        if (from >= to) continue;
        if (!first) buf_putc(&out, ',');
        first = 0;
        /* records from..to-1 are contiguous: copy and put commas between */
        for (long k = from; k < to; k++) {
            if (k > from) buf_putc(&out, ',');
            buf_put(&out, bk->data + bk->off[k], bk->off[k + 1] - bk->off[k]);
        }
        left -= to - from;
        idx += to - from;
    }
    buf_putc(&out, ']');
    ds_unref(d);
    reply_raw(r, 200, out.p, out.len, "application/json; charset=utf-8");
}

void handle_dataset(struct req *r)
{
    struct account *a = r->acct;
    if (r->nseg == 1) {
        if (is_method(r, "GET")) ds_list(r, a);
        else if (is_method(r, "POST")) ds_create(r, a);
        else reply_405(r, "GET, POST");
        return;
    }
    const char *name = r->segs[1];
    if (r->nseg == 2) {
        if (is_method(r, "GET")) {
            pthread_mutex_lock(&a->mu);
            jobs_tick(a);
            struct dataset *d = ds_find(a, name);
            json_t *o = d ? ds_json(d) : NULL;
            pthread_mutex_unlock(&a->mu);
            if (!o) reply_problem(r, 404, "No such dataset.");
            else reply_json(r, 200, o);
        } else if (is_method(r, "PUT")) ds_complete(r, a, name);
        else if (is_method(r, "DELETE")) ds_delete(r, a, name);
        else reply_405(r, "GET, PUT, DELETE");
        return;
    }
    if (r->nseg == 3 && strcasecmp(r->segs[2], "data") == 0) {
        if (is_method(r, "PATCH")) ds_patch(r, a, name);
        else if (is_method(r, "GET")) ds_download(r, a, name);
        else reply_405(r, "GET, PATCH");
        return;
    }
    reply_problem(r, 404, "No such route.");
}
