/* clientcred.c: /ClientCredential routes and their secrets. */
#include "sim.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct secret { int id; int has_exp; int64_t exp_us; char *description; char value[41]; };
struct credential { char *client_id, *description; struct secret *sec; int nsec, next_id; };

static json_t *secret_json(struct secret *s)
{
    return json_pack("{s:i,s:o,s:o}", "clientSecretId", s->id, "expires", json_time_or_null(s->exp_us, s->has_exp),
                     "description", s->description ? json_string(s->description) : json_null());
}

static json_t *cred_json(struct credential *c, int with_secrets)
{
    json_t *secs = json_null();
    if (with_secrets) {
        secs = json_array();
        for (int i = 0; i < c->nsec; i++) json_array_append_new(secs, secret_json(&c->sec[i]));
    }
    return json_pack("{s:s,s:o,s:o}", "clientId", c->client_id, "description",
                     c->description ? json_string(c->description) : json_null(), "secrets", secs);
}

static struct credential *cred_find(struct account *a, const char *id, int *idx)
{
    for (int i = 0; i < a->ncreds; i++)
        if (strcmp(a->creds[i]->client_id, id) == 0) { if (idx) *idx = i; return a->creds[i]; }
    return NULL;
}

struct account *cred_authenticate(const char *id, const char *secret)
{
    int64_t now = now_us();
    for (int i = 0; i < g_naccounts; i++) {
        struct account *a = g_accounts[i], *found = NULL;
        pthread_mutex_lock(&a->mu);
        struct credential *c = cred_find(a, id, NULL);
        if (c)
            for (int k = 0; k < c->nsec; k++)
                if (strcmp(c->sec[k].value, secret) == 0 && (!c->sec[k].has_exp || c->sec[k].exp_us > now))
                    found = a;
        pthread_mutex_unlock(&a->mu);
        if (c) return found;
    }
    return NULL;
}

static void str_field(json_t *b, const char *f, char **dst, json_t *errs)
{
    json_t *v = json_object_get(b, f);
    if (!v) return;
    char msg[80];
    if (json_is_string(v)) { free(*dst); *dst = strdup(json_string_value(v)); }
    else if (json_is_null(v)) { free(*dst); *dst = NULL; }
    else { snprintf(msg, sizeof msg, "The %s must be a string or null.", f); verr_add(errs, f, msg); }
}

/* secret fields: expires + description into s; returns nothing, errors into errs */
static void secret_fields(json_t *b, struct secret *s, json_t *errs)
{
    json_t *v = json_object_get(b, "expires");
    if (v) {
        int64_t us;
        if (json_is_null(v)) s->has_exp = 0;
        else if (!json_is_string(v) || !parse_iso_time(json_string_value(v), 1, &us, NULL))
            verr_add(errs, "expires", "The expires value must be an ISO 8601 date-time or null.");
        else if (us <= now_us()) verr_add(errs, "expires", "The expiry must be in the future.");
        else { s->has_exp = 1; s->exp_us = us; }
    }
    str_field(b, "description", &s->description, errs);
}

static void secrets_route(struct req *r, struct account *a, struct credential *c)
{
    (void)a;
    if (r->nseg == 3) {
        if (is_method(r, "GET")) {
            json_t *arr = json_array();
            for (int i = 0; i < c->nsec; i++) json_array_append_new(arr, secret_json(&c->sec[i]));
            reply_json(r, 200, arr);
            return;
        }
        json_t *b = r->json, *errs = json_object(), *v;
        struct secret s = { 0 };
        if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
        else {
            v = json_object_get(b, "clientSecretId");
            if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0))
                verr_add(errs, "clientSecretId", "The clientSecretId is generated and must not be supplied.");
            secret_fields(b, &s, errs);
        }
        if (json_object_size(errs)) { free(s.description); reply_validation(r, errs, NULL); return; }
        json_decref(errs);
        s.id = ++c->next_id;
        rng_alnum(s.value, 40);
        c->sec = realloc(c->sec, sizeof *c->sec * (size_t)(c->nsec + 1));
        c->sec[c->nsec++] = s;
        json_t *o = secret_json(&s);
        json_object_set_new(o, "generatedSecret", json_string(s.value));
        set_location(r, "/ClientCredential/%s/secrets/%d", c->client_id, s.id);
        reply_json(r, 201, o);
        return;
    }
    char *e;
    long id = strtol(r->segs[3], &e, 10);
    if (!r->segs[3][0] || *e || id < 0 || id > 2147483647) {
        json_t *errs = json_object();
        verr_add(errs, "secretId", "The secret id must be an integer.");
        reply_validation(r, errs, NULL);
        return;
    }
    int idx = -1;
    for (int i = 0; i < c->nsec; i++) if (c->sec[i].id == id) idx = i;
    if (idx < 0) { reply_problem(r, 404, "No such client secret."); return; }
    struct secret *s = &c->sec[idx];
    if (is_method(r, "GET")) { reply_json(r, 200, secret_json(s)); return; }
    if (is_method(r, "DELETE")) {
        free(s->description);
        memmove(c->sec + idx, c->sec + idx + 1, sizeof *c->sec * (size_t)(c->nsec - idx - 1));
        c->nsec--;
        reply_empty(r, 204);
        return;
    }
    json_t *b = r->json, *errs = json_object(), *v;
    struct secret t = *s;
    /* --put-replaces: the body is the whole secret, absent fields are cleared */
    t.description = s->description && !g_opts.put_replaces ? strdup(s->description) : NULL;
    if (g_opts.put_replaces) t.has_exp = 0;
    if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
    else {
        v = json_object_get(b, "clientSecretId");
        if (v && !json_is_null(v) && !(json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == id)))
            verr_add(errs, "clientSecretId", "The clientSecretId must be absent or equal to the id in the URL.");
        secret_fields(b, &t, errs);
    }
    if (json_object_size(errs)) { free(t.description); reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    free(s->description);
    *s = t;
    reply_empty(r, 204);
}

static void handle_locked(struct req *r, struct account *a)
{
    if (r->nseg == 1) {
        if (is_method(r, "GET")) {
            json_t *arr = json_array();
            for (int i = 0; i < a->ncreds; i++) json_array_append_new(arr, cred_json(a->creds[i], 0));
            reply_json(r, 200, arr);
            return;
        }
        json_t *b = r->json, *errs = json_object(), *v;
        char *desc = NULL;
        if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
        else {
            v = json_object_get(b, "clientId");
            if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
                verr_add(errs, "clientId", "The clientId is generated and must not be supplied.");
            v = json_object_get(b, "secrets");
            if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
                verr_add(errs, "secrets", "Secrets must not be supplied; create them with POST /ClientCredential/{id}/secrets.");
            str_field(b, "description", &desc, errs);
        }
        if (json_object_size(errs)) { free(desc); reply_validation(r, errs, NULL); return; }
        json_decref(errs);
        struct credential *c = calloc(1, sizeof *c);
        char id[25];
        rng_hex(id, 24);
        c->client_id = strdup(id);
        c->description = desc;
        a->creds = realloc(a->creds, sizeof *a->creds * (size_t)(a->ncreds + 1));
        a->creds[a->ncreds++] = c;
        set_location(r, "/ClientCredential/%s", c->client_id);
        reply_json(r, 201, cred_json(c, 1));
        return;
    }
    int idx;
    struct credential *c = cred_find(a, r->segs[1], &idx);
    if (r->nseg == 2) {
        if (!c) { reply_problem(r, 404, "No such client credential."); return; }
        if (is_method(r, "GET")) { reply_json(r, 200, cred_json(c, 1)); return; }
        if (is_method(r, "DELETE")) {
            for (int i = 0; i < c->nsec; i++) free(c->sec[i].description);
            free(c->sec); free(c->client_id); free(c->description); free(c);
            memmove(a->creds + idx, a->creds + idx + 1, sizeof *a->creds * (size_t)(a->ncreds - idx - 1));
            a->ncreds--;
            reply_empty(r, 204);
            return;
        }
        json_t *b = r->json, *errs = json_object(), *v;
        /* --put-replaces: an absent description is cleared */
        char *desc = c->description && !g_opts.put_replaces ? strdup(c->description) : NULL;
        if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
        else {
            v = json_object_get(b, "clientId");
            if (v && !json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), c->client_id) == 0))
                verr_add(errs, "clientId", "The clientId must be absent or equal to the id in the URL.");
            str_field(b, "description", &desc, errs);
        }
        if (json_object_size(errs)) { free(desc); reply_validation(r, errs, NULL); return; }
        json_decref(errs);
        free(c->description);
        c->description = desc;
        reply_empty(r, 204);
        return;
    }
    if (!c) { reply_problem(r, 404, "No such client credential."); return; }
    secrets_route(r, a, c);
}

void handle_clientcred(struct req *r)
{
    const char *allow = NULL;
    int n = r->nseg;
    if (n > 4 || (n >= 3 && strcasecmp(r->segs[2], "secrets") != 0)) { reply_problem(r, 404, "No such route."); return; }
    if (n == 1 && !is_method(r, "GET") && !is_method(r, "POST")) allow = "GET, POST";
    if ((n == 2 || n == 4) && !is_method(r, "GET") && !is_method(r, "PUT") && !is_method(r, "DELETE"))
        allow = "GET, PUT, DELETE";
    if (n == 3 && !is_method(r, "GET") && !is_method(r, "POST")) allow = "GET, POST";
    if (allow) { reply_405(r, allow); return; }
    int wants = ((n == 1 || n == 3) && is_method(r, "POST")) || ((n == 2 || n == 4) && is_method(r, "PUT"));
    if (wants && !body_json(r, n != 3)) return;
    pthread_mutex_lock(&r->acct->mu);
    handle_locked(r, r->acct);
    pthread_mutex_unlock(&r->acct->mu);
}
