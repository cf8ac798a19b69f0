/* block.c: reading a PATCH /Dataset/{name}/data body into a block.
 *
 * Two readers produce the same block. The full path reads every body: jansson
 * checks the JSON and gives each value's type, the raw scanner (util.c) gives
 * each value's text, and every error is reported. The fast path reads, in one
 * pass over the text, only what it can prove the full path accepts and stores
 * byte for byte the same (a valid block of flat values, written in the forms
 * the full path would write back); it declines anything else, and the full
 * path then runs as before. Both run outside the server (test/fuzz/fuzz_block.c
 * checks that whatever the fast path accepts, the full path accepts too, with
 * the same block). */
#include "sim.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS 1000
#define MAX_BLOCK_NUMBER 2147483647

/* one more error; only the first BLOCK_MAX_ERRS are kept, the rest are counted */
void perr_add(struct perr *e, int *n, const char *field, const char *msg)
{
    if (*n >= BLOCK_MAX_ERRS) { (*n)++; return; }
    size_t L = strlen(field);
    if (L > sizeof e[*n].field - 1) L = sizeof e[*n].field - 1;
    memcpy(e[*n].field, field, L);
    e[*n].field[L] = 0;
    e[*n].msg = msg;
    (*n)++;
}

/* ---------- column lookup (both paths) ----------
 * a small open-addressing hash of the column names, built per request */
struct colidx { const struct column *cols; size_t *len; int *ht; unsigned mask; };

/* FNV-1a of n bytes */
static unsigned fnv(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* the index of cols[0..nc) */
static void colidx_build(struct colidx *x, const struct column *cols, int nc)
{
    unsigned cap = 16;
    while (cap < (unsigned)nc * 2) cap *= 2;
    x->cols = cols;
    x->mask = cap - 1;
    x->len = malloc(sizeof(size_t) * (size_t)(nc ? nc : 1));
    x->ht = malloc(sizeof(int) * cap);
    for (unsigned i = 0; i < cap; i++) x->ht[i] = -1;
    for (int i = 0; i < nc; i++) {
        x->len[i] = strlen(cols[i].name);
        unsigned h = fnv(cols[i].name, x->len[i]) & x->mask;
        while (x->ht[h] >= 0) h = (h + 1) & x->mask;
        x->ht[h] = i;
    }
}

/* the column named exactly k[0..kn), or -1 */
static int colidx_find(const struct colidx *x, const char *k, size_t kn)
{
    for (unsigned h = fnv(k, kn) & x->mask; x->ht[h] >= 0; h = (h + 1) & x->mask) {
        int c = x->ht[h];
        if (x->len[c] == kn && memcmp(x->cols[c].name, k, kn) == 0) return c;
    }
    return -1;
}

/* frees what colidx_build made */
static void colidx_free(struct colidx *x)
{
    free(x->len);
    free(x->ht);
}

/* ---------- the full path ---------- */

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

/* the error message for a value of the wrong type */
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

/* jansson's DOM of the body (numbers as reals, duplicate keys rejected) and the
 * raw text of blockNumber and records; 0 when the body is not JSON (f->jerr) */
int block_full_parse(struct block_full *f, const char *body, size_t n)
{
    const char *k, *v, *bn_raw = NULL;
    size_t kn, vn, bn_rawn = 0;
    char key[256];
    int64_t logged;

    memset(f, 0, sizeof *f);
    f->body_len = n;
    f->bnum = -1;
    f->log_block = f->log_records = LONG_MIN;
    f->b = json_loadb(body, n, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &f->jerr);
    if (!f->b) return 0;
    json_t *bn = json_is_object(f->b) ? json_object_get(f->b, "blockNumber") : NULL;
    f->recs = json_is_object(f->b) ? json_object_get(f->b, "records") : NULL;
    if (json_is_object(f->b)) {
        struct jraw_it top;
        jraw_open(&top, body, n);
        while (jraw_member(&top, &k, &kn, &v, &vn)) {
            jraw_key(k, kn, key, sizeof key);
            if (strcmp(key, "blockNumber") == 0) { bn_raw = v; bn_rawn = vn; }
            else if (strcmp(key, "records") == 0) { f->recs_raw = v; f->recs_rawn = vn; }
        }
    }
    f->bn_ok = json_is_number(bn) && bn_raw && jraw_int(bn_raw, bn_rawn, 0, MAX_BLOCK_NUMBER, &f->bnum);
    if (json_is_number(bn) && bn_raw && jraw_int(bn_raw, bn_rawn, LONG_MIN, LONG_MAX, &logged))
        f->log_block = (long)logged;
    if (json_is_array(f->recs)) f->log_records = (long)json_array_size(f->recs);
    return 1;
}

/* the errors of the body's shape: an object with blockNumber and 1-1000 records */
void block_full_check(const struct block_full *f, struct perr *errs, int *nerr)
{
    if (!json_is_object(f->b)) { perr_add(errs, nerr, "body", "The body must be a JSON object."); return; }
    if (!f->bn_ok)
        perr_add(errs, nerr, "blockNumber", "The blockNumber is required and must be an integer of at least 0.");
    if (!json_is_array(f->recs) || !f->recs_raw)
        perr_add(errs, nerr, "records", "The records are required and must be an array.");
    else if (json_array_size(f->recs) < 1 || json_array_size(f->recs) > MAX_RECORDS)
        perr_add(errs, nerr, "records", "A block must hold between 1 and 1000 records.");
}

/* every record checked against the columns and serialised into *blk (all
 * columns in column order, numbers exactly as sent); on an error, *blk is
 * left empty and the errors are in errs */
void block_full_records(const struct block_full *f, const struct column *cols, int nc,
                        struct perr *errs, int *nerr, struct block *blk)
{
    struct buf out = { 0 };
    struct colidx cx;
    char field[256], key[256];
    const char *k, *v;
    size_t kn, vn;
    size_t n = json_array_size(f->recs);
    json_t **vals = malloc(sizeof(json_t *) * (size_t)nc);
    const char **raws = malloc(sizeof(char *) * (size_t)nc);
    size_t *rawns = malloc(sizeof(size_t) * (size_t)nc);
    struct jraw_it ri;

    colidx_build(&cx, cols, nc);
    jraw_open(&ri, f->recs_raw, f->recs_rawn);
    memset(blk, 0, sizeof *blk);
    blk->number = (long)f->bnum;
    blk->n = (int)n;
    blk->off = malloc(sizeof(size_t) * (n + 1));
    out.cap = f->body_len + 64 + (size_t)nc * 16;
    out.p = malloc(out.cap);
    for (size_t i = 0; i < n && *nerr < BLOCK_MAX_ERRS; i++) {
        json_t *rec = json_array_get(f->recs, i);
        const char *rv;
        size_t rvn;
        int have_raw = jraw_element(&ri, &rv, &rvn);
        blk->off[i] = out.len;
        if (!json_is_object(rec) || !have_raw) {
            snprintf(field, sizeof field, "records[%zu]", i);
            perr_add(errs, nerr, field, "Each record must be a JSON object.");
            continue;
        }
        memset(vals, 0, sizeof(json_t *) * (size_t)nc);
        struct jraw_it mi;
        jraw_open(&mi, rv, rvn);
        size_t seen = 0;
        while (jraw_member(&mi, &k, &kn, &v, &vn)) {
            seen++;
            size_t klen = jraw_key(k, kn, key, sizeof key);
            int ci = klen < sizeof key ? colidx_find(&cx, key, strlen(key)) : -1;
            if (ci < 0) {
                snprintf(field, sizeof field, "records[%zu].%.200s", i, key);
                perr_add(errs, nerr, field, "Unknown column.");
                continue;
            }
            json_t *jv = json_object_get(rec, key);
            if (!jv || !value_ok(cols[ci].type, jv, v, vn)) {
                snprintf(field, sizeof field, "records[%zu].%.200s", i, key);
                perr_add(errs, nerr, field, type_msg(cols[ci].type));
                continue;
            }
            vals[ci] = jv;
            raws[ci] = v;
            rawns[ci] = vn;
        }
        if (seen != json_object_size(rec)) {
            /* the scanner and jansson disagree: never store a guess */
            snprintf(field, sizeof field, "records[%zu]", i);
            perr_add(errs, nerr, field, "The record could not be read.");
        }
        if (*nerr) continue;
        buf_putc(&out, '{');
        for (int c = 0; c < nc; c++) {
            if (c) buf_putc(&out, ',');
            buf_json_string(&out, cols[c].name, strlen(cols[c].name));
            buf_putc(&out, ':');
            if (!vals[c]) buf_put(&out, "null", 4);
            else if (json_is_number(vals[c])) buf_put(&out, raws[c], rawns[c]); /* exactly as sent */
            else buf_json_value(&out, vals[c]);
        }
        buf_putc(&out, '}');
    }
    colidx_free(&cx);
    free(vals);
    free(raws);
    free(rawns);
    if (*nerr) {
        free(out.p); free(blk->off);
        memset(blk, 0, sizeof *blk);
        return;
    }
    blk->off[n] = out.len;
    blk->data = out.p ? realloc(out.p, out.len + 1) : calloc(1, 1);
}

/* releases the DOM (the block, if any, is the caller's) */
void block_full_free(struct block_full *f)
{
    if (f->b) json_decref(f->b);
    f->b = f->recs = NULL;
}

/* ---------- the fast path ----------
 * Every function returns the first byte after what it read, or NULL to
 * decline. It only ever reads inside [p, e). What it accepts is, token for
 * token, JSON that jansson accepts (RFC 8259, UTF-8 checked as jansson does,
 * no duplicate keys); the block it builds is the full path's, byte for byte. */
struct fast {
    const char *e;              /* end of the body */
    const struct column *cols;
    int nc;
    struct colidx cx;
    struct buf heads;           /* "{" "\"c0\":" then "," "\"c1\":" ... as the full path writes them */
    size_t *head_off;           /* nc+1 offsets into heads */
    int *seen;                  /* seen[c] == record number + 1: column c is in this record */
    const char **val;           /* val[c], valn[c]: the bytes to store for column c */
    size_t *valn;
    struct buf out;
    size_t *off;                /* MAX_RECORDS + 1 */
    int n;                      /* records read */
    int64_t bnum;
    int have_bn, have_recs;
};

/* the end of one literal (null, true, false) */
static const char *fast_lit(const char *p, const char *e, const char *lit, size_t n)
{
    return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

/* the end of one UTF-8 sequence at p (p[0] >= 0x80), valid as jansson's
 * utf8_check_full has it: no overlong forms, no surrogates, at most U+10FFFF */
static const char *fast_utf8(const char *p, const char *e)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t left = (size_t)(e - p), n;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (u[0] >= 0xC2 && u[0] <= 0xDF) n = 2;
    else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        n = 3;
        if (u[0] == 0xE0) lo = 0xA0;      /* overlong below U+0800 */
        else if (u[0] == 0xED) hi = 0x9F; /* U+D800..DFFF */
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        n = 4;
        if (u[0] == 0xF0) lo = 0x90;      /* overlong below U+10000 */
        else if (u[0] == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else return NULL;
    if (left < n || u[1] < lo || u[1] > hi) return NULL;
    for (size_t i = 2; i < n; i++)
        if (u[i] < 0x80 || u[i] > 0xBF) return NULL;
    return p + n;
}

/* p at the opening quote: the end of a string whose bytes the full path
 * writes back unchanged (buf_json_string of jansson's decoded value): bytes
 * >= 0x20, valid UTF-8, and only the escapes \" \\ \n \r \t \b \f, which
 * buf_json_string writes in the same form. *esc: it holds an escape */
static const char *fast_string(const char *p, const char *e, int *esc)
{
    *esc = 0;
    for (p++; p < e;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\') {
            if (e - p < 2 || !memchr("\"\\nrtbf", p[1], 7)) return NULL; /* \/, \u and the rest: decline */
            *esc = 1;
            p += 2;
        } else if (c < 0x20) return NULL;
        else if (c < 0x80) p++;
        else if (!(p = fast_utf8(p, e))) return NULL;
    }
    return NULL;
}

/* whether jansson reads the number token s[0..n) without "real number
 * overflow" (its jsonp_strtod): strtod must not give +-HUGE_VAL with ERANGE.
 * strtod must read the whole token, as jansson's does once it has put the
 * locale's decimal point for '.' (so a locale without '.' declines) */
static int fast_number_fits(const char *s, size_t n)
{
    char tmp[64], *end;
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    errno = 0;
    double v = strtod(tmp, &end);
    return end == tmp + n && !((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE);
}

/* p at '-' or a digit: the end of a number token of RFC 8259's grammar,
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, that jansson reads as a
 * double; *is_int: no fraction and no exponent */
static const char *fast_number(const char *p, const char *e, int *is_int)
{
    const char *s = p, *q;
    int exp = 0;
    if (p < e && *p == '-') p++;
    const char *digits = p;
    if (p < e && *p == '0') p++;
    else if (p < e && *p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
    else return NULL;
    size_t int_digits = (size_t)(p - digits);
    *is_int = 1;
    if (p < e && *p == '.') {
        for (q = ++p; p < e && *p >= '0' && *p <= '9'; p++) {}
        if (p == q) return NULL;
        *is_int = 0;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        for (q = p; p < e && *p >= '0' && *p <= '9'; p++) {}
        if (p == q) return NULL;
        *is_int = 0;
        exp = 1;
    }
    /* below 10^308 (at most 308 integer digits, no exponent) a double cannot overflow */
    if ((exp || int_digits > 308) && !fast_number_fits(s, (size_t)(p - s))) return NULL;
    return p;
}

/* p at a string value for a column of type t: its end, when the full path
 * accepts it for t (dates and date-times: escape-free and valid) */
static const char *fast_string_value(const char *p, const char *e, int t)
{
    int esc;
    const char *q = fast_string(p, e, &esc);
    if (!q || t == COL_STRING) return q;
    if ((t != COL_DATE && t != COL_DATETIME) || esc) return NULL;
    char tmp[40];
    size_t n = (size_t)(q - p - 2);
    if (n >= sizeof tmp) return NULL;
    memcpy(tmp, p + 1, n);
    tmp[n] = 0;
    return (t == COL_DATE ? valid_date(tmp) : valid_datetime_z(tmp)) ? q : NULL;
}

/* p at a number value for a column of type t: its end, when the full path
 * accepts it for t (integers: jraw_int's rule on the text) */
static const char *fast_number_value(const char *p, const char *e, int t)
{
    int is_int;
    const char *q = fast_number(p, e, &is_int);
    if (!q || t == COL_DECIMAL) return q;
    return t == COL_INTEGER && is_int && jraw_int(p, (size_t)(q - p), INT64_MIN, INT64_MAX, NULL) ? q : NULL;
}

/* p at a value for a column of type t: its end, when it is a flat value the
 * full path accepts for t and stores as these same bytes */
static const char *fast_value(const char *p, const char *e, int t)
{
    if (p >= e) return NULL;
    switch (*p) {
    case '"': return fast_string_value(p, e, t);
    case 'n': return fast_lit(p, e, "null", 4);
    case 't': return t == COL_BOOLEAN ? fast_lit(p, e, "true", 4) : NULL;
    case 'f': return t == COL_BOOLEAN ? fast_lit(p, e, "false", 5) : NULL;
    default: return (*p == '-' || (*p >= '0' && *p <= '9')) && (t == COL_INTEGER || t == COL_DECIMAL)
                    ? fast_number_value(p, e, t) : NULL;
    }
}

/* p at the opening quote of a key: the end of the key, with the column it
 * names exactly in *ci (tried first: the column after *ci, as keys mostly
 * come in column order). Column names are [a-z0-9_] only, so a key that
 * names one has no escape and its first quote closes it; any other key declines */
static const char *fast_key(struct fast *f, const char *p, int *ci)
{
    int g = *ci + 1 < f->nc ? *ci + 1 : 0;
    size_t gn = f->cx.len[g];
    if ((size_t)(f->e - p) > gn + 1 && p[gn + 1] == '"' && memcmp(p + 1, f->cols[g].name, gn) == 0) {
        *ci = g;
        return p + gn + 2;
    }
    const char *q = memchr(p + 1, '"', (size_t)(f->e - p - 1));
    if (!q || (*ci = colidx_find(&f->cx, p + 1, (size_t)(q - p - 1))) < 0) return NULL;
    return q + 1;
}

/* p after a member or an element: past the ',' before the next one (*more
 * set) or past the closing bracket (*more clear) */
static const char *fast_next(const char *p, const char *e, char close, int *more)
{
    p = jraw_ws(p, e);
    if (p < e && *p == ',') { *more = 1; return jraw_ws(p + 1, e); }
    if (p < e && *p == close) { *more = 0; return p + 1; }
    return NULL;
}

/* p after a key: past the ':' and the whitespace around it */
static const char *fast_colon(const char *p, const char *e)
{
    p = jraw_ws(p, e);
    return p < e && *p == ':' ? jraw_ws(p + 1, e) : NULL;
}

/* appends record number f->n: every column in column order, null when absent */
static void fast_emit(struct fast *f)
{
    f->off[f->n] = f->out.len;
    for (int c = 0; c < f->nc; c++) {
        buf_put(&f->out, f->heads.p + f->head_off[c], f->head_off[c + 1] - f->head_off[c]);
        if (f->seen[c] == f->n + 1) buf_put(&f->out, f->val[c], f->valn[c]);
        else buf_put(&f->out, "null", 4);
    }
    buf_putc(&f->out, '}');
}

/* p at '{': one record of known columns, each at most once, with flat values
 * of their types; appended to the block */
static const char *fast_record(struct fast *f, const char *p)
{
    const char *e = f->e;
    int more = 1, ci = -1;
    p = jraw_ws(p + 1, e);
    if (p < e && *p == '}') { p++; more = 0; }
    while (more) {
        if (p >= e || *p != '"' || !(p = fast_key(f, p, &ci)) || f->seen[ci] == f->n + 1) return NULL;
        if (!(p = fast_colon(p, e))) return NULL;
        f->val[ci] = p;
        if (!(p = fast_value(p, e, f->cols[ci].type))) return NULL;
        f->valn[ci] = (size_t)(p - f->val[ci]);
        f->seen[ci] = f->n + 1;
        if (!(p = fast_next(p, e, '}', &more))) return NULL;
    }
    fast_emit(f);
    f->n++;
    return p;
}

/* p at '[': 1 to 1000 records */
static const char *fast_records(struct fast *f, const char *p)
{
    const char *e = f->e;
    int more = 1;
    p = jraw_ws(p + 1, e);
    while (more) {
        if (f->n == MAX_RECORDS || p >= e || *p != '{' || !(p = fast_record(f, p))) return NULL;
        if (!(p = fast_next(p, e, ']', &more))) return NULL;
    }
    f->off[f->n] = f->out.len;
    return p;
}

/* p at '"': one member of the top-level object, blockNumber (an integer token
 * from 0 to 2^31-1) or records, neither seen before */
static const char *fast_top_member(struct fast *f, const char *p)
{
    const char *e = f->e, *q = memchr(p + 1, '"', (size_t)(e - p - 1)), *v;
    int is_int;
    if (!q) return NULL;
    size_t kn = (size_t)(q - p - 1);
    if (kn == 11 && memcmp(p + 1, "blockNumber", 11) == 0 && !f->have_bn) {
        if (!(v = fast_colon(q + 1, e)) || v >= e || !(*v == '-' || (*v >= '0' && *v <= '9'))) return NULL;
        if (!(p = fast_number(v, e, &is_int)) || !is_int ||
            !jraw_int(v, (size_t)(p - v), 0, MAX_BLOCK_NUMBER, &f->bnum)) return NULL;
        f->have_bn = 1;
        return p;
    }
    if (kn == 7 && memcmp(p + 1, "records", 7) == 0 && !f->have_recs) {
        if (!(v = fast_colon(q + 1, e)) || v >= e || *v != '[') return NULL;
        f->have_recs = 1;
        return fast_records(f, v);
    }
    return NULL;
}

/* the whole body: whitespace, an object of exactly blockNumber and records,
 * whitespace; 1 when read */
static int fast_body(struct fast *f, const char *p)
{
    const char *e = f->e;
    int more = 1;
    p = jraw_ws(p, e);
    if (p >= e || *p != '{') return 0;
    p = jraw_ws(p + 1, e);
    while (more) {
        if (p >= e || *p != '"' || !(p = fast_top_member(f, p))) return 0;
        if (!(p = fast_next(p, e, '}', &more))) return 0;
    }
    return f->have_bn && f->have_recs && jraw_ws(p, e) == e;
}

/* the column names the fast path can match keys against: [a-z0-9_]+ (every
 * dataset's, by valid_name), whose keys need no decoding */
static int fast_names_ok(const struct column *cols, int nc)
{
    for (int c = 0; c < nc; c++) {
        const char *s = cols[c].name;
        if (!*s) return 0;
        for (; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    }
    return nc > 0;
}

/* the state for one body: column index, the column heads the full path
 * writes (buf_json_string of each name) and the output buffer */
static void fast_init(struct fast *f, const char *body, size_t n, const struct column *cols, int nc)
{
    memset(f, 0, sizeof *f);
    f->e = body + n;
    f->cols = cols;
    f->nc = nc;
    colidx_build(&f->cx, cols, nc);
    f->head_off = malloc(sizeof(size_t) * (size_t)(nc + 1));
    for (int c = 0; c < nc; c++) {
        f->head_off[c] = f->heads.len;
        buf_putc(&f->heads, c ? ',' : '{');
        buf_json_string(&f->heads, cols[c].name, strlen(cols[c].name));
        buf_putc(&f->heads, ':');
    }
    f->head_off[nc] = f->heads.len;
    f->seen = calloc((size_t)nc, sizeof(int));
    f->val = malloc(sizeof(char *) * (size_t)nc);
    f->valn = malloc(sizeof(size_t) * (size_t)nc);
    f->off = malloc(sizeof(size_t) * (MAX_RECORDS + 1));
    f->out.cap = n + 64 + (size_t)nc * 16;
    f->out.p = malloc(f->out.cap);
}

/* frees what fast_init made (the output and offsets too, unless taken) */
static void fast_free(struct fast *f)
{
    colidx_free(&f->cx); free(f->heads.p); free(f->head_off);
    free(f->seen); free(f->val); free(f->valn);
    free(f->out.p); free(f->off);
}

/* 1 with *blk the block the full path would store; 0: declined (*blk untouched) */
int block_fast(const char *body, size_t n, const struct column *cols, int nc, struct block *blk)
{
    struct fast f;
    if (!fast_names_ok(cols, nc)) return 0;
    fast_init(&f, body, n, cols, nc);
    int ok = fast_body(&f, body);
    if (ok) {
        blk->number = (long)f.bnum;
        blk->n = f.n;
        blk->data = realloc(f.out.p, f.out.len + 1);
        blk->off = realloc(f.off, sizeof(size_t) * (size_t)(f.n + 1));
        f.out.p = NULL;
        f.off = NULL;
    }
    fast_free(&f);
    return ok;
}
