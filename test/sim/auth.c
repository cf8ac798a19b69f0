/* auth.c: accounts, OAuth2 client-credentials token endpoint, bearer tokens. */
#include "sim.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct account **g_accounts;
int g_naccounts;

void accounts_init_add(const char *spec)
{
    const char *c = strchr(spec, ':');
    if (!c || c == spec || !c[1]) {
        fprintf(stderr, "data8-sim: --account needs CLIENT_ID:SECRET\n");
        exit(2);
    }
    struct account *a = calloc(1, sizeof *a);
    a->client_id = strndup(spec, (size_t)(c - spec));
    a->secret = strdup(c + 1);
    pthread_mutex_init(&a->mu, NULL);
    g_accounts = realloc(g_accounts, sizeof *g_accounts * (size_t)(g_naccounts + 1));
    g_accounts[g_naccounts++] = a;
}

/* ---------- token log (test-only) ----------
 * --token-log FILE: every access token issued is appended, one per line, so a
 * test runner can search other logs for leaked tokens. Created mode 0644. */
static FILE *g_token_log;
static pthread_mutex_t g_token_log_mu = PTHREAD_MUTEX_INITIALIZER;

int token_log_open(void)
{
    const char *p = g_opts.token_log_path;
    if (!p) return 0;
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) fchmod(fd, 0644); /* created here: 0644 whatever the umask */
    else if (errno == EEXIST) fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || !(g_token_log = fdopen(fd, "a"))) {
        fprintf(stderr, "data8-sim: cannot open --token-log %s\n", p);
        if (fd >= 0) close(fd);
        return -1;
    }
    return 0;
}

static void token_log_write(const char *tok)
{
    if (!g_token_log) return;
    pthread_mutex_lock(&g_token_log_mu);
    fprintf(g_token_log, "%s\n", tok);
    fflush(g_token_log);
    pthread_mutex_unlock(&g_token_log_mu);
}

/* ---------- token table ---------- */
#define TOK_BUCKETS 4096
struct token { char tok[49]; struct account *acct; int64_t expires_us; struct token *next; };
static struct token *g_tok[TOK_BUCKETS];
static pthread_rwlock_t g_tok_mu = PTHREAD_RWLOCK_INITIALIZER;

static unsigned tok_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % TOK_BUCKETS;
}

static void token_issue(struct account *a, char out[49])
{
    struct token *t = calloc(1, sizeof *t);
    rng_hex(t->tok, 48);
    t->acct = a;
    t->expires_us = now_us() + (int64_t)g_opts.token_lifetime * 1000000;
    unsigned h = tok_hash(t->tok);
    pthread_rwlock_wrlock(&g_tok_mu);
    /* prune expired tokens of this bucket */
    int64_t now = now_us();
    struct token **pp = &g_tok[h];
    while (*pp) {
        if ((*pp)->expires_us <= now) { struct token *d = *pp; *pp = d->next; free(d); }
        else pp = &(*pp)->next;
    }
    t->next = g_tok[h];
    g_tok[h] = t;
    pthread_rwlock_unlock(&g_tok_mu);
    memcpy(out, t->tok, 49);
    token_log_write(out); /* before the client can see it */
}

struct account *auth_bearer(const char *authz)
{
    if (!authz) return NULL;
    while (*authz == ' ') authz++;
    if (strncasecmp(authz, "Bearer ", 7) != 0) return NULL;
    const char *t = authz + 7;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    while (n && t[n - 1] == ' ') n--;
    if (n != 48) return NULL;
    char tok[49];
    memcpy(tok, t, 48);
    tok[48] = 0;
    struct account *a = NULL;
    int64_t now = now_us();
    pthread_rwlock_rdlock(&g_tok_mu);
    for (struct token *p = g_tok[tok_hash(tok)]; p; p = p->next)
        if (strcmp(p->tok, tok) == 0) { if (p->expires_us > now) a = p->acct; break; }
    pthread_rwlock_unlock(&g_tok_mu);
    return a;
}

/* ---------- /connect/token ---------- */
static int b64v(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static char *b64dec(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    size_t j = 0;
    unsigned acc = 0; int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' || s[i] == ' ') continue;
        int v = b64v(s[i]);
        if (v < 0) { free(o); return NULL; }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; o[j++] = (char)((acc >> bits) & 0xff); }
    }
    o[j] = 0;
    if (memchr(o, 0, j)) { free(o); return NULL; }
    return o;
}

static void token_error(struct req *r, int status, const char *err, const char *desc)
{
    json_t *j = json_pack("{s:s,s:s}", "error", err, "error_description", desc);
    reply_json(r, status, j);
    r->resp_ctype = "application/json; charset=utf-8";
}

static struct account *authenticate(const char *id, const char *secret)
{
    for (int i = 0; i < g_naccounts; i++)
        if (strcmp(g_accounts[i]->client_id, id) == 0)
            return strcmp(g_accounts[i]->secret, secret) == 0 ? g_accounts[i] : NULL;
    return cred_authenticate(id, secret);
}

void handle_token(struct req *r)
{
    if (!is_method(r, "POST")) { reply_405(r, "POST"); return; }
    const char *ct = r->content_type;
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        token_error(r, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
        return;
    }
    /* parse the form */
    char *grant = NULL, *cid = NULL, *csec = NULL, *scope = NULL;
    const char *p = r->body ? r->body : "";
    while (*p) {
        const char *e = strchr(p, '&');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            char *k = pct_decode(p, (size_t)(eq - p), 1);
            char *v = pct_decode(eq + 1, n - (size_t)(eq - p) - 1, 1);
            char **dst = !strcmp(k, "grant_type") ? &grant : !strcmp(k, "client_id") ? &cid
                       : !strcmp(k, "client_secret") ? &csec : !strcmp(k, "scope") ? &scope : NULL;
            if (dst) { free(*dst); *dst = v; } else free(v);
            free(k);
        }
        if (!e) break;
        p = e + 1;
    }
    /* HTTP Basic client authentication */
    if (r->authorization && strncasecmp(r->authorization, "Basic ", 6) == 0) {
        char *dec = b64dec(r->authorization + 6);
        char *colon = dec ? strchr(dec, ':') : NULL;
        if (colon) {
            *colon = 0;
            free(cid); free(csec);
            cid = pct_decode(dec, strlen(dec), 1);
            csec = pct_decode(colon + 1, strlen(colon + 1), 1);
        }
        free(dec);
    }
    struct account *a = (cid && csec) ? authenticate(cid, csec) : NULL;
    if (!a) token_error(r, 401, "invalid_client", "client authentication failed");
    else if (!grant || !*grant) token_error(r, 400, "invalid_request", "grant_type is required");
    else if (strcmp(grant, "client_credentials") != 0)
        token_error(r, 400, "unsupported_grant_type", "only client_credentials is supported");
    else if (scope && *scope && strcmp(scope, "BatchApi") != 0)
        token_error(r, 400, "invalid_scope", "the only scope is BatchApi");
    else {
        char tok[49];
        token_issue(a, tok);
        r->acct_name = a->client_id;
        reply_json(r, 200, json_pack("{s:s,s:s,s:i,s:s}", "access_token", tok, "token_type", "Bearer",
                                     "expires_in", g_opts.token_lifetime, "scope", "BatchApi"));
    }
    if (!a && cid) {
        /* log the client id of a failed attempt only when it is a known account name */
        for (int i = 0; i < g_naccounts; i++)
            if (strcmp(g_accounts[i]->client_id, cid) == 0) r->acct_name = g_accounts[i]->client_id;
    }
    free(grant); free(cid); free(csec); free(scope);
}
