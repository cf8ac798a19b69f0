/* dataset.c: /Dataset routes; records held as compact JSON strings per block. */
#include "sim.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* the dataset of a PATCH, referenced, with its flags as read under the lock; NULL if none */
static struct dataset *patch_dataset(struct account *a, const char *name, int *input, int *completed)
{
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    struct dataset *d = ds_find(a, name);
    if (d) ds_ref(d);
    *input = d ? d->input : 0;
    *completed = d ? d->completed : 0;
    pthread_mutex_unlock(&a->mu);
    return d;
}

/* 400 with the gathered errors (at most BLOCK_MAX_ERRS listed) */
static void patch_reply_errors(struct req *r, const struct perr *errs, int nerr)
{
    json_t *e = json_object();
    for (int i = 0; i < nerr && i < BLOCK_MAX_ERRS; i++) verr_add(e, errs[i].field, errs[i].msg);
    reply_validation(r, e, nerr >= BLOCK_MAX_ERRS ? "Too many errors; only the first 100 are listed." : NULL);
}

/* stores the block unless the dataset went or was completed meanwhile, and
 * answers; takes the block and the reference to d */
static void patch_store(struct req *r, struct account *a, struct dataset *d, struct block *blk)
{
    pthread_mutex_lock(&a->mu);
    int gone = d->deleted, done = d->completed;
    if (!gone && !done) ds_put_block(d, blk);
    pthread_mutex_unlock(&a->mu);
    ds_unref(d);
    if (gone || done) {
        free(blk->data); free(blk->off);
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

/* PATCH /Dataset/{name}/data, the full path (block.c) for every body. The
 * body is parsed once with jansson inside a per-thread arena (no malloc per
 * value); errors are gathered as plain C and turned into JSON only after the
 * arena is released. */
static void ds_patch_full(struct req *r, struct account *a, const char *name)
{
    struct perr errs[BLOCK_MAX_ERRS];
    int nerr = 0, input = 0, completed = 0, bad_json = 0, notfound = 0;
    struct dataset *d = NULL;
    struct block blk = { 0 };
    struct block_full f;

    arena_begin();
    if (!block_full_parse(&f, r->body, r->body_len)) { bad_json = 1; goto release; }
    r->log_block = f.log_block;
    r->log_records = f.log_records;
    d = patch_dataset(a, name, &input, &completed);
    if (!d) { notfound = 1; goto release; }
    if (!input) perr_add(errs, &nerr, "name", "Records can only be uploaded to input datasets.");
    else if (completed) perr_add(errs, &nerr, "name", "The dataset is completed; no more records can be uploaded.");
    else block_full_check(&f, errs, &nerr);
    /* validate and serialise (no lock: columns are immutable) */
    if (!nerr) block_full_records(&f, d->cols, d->ncols, errs, &nerr, &blk);
release:
    block_full_free(&f);
    arena_end();
    if (bad_json) { reply_bad_json(r, &f.jerr); return; }
    if (notfound) { reply_problem(r, 404, "No such dataset."); return; }
    if (nerr) { ds_unref(d); patch_reply_errors(r, errs, nerr); return; }
    patch_store(r, a, d, &blk);
}

/* PATCH /Dataset/{name}/data. A body the fast path (block.c) reads is a valid
 * block, so the full path would have found no error before the dataset's
 * checks, which pass here too: it is stored at once. Any other body, or a
 * dataset that takes no records, goes the full path, as if the fast path had
 * not run. */
static void ds_patch(struct req *r, struct account *a, const char *name)
{
    if (!body_precheck(r, 1)) return;
    int input, completed;
    struct block blk = { 0 };
    struct dataset *d = patch_dataset(a, name, &input, &completed);
    if (d && input && !completed && block_fast(r->body, r->body_len, d->cols, d->ncols, &blk)) {
        r->log_block = blk.number;
        r->log_records = blk.n;
        patch_store(r, a, d, &blk);
        return;
    }
    if (d) ds_unref(d);
    ds_patch_full(r, a, name);
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
