/* apikey.c: /ApiKey routes (keys, allowed domains, IPs and services). */
#include "sim.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct slist { char **v; int n; };
struct apikey {
    char *key, *description, *username;
    int has_exp; int64_t exp_us;
    int has_max; json_int_t maxreq;
    int is_client;
    struct slist domains, ips, services;
};

static int sl_find(struct slist *l, const char *s)
{
    for (int i = 0; i < l->n; i++) if (strcmp(l->v[i], s) == 0) return i;
    return -1;
}
static void sl_add(struct slist *l, const char *s)
{
    if (sl_find(l, s) >= 0) return;
    l->v = realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
    l->v[l->n++] = strdup(s);
}
static int sl_del(struct slist *l, const char *s)
{
    int i = sl_find(l, s);
    if (i < 0) return 0;
    free(l->v[i]);
    memmove(l->v + i, l->v + i + 1, sizeof(char *) * (size_t)(l->n - i - 1));
    l->n--;
    return 1;
}
static json_t *sl_json(struct slist *l)
{
    json_t *a = json_array();
    for (int i = 0; i < l->n; i++) json_array_append_new(a, json_string(l->v[i]));
    return a;
}
static void sl_free(struct slist *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static json_t *key_json(struct apikey *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "key", json_string(k->key));
    json_object_set_new(o, "description", k->description ? json_string(k->description) : json_null());
    json_object_set_new(o, "username", k->username ? json_string(k->username) : json_null());
    json_object_set_new(o, "expiresOn", json_time_or_null(k->exp_us, k->has_exp));
    json_object_set_new(o, "maxRequestsPerIPPerDay", k->has_max ? json_integer(k->maxreq) : json_null());
    json_object_set_new(o, "isClientKey", json_boolean(k->is_client));
    json_object_set_new(o, "allowedDomains", sl_json(&k->domains));
    json_t *ips = sl_json(&k->ips);
    hostile_key_ips(k->key, ips);
    json_object_set_new(o, "allowedIPs", ips);
    json_object_set_new(o, "allowedServices", sl_json(&k->services));
    return o;
}

static int valid_token_chars(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n < 1 || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i])) return 0;
    return 1;
}

static int valid_domain(const char *d)
{
    if (strncmp(d, "*.", 2) == 0) d += 2;
    size_t n = strlen(d);
    if (n < 1 || n > 253) return 0;
    const char *p = d;
    while (1) {
        const char *e = strchr(p, '.');
        size_t L = e ? (size_t)(e - p) : strlen(p);
        if (L < 1 || L > 63 || p[0] == '-' || p[L - 1] == '-') return 0;
        for (size_t i = 0; i < L; i++)
            if (!isalnum((unsigned char)p[i]) && p[i] != '-') return 0;
        if (!e) break;
        p = e + 1;
    }
    return 1;
}

/* canonical "network/prefix"; net may itself hold "/prefix" when prefix==NULL */
static int canon_ip(const char *net, const char *prefix, char out[80], const char **why)
{
    char addr[64];
    const char *slash = strchr(net, '/');
    if (slash && prefix) { *why = "The network must not contain a prefix here."; return 0; }
    size_t an = slash ? (size_t)(slash - net) : strlen(net);
    if (an == 0 || an >= sizeof addr) { *why = "Invalid IP address."; return 0; }
    memcpy(addr, net, an);
    addr[an] = 0;
    unsigned char b[16];
    int v6 = strchr(addr, ':') != NULL, len = v6 ? 16 : 4;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, b) != 1) { *why = "Invalid IP address."; return 0; }
    const char *ps = prefix ? prefix : slash ? slash + 1 : NULL;
    long pfx = len * 8;
    if (ps) {
        char *e;
        if (!*ps || !isdigit((unsigned char)ps[0])) { *why = "The prefix must be an integer."; return 0; }
        pfx = strtol(ps, &e, 10);
        if (*e) { *why = "The prefix must be an integer."; return 0; }
        if (pfx < 0 || pfx > len * 8) { *why = "The prefix is out of range for the address family."; return 0; }
    }
    for (int bit = (int)pfx; bit < len * 8; bit++)
        if (b[bit / 8] & (0x80 >> (bit % 8))) { *why = "The network address has host bits set."; return 0; }
    char txt[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, b, txt, sizeof txt);
    snprintf(out, 80, "%s/%ld", txt, pfx);
    return 1;
}

static struct apikey *key_find(struct account *a, const char *k, int *idx)
{
    for (int i = 0; i < a->nkeys; i++)
        if (strcmp(a->keys[i]->key, k) == 0) { if (idx) *idx = i; return a->keys[i]; }
    return NULL;
}

static void key_free(struct apikey *k)
{
    free(k->key); free(k->description); free(k->username);
    sl_free(&k->domains); sl_free(&k->ips); sl_free(&k->services);
    free(k);
}

/* validate the scalar fields of a POST/PUT body into k (present fields only) */
static void key_fields(json_t *b, struct apikey *k, json_t *errs)
{
    json_t *v;
    if ((v = json_object_get(b, "description"))) {
        if (json_is_string(v)) { free(k->description); k->description = strdup(json_string_value(v)); }
        else if (json_is_null(v)) { free(k->description); k->description = NULL; }
        else verr_add(errs, "description", "The description must be a string or null.");
    }
    if ((v = json_object_get(b, "username"))) {
        if (json_is_string(v)) { free(k->username); k->username = strdup(json_string_value(v)); }
        else if (json_is_null(v)) { free(k->username); k->username = NULL; }
        else verr_add(errs, "username", "The username must be a string or null.");
    }
    if ((v = json_object_get(b, "expiresOn"))) {
        int64_t us;
        if (json_is_null(v)) k->has_exp = 0;
        else if (json_is_string(v) && parse_iso_time(json_string_value(v), 1, &us, NULL)) { k->has_exp = 1; k->exp_us = us; }
        else verr_add(errs, "expiresOn", "The expiresOn value must be an ISO 8601 date-time or null.");
    }
    if ((v = json_object_get(b, "maxRequestsPerIPPerDay"))) {
        if (json_is_null(v)) k->has_max = 0;
        else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 2147483647) {
            k->has_max = 1; k->maxreq = json_integer_value(v);
        } else verr_add(errs, "maxRequestsPerIPPerDay", "The value must be a non-negative integer or null.");
    }
    if ((v = json_object_get(b, "isClientKey"))) {
        if (json_is_boolean(v)) k->is_client = json_is_true(v);
        else if (json_is_null(v)) k->is_client = 0;
        else verr_add(errs, "isClientKey", "The value must be a boolean.");
    }
}

static void list_route(struct req *r, struct account *a, struct apikey *k)
{
    const char *what = r->segs[2];
    struct slist *l;
    int kind;
    if (!strcasecmp(what, "allowedDomains")) { l = &k->domains; kind = 0; }
    else if (!strcasecmp(what, "allowedIPs")) { l = &k->ips; kind = 1; }
    else if (!strcasecmp(what, "allowedServices")) { l = &k->services; kind = 2; }
    else { reply_problem(r, 404, "No such route."); return; }
    (void)a;
    if (r->nseg == 3) {
        if (is_method(r, "GET")) {
            json_t *items = sl_json(l);
            if (kind == 1) hostile_key_ips(k->key, items);
            reply_json(r, 200, items);
            return;
        }
        if (kind == 1 && is_method(r, "POST")) {
            json_t *b = r->json;
            char c[80]; const char *why = "The body must be a JSON string holding an IP network.";
            if (!json_is_string(b) || !canon_ip(json_string_value(b), NULL, c, &why)) {
                json_t *e = json_object();
                verr_add(e, "network", why);
                reply_validation(r, e, NULL);
                return;
            }
            sl_add(l, c);
            set_location(r, "/ApiKey/%s/allowedIPs/%s", k->key, c);
            reply_json(r, 201, json_string(c));
            return;
        }
        reply_405(r, kind == 1 ? "GET, POST" : "GET");
        return;
    }
    if (r->nseg > 5 || (r->nseg == 5 && kind != 1)) { reply_problem(r, 404, "No such route."); return; }
    int put = is_method(r, "PUT"), del = is_method(r, "DELETE");
    if (!put && !del) { reply_405(r, "PUT, DELETE"); return; }
    char item[300];
    const char *why = NULL, *field = kind == 0 ? "domain" : kind == 1 ? "network" : "service";
    if (kind == 0) {
        snprintf(item, sizeof item, "%s", r->segs[3]);
        for (char *p = item; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (!valid_domain(item)) why = "The domain must be a host name, optionally starting with *.";
    } else if (kind == 1) {
        if (!canon_ip(r->segs[3], r->nseg == 5 ? r->segs[4] : NULL, item, &why) && why &&
            strstr(why, "prefix") && !strstr(why, "contain"))
            field = "prefix";
    } else {
        snprintf(item, sizeof item, "%s", r->segs[3]);
        if (!valid_token_chars(item, 100, "_.-")) why = "The service must be 1-100 characters of A-Z a-z 0-9 _ . -";
    }
    if (why) {
        json_t *e = json_object();
        verr_add(e, field, why);
        reply_validation(r, e, NULL);
        return;
    }
    if (put) { sl_add(l, item); reply_empty(r, 204); return; }
    if (!sl_del(l, item)) { reply_problem(r, 404, "The entry is not in the list."); return; }
    reply_empty(r, 204);
}

static void handle_locked(struct req *r, struct account *a)
{
    if (r->nseg == 1) {
        if (is_method(r, "GET")) {
            json_t *arr = json_array();
            for (int i = 0; i < a->nkeys; i++) json_array_append_new(arr, key_json(a->keys[i]));
            reply_json(r, 200, arr);
            return;
        }
        /* POST */
        json_t *b = r->json, *errs = json_object(), *v;
        struct apikey *k = calloc(1, sizeof *k);
        if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
        else {
            v = json_object_get(b, "key");
            if (v && !json_is_null(v)) {
                if (!json_is_string(v) || !valid_token_chars(json_string_value(v), 100, "_-"))
                    verr_add(errs, "key", "The key must be 1-100 characters of A-Z a-z 0-9 _ -");
                else k->key = strdup(json_string_value(v));
            }
            key_fields(b, k, errs);
        }
        if (json_object_size(errs)) { key_free(k); reply_validation(r, errs, NULL); return; }
        json_decref(errs);
        if (!k->key) {
            char h[33];
            do rng_hex(h, 32); while (key_find(a, h, NULL));
            k->key = strdup(h);
        } else if (key_find(a, k->key, NULL)) {
            key_free(k);
            reply_problem(r, 409, "An API key with this value already exists.");
            return;
        }
        a->keys = realloc(a->keys, sizeof *a->keys * (size_t)(a->nkeys + 1));
        a->keys[a->nkeys++] = k;
        set_location(r, "/ApiKey/%s", k->key);
        reply_json(r, 201, key_json(k));
        return;
    }
    int idx;
    struct apikey *k = key_find(a, r->segs[1], &idx);
    if (r->nseg == 2) {
        int get = is_method(r, "GET"), put = is_method(r, "PUT"), del = is_method(r, "DELETE");
        if (!get && !put && !del) { reply_405(r, "GET, PUT, DELETE"); return; }
        if (!k) { reply_problem(r, 404, "No such API key."); return; }
        if (get) { reply_json(r, 200, key_json(k)); return; }
        if (del) {
            key_free(k);
            memmove(a->keys + idx, a->keys + idx + 1, sizeof *a->keys * (size_t)(a->nkeys - idx - 1));
            a->nkeys--;
            reply_empty(r, 204);
            return;
        }
        json_t *b = r->json, *errs = json_object(), *v;
        if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
        else {
            v = json_object_get(b, "key");
            if (v && !json_is_null(v) && (!json_is_string(v) || strcmp(json_string_value(v), k->key) != 0))
                verr_add(errs, "key", "The key in the body must be absent or equal to the key in the URL.");
        }
        if (json_object_size(errs)) { reply_validation(r, errs, NULL); return; }
        /* validate into a scratch copy so that a 400 changes nothing; with
         * --put-replaces the body is the whole key: what it leaves out is
         * cleared (the lists are not part of the body and stay) */
        struct apikey tmp = *k;
        tmp.description = k->description && !g_opts.put_replaces ? strdup(k->description) : NULL;
        tmp.username = k->username && !g_opts.put_replaces ? strdup(k->username) : NULL;
        if (g_opts.put_replaces) { tmp.has_exp = 0; tmp.has_max = 0; tmp.is_client = 0; }
        key_fields(b, &tmp, errs);
        if (json_object_size(errs)) {
            free(tmp.description); free(tmp.username);
            reply_validation(r, errs, NULL);
            return;
        }
        json_decref(errs);
        free(k->description); free(k->username);
        *k = tmp;
        reply_empty(r, 204);
        return;
    }
    if (!k) {
        /* still distinguish a wrong method / unknown sub-route */
        if (strcasecmp(r->segs[2], "allowedDomains") && strcasecmp(r->segs[2], "allowedIPs") &&
            strcasecmp(r->segs[2], "allowedServices")) { reply_problem(r, 404, "No such route."); return; }
        reply_problem(r, 404, "No such API key.");
        return;
    }
    list_route(r, a, k);
}

void handle_apikey(struct req *r)
{
    if (r->nseg > 5) { reply_problem(r, 404, "No such route."); return; }
    /* parse JSON bodies before taking the lock */
    int wants_body = (r->nseg == 1 && is_method(r, "POST")) || (r->nseg == 2 && is_method(r, "PUT")) ||
                     (r->nseg == 3 && is_method(r, "POST") && !strcasecmp(r->segs[2], "allowedIPs"));
    if (r->nseg == 1 && !is_method(r, "GET") && !is_method(r, "POST")) { reply_405(r, "GET, POST"); return; }
    if (wants_body && !body_json(r, 1)) return;
    struct account *a = r->acct;
    pthread_mutex_lock(&a->mu);
    handle_locked(r, a);
    pthread_mutex_unlock(&a->mu);
}
