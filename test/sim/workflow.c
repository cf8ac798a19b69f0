/* workflow.c: the simulated workflows (Echo, CleanseContacts,
 * ContactDeceasedCheck, AlwaysFails, FailsSilently, MatchAccounts) and their record transformations. */
#include "sim.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct workflow g_wf[] = {
    { "Echo", "Input", "Output", 0, NULL },
    { "CleanseContacts", "Contacts", "Contacts", 0, NULL },
    { "ContactDeceasedCheck", "Contacts", "Contacts", 0, NULL },
    { "AlwaysFails", "Input", NULL, 1, NULL },
    { "FailsSilently", "Input", NULL, 2, NULL },
    { "MatchAccounts", "Contacts", "Contacts", 0, "Accounts" },
};

const struct workflow *wf_find(const char *name)
{
    for (size_t i = 0; i < sizeof g_wf / sizeof g_wf[0]; i++)
        if (strcmp(g_wf[i].name, name) == 0) return &g_wf[i];
    return NULL;
}

int wf_check_params(const struct workflow *w, json_t *params, json_t *errs)
{
    if (strcmp(w->name, "ContactDeceasedCheck") != 0) return 1;
    json_t *v = json_object_get(params, "MaxContactAge");
    if (!v) return 1;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = strlen(s);
    int ok = n >= 1 && n <= 9;
    for (size_t i = 0; i < n; i++) if (!isdigit((unsigned char)s[i])) ok = 0;
    if (!ok) verr_add(errs, "parameters.MaxContactAge", "MaxContactAge must be a non-negative integer string.");
    return ok;
}

static int col_index(const struct column *c, int n, const char *name)
{
    for (int i = 0; i < n; i++) if (strcmp(c[i].name, name) == 0) return i;
    return -1;
}

static int has_string_col(const struct dataset *in, const char *name)
{
    int i = col_index(in->cols, in->ncols, name);
    return i >= 0 && in->cols[i].type == COL_STRING;
}

const char *wf_check_input(const struct workflow *w, const struct dataset *d, int second)
{
    if (strcmp(w->name, "MatchAccounts") != 0) return NULL;
    if (col_index(d->cols, d->ncols, "account_id") < 0) return "The dataset needs an account_id column.";
    if (second && col_index(d->cols, d->ncols, "account_name") < 0) return "The dataset needs an account_name column.";
    return NULL;
}

struct column *wf_out_columns(const struct workflow *w, const struct dataset *in, int *n)
{
    if (!w->out_key) { *n = 0; return NULL; }
    struct column *c = calloc((size_t)in->ncols + 5, sizeof *c);
    int k = 0;
    for (int i = 0; i < in->ncols; i++) { c[k].name = strdup(in->cols[i].name); c[k].type = in->cols[i].type; k++; }
    const char *extra[3] = { NULL, NULL, NULL };
    if (strcmp(w->name, "MatchAccounts") == 0) {
        int j = col_index(c, k, "account_name");
        if (j < 0) { c[k].name = strdup("account_name"); j = k++; }
        c[j].type = COL_STRING;
    }
    if (strcmp(w->name, "CleanseContacts") == 0) {
        static const char *src[3] = { "email", "phone", "postcode" };
        static const char *flag[3] = { "email_valid", "phone_valid", "postcode_valid" };
        for (int i = 0; i < 3; i++) if (has_string_col(in, src[i])) extra[i] = flag[i];
    } else if (strcmp(w->name, "ContactDeceasedCheck") == 0) {
        extra[0] = "deceased";
        extra[1] = "mover";
    }
    for (int i = 0; i < 3; i++) {
        if (!extra[i]) continue;
        int j = col_index(c, k, extra[i]);
        if (j >= 0) { c[j].type = COL_BOOLEAN; continue; }
        c[k].name = strdup(extra[i]);
        c[k].type = COL_BOOLEAN;
        k++;
    }
    *n = k;
    return c;
}

/* ---------- CleanseContacts rules ---------- */
static char *trim_dup(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return strndup(s, n);
}

static char *clean_name(const char *s)
{
    char *t = trim_dup(s), *o = malloc(strlen(t) + 1);
    size_t j = 0;
    int cap = 1;
    for (size_t i = 0; t[i]; i++) {
        unsigned char c = (unsigned char)t[i];
        if (isspace(c)) {
            if (j && o[j - 1] != ' ') o[j++] = ' ';
            cap = 1;
            continue;
        }
        if (c < 0x80) o[j++] = (char)(cap ? toupper(c) : tolower(c));
        else o[j++] = (char)c;
        cap = (c == '-' || c == '\'');
    }
    o[j] = 0;
    free(t);
    return o;
}

static char *clean_email(const char *s, int *valid)
{
    char *t = trim_dup(s);
    for (char *p = t; *p; p++) *p = (char)tolower((unsigned char)*p);
    const char *at = strchr(t, '@');
    int ok = at && at != t && !strchr(at + 1, '@');
    if (ok) {
        for (const char *p = t; p < at; p++)
            if (!isalnum((unsigned char)*p) && !strchr(".!#$%&'*+/=?^_`{|}~-", *p)) ok = 0;
        if (t[0] == '.' || at[-1] == '.' || strstr(t, "..")) ok = 0;
        const char *d = at + 1;
        int labels = 0;
        const char *last = d;
        while (ok) {
            const char *e = strchr(d, '.');
            size_t L = e ? (size_t)(e - d) : strlen(d);
            if (L < 1 || L > 63 || d[0] == '-' || d[L - 1] == '-') { ok = 0; break; }
            for (size_t i = 0; i < L; i++)
                if (!isalnum((unsigned char)d[i]) && d[i] != '-') ok = 0;
            labels++;
            last = d;
            if (!e) break;
            d = e + 1;
        }
        if (ok) {
            if (labels < 2 || strlen(last) < 2) ok = 0;
            for (const char *p = last; *p; p++) if (!isalpha((unsigned char)*p)) ok = 0;
        }
    }
    *valid = ok;
    return t;
}

static char *clean_phone(const char *s, int *valid)
{
    char *t = trim_dup(s);
    char d[64];
    size_t n = 0;
    int ok = 1;
    for (size_t i = 0; t[i] && ok; i++) {
        char c = t[i];
        if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.') continue;
        if (c == '+' && n == 0) { d[n++] = c; continue; }
        if (!isdigit((unsigned char)c) || n >= sizeof d - 1) { ok = 0; break; }
        d[n++] = c;
    }
    d[n] = 0;
    const char *rest = NULL;
    if (ok) {
        if (!strncmp(d, "+44", 3)) rest = d + 3;
        else if (!strncmp(d, "0044", 4)) rest = d + 4;
        else if (d[0] == '0') rest = d + 1;
    }
    if (rest && rest[0] == '0') rest++; /* "+44 (0)20 ..." trunk prefix */
    if (rest && strlen(rest) == 10 && strchr("1235789", rest[0])) {
        *valid = 1;
        char *o = malloc(14);
        memcpy(o, "+44", 3);
        memcpy(o + 3, rest, 11); /* 10 digits + NUL */
        free(t);
        return o;
    }
    *valid = 0;
    return t;
}

static int postcode_ok(const char *p)
{
    if (!strcmp(p, "GIR 0AA")) return 1;
    const char *sp = strchr(p, ' ');
    if (!sp) return 0;
    size_t ol = (size_t)(sp - p);
    const char *in = sp + 1;
    if (strlen(in) != 3 || !isdigit((unsigned char)in[0]) || !isalpha((unsigned char)in[1]) || !isalpha((unsigned char)in[2]))
        return 0;
    /* outward: A9, A9A, A99, AA9, AA9A, AA99 */
    if (ol < 2 || ol > 4 || !isalpha((unsigned char)p[0])) return 0;
    size_t i = 1;
    if (isalpha((unsigned char)p[i])) i++;
    if (i >= ol || !isdigit((unsigned char)p[i])) return 0;
    i++;
    if (i < ol) { if (!isalnum((unsigned char)p[i])) return 0; i++; }
    return i == ol;
}

static char *clean_postcode(const char *s, int *valid)
{
    char *t = trim_dup(s);
    char c[32];
    size_t n = 0;
    for (size_t i = 0; t[i]; i++) {
        if (isspace((unsigned char)t[i])) continue;
        if (n < sizeof c - 1) c[n++] = (char)toupper((unsigned char)t[i]);
        else { n = 99; break; }
    }
    if (n >= 5 && n <= 7) {
        char *o = malloc(n + 2);
        memcpy(o, c, n - 3);
        o[n - 3] = ' ';
        memcpy(o + n - 2, c + n - 3, 3);
        o[n + 1] = 0;
        free(t);
        *valid = postcode_ok(o);
        return o;
    }
    for (char *p = t; *p; p++) *p = (char)toupper((unsigned char)*p);
    *valid = 0;
    return t;
}

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* MatchAccounts: the Accounts records by account_id */
struct account_ref { char *key; long idx; json_t *name; };
struct accounts { struct account_ref *v; long n; };

/* a value's lookup key: numbers by value (1 and 1.0 match), strings by text;
 * NULL (no match) for anything else */
static char *match_key(json_t *v)
{
    char buf[64], *out;
    if (json_is_number(v)) { snprintf(buf, sizeof buf, "n:%.17g", json_number_value(v)); return strdup(buf); }
    if (!json_is_string(v)) return NULL;
    out = malloc(json_string_length(v) + 3);
    memcpy(out, "s:", 2);
    memcpy(out + 2, json_string_value(v), json_string_length(v) + 1);
    return out;
}

static int ref_cmp(const void *x, const void *y)
{
    const struct account_ref *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static void accounts_load(const struct dataset *d, struct accounts *acc)
{
    acc->v = NULL; acc->n = 0;
    if (!d) return;
    acc->v = malloc(sizeof *acc->v * (size_t)(d->record_count + 1));
    long idx = 0;
    for (int bi = 0; bi < d->nblocks; bi++) {
        const struct block *b = &d->blocks[bi];
        for (int k = 0; k < b->n; k++, idx++) {
            json_t *rec = json_loadb(b->data + b->off[k], b->off[k + 1] - b->off[k], JSON_DECODE_INT_AS_REAL, NULL);
            char *key = rec ? match_key(json_object_get(rec, "account_id")) : NULL;
            if (key) {
                acc->v[acc->n].key = key;
                acc->v[acc->n].idx = idx;
                acc->v[acc->n].name = json_incref(json_object_get(rec, "account_name"));
                acc->n++;
            }
            json_decref(rec);
        }
    }
    qsort(acc->v, (size_t)acc->n, sizeof *acc->v, ref_cmp);
}

/* the account_name of the first Accounts record (in dataset order) with this id, or NULL */
static json_t *accounts_find(const struct accounts *acc, json_t *id)
{
    char *key = match_key(id);
    json_t *found = NULL;
    long lo = 0, hi = acc->n;
    if (!key) return NULL;
    while (lo < hi) { /* the first entry with the key: entries are sorted by (key, idx) */
        long mid = (lo + hi) / 2;
        if (strcmp(acc->v[mid].key, key) < 0) lo = mid + 1; else hi = mid;
    }
    if (lo < acc->n && strcmp(acc->v[lo].key, key) == 0) found = acc->v[lo].name;
    free(key);
    return found;
}

static void accounts_free(struct accounts *acc)
{
    for (long i = 0; i < acc->n; i++) { free(acc->v[i].key); json_decref(acc->v[i].name); }
    free(acc->v);
}

/* transform one parsed record in place (values replaced/added in rec) */
static void transform(const struct workflow *w, const struct dataset *in, const struct accounts *acc, json_t *rec)
{
    if (strcmp(w->name, "MatchAccounts") == 0) {
        json_t *name = accounts_find(acc, json_object_get(rec, "account_id"));
        json_object_set_new(rec, "account_name", json_is_string(name) ? json_incref(name) : json_null());
        return;
    }
    if (strcmp(w->name, "CleanseContacts") == 0) {
        json_t *v;
        if (has_string_col(in, "name") && json_is_string(v = json_object_get(rec, "name"))) {
            char *o = clean_name(json_string_value(v));
            json_object_set_new(rec, "name", json_string(o));
            free(o);
        }
        static const char *src[3] = { "email", "phone", "postcode" };
        static const char *flag[3] = { "email_valid", "phone_valid", "postcode_valid" };
        for (int i = 0; i < 3; i++) {
            if (!has_string_col(in, src[i])) continue;
            v = json_object_get(rec, src[i]);
            if (!json_is_string(v)) { json_object_set_new(rec, flag[i], json_null()); continue; }
            int ok = 0;
            char *o = i == 0 ? clean_email(json_string_value(v), &ok)
                    : i == 1 ? clean_phone(json_string_value(v), &ok)
                             : clean_postcode(json_string_value(v), &ok);
            json_object_set_new(rec, src[i], json_string(o));
            json_object_set_new(rec, flag[i], json_boolean(ok));
            free(o);
        }
    } else if (strcmp(w->name, "ContactDeceasedCheck") == 0) {
        json_t *v = json_object_get(rec, "name");
        if (json_is_string(v)) {
            uint32_t h = fnv1a(json_string_value(v), json_string_length(v));
            json_object_set_new(rec, "deceased", json_boolean(h % 11 == 0));
            json_object_set_new(rec, "mover", json_boolean(h % 7 == 0));
        } else {
            json_object_set_new(rec, "deceased", json_null());
            json_object_set_new(rec, "mover", json_null());
        }
    }
}

void wf_run(const struct workflow *w, const struct dataset *in, const struct dataset *in2,
            const struct column *oc, int noc, struct block **blocks, int *nblocks, long *count)
{
    *blocks = NULL; *nblocks = 0; *count = 0;
    if (!w->out_key) return;
    int echo = strcmp(w->name, "Echo") == 0;
    struct accounts acc;
    accounts_load(in2, &acc);
    struct block *ob = calloc((size_t)in->nblocks + 1, sizeof *ob);
    for (int bi = 0; bi < in->nblocks; bi++) {
        const struct block *ib = &in->blocks[bi];
        struct block *b = &ob[bi];
        b->number = ib->number;
        b->n = ib->n;
        b->off = malloc(sizeof(size_t) * (size_t)(ib->n + 1));
        if (echo) {
            size_t len = ib->off[ib->n];
            b->data = malloc(len + 1);
            memcpy(b->data, ib->data, len + 1);
            memcpy(b->off, ib->off, sizeof(size_t) * (size_t)(ib->n + 1));
        } else {
            struct buf out = { 0 };
            int nic = in->ncols;
            const char **raw = malloc(sizeof(char *) * (size_t)nic);
            size_t *rawn = malloc(sizeof(size_t) * (size_t)nic);
            json_t **orig = malloc(sizeof(json_t *) * (size_t)nic);
            for (int k = 0; k < ib->n; k++) {
                b->off[k] = out.len;
                const char *rec_text = ib->data + ib->off[k];
                size_t rec_len = ib->off[k + 1] - ib->off[k];
                /* numbers as reals so any stored number parses; unchanged
                 * values are copied from the stored text, not re-serialised */
                json_t *rec = json_loadb(rec_text, rec_len, JSON_DECODE_INT_AS_REAL, NULL);
                if (!rec) rec = json_object();
                /* stored records hold every input column, in column order */
                struct jraw_it it;
                const char *kk;
                size_t kkn;
                int c = 0;
                jraw_open(&it, rec_text, rec_len);
                while (c < nic && jraw_member(&it, &kk, &kkn, &raw[c], &rawn[c])) c++;
                for (int i = 0; i < nic; i++) {
                    orig[i] = i < c ? json_incref(json_object_get(rec, in->cols[i].name)) : NULL;
                }
                transform(w, in, &acc, rec);
                buf_putc(&out, '{');
                for (c = 0; c < noc; c++) {
                    if (c) buf_putc(&out, ',');
                    buf_json_string(&out, oc[c].name, strlen(oc[c].name));
                    buf_putc(&out, ':');
                    json_t *v = json_object_get(rec, oc[c].name);
                    if (c < nic && v && v == orig[c]) buf_put(&out, raw[c], rawn[c]); /* unchanged */
                    else if (v) buf_json_value(&out, v);
                    else buf_put(&out, "null", 4);
                }
                buf_putc(&out, '}');
                for (int i = 0; i < nic; i++) json_decref(orig[i]);
                json_decref(rec);
            }
            free(raw);
            free(rawn);
            free(orig);
            b->off[ib->n] = out.len;
            b->data = out.p ? out.p : calloc(1, 1);
        }
        *count += b->n;
    }
    accounts_free(&acc);
    *blocks = ob;
    *nblocks = in->nblocks;
}
