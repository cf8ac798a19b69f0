/* util.c: PRNG, time formatting/parsing, name rules, buffers, JSON output. */
#include "sim.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 1;
static pthread_mutex_t rng_mu = PTHREAD_MUTEX_INITIALIZER;

void rng_seed(uint64_t s) { rng_state = s ? s : 0x9e3779b97f4a7c15ULL; }

uint64_t rng_next(void)
{
    pthread_mutex_lock(&rng_mu);
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
    pthread_mutex_unlock(&rng_mu);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_hex(char *out, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[i] = hx[rng_next() & 15];
    out[n] = 0;
}

void rng_alnum(char *out, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++) out[i] = al[rng_next() % 62];
    out[n] = 0;
}

int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

void sleep_ms(long ms)
{
    if (ms <= 0) return;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {}
}

void fmt_time(int64_t us, char out[40])
{
    time_t s = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    long frac = (long)(us - (int64_t)s * 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld0Z", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    snprintf(out, 40, "%.39s", tmp);
}

json_t *json_time_or_null(int64_t us, int has)
{
    if (!has) return json_null();
    char b[40];
    fmt_time(us, b);
    return json_string(b);
}

static int dig(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

/* days from civil (Howard Hinnant) */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_date_part(const char *s, int *y, int *m, int *d)
{
    if (!dig(s, 4, y) || s[4] != '-' || !dig(s + 5, 2, m) || s[7] != '-' || !dig(s + 8, 2, d))
        return 0;
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m)) return 0;
    return 1;
}

int valid_date(const char *s)
{
    int y, m, d;
    return strlen(s) == 10 && parse_date_part(s, &y, &m, &d);
}

/* returns chars consumed of the time part "HH:MM:SS[.f]" (sec optional if !strict) */
static int parse_time_part(const char *s, int need_sec, int *hh, int *mi, int *ss, long *us)
{
    int p = 0;
    *ss = 0; *us = 0;
    if (!dig(s, 2, hh) || s[2] != ':' || !dig(s + 3, 2, mi)) return -1;
    p = 5;
    if (s[p] == ':') {
        if (!dig(s + p + 1, 2, ss)) return -1;
        p += 3;
        if (s[p] == '.') {
            int nd = 0; long f = 0;
            p++;
            while (isdigit((unsigned char)s[p])) {
                if (nd < 6) { f = f * 10 + (s[p] - '0'); }
                nd++; p++;
            }
            if (nd == 0 || nd > 9) return -1;
            for (int k = nd; k < 6; k++) f *= 10;
            *us = f;
        }
    } else if (need_sec) return -1;
    if (*hh > 23 || *mi > 59 || *ss > 59) return -1;
    return p;
}

int valid_datetime_z(const char *s)
{
    int y, m, d, hh, mi, ss; long us;
    if (strlen(s) < 20 || !parse_date_part(s, &y, &m, &d) || s[10] != 'T') return 0;
    int p = parse_time_part(s + 11, 1, &hh, &mi, &ss, &us);
    if (p < 0) return 0;
    return s[11 + p] == 'Z' && s[12 + p] == 0;
}

int parse_iso_time(const char *s, int allow_date, int64_t *out, int *date_only)
{
    int y, m, d, hh = 0, mi = 0, ss = 0; long us = 0;
    size_t L = strlen(s);
    if (date_only) *date_only = 0;
    if (L < 10 || !parse_date_part(s, &y, &m, &d)) return 0;
    int64_t base = days_from_civil(y, m, d) * 86400LL;
    if (L == 10) {
        if (!allow_date) return 0;
        if (date_only) *date_only = 1;
        *out = base * 1000000;
        return 1;
    }
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return 0;
    int p = parse_time_part(s + 11, 0, &hh, &mi, &ss, &us);
    if (p < 0) return 0;
    const char *z = s + 11 + p;
    long off = 0;
    if (*z == 'Z' || *z == 'z') {
        if (z[1]) return 0;
    } else if (*z == '+' || *z == '-') {
        int oh, om;
        if (!dig(z + 1, 2, &oh)) return 0;
        const char *q = z + 3;
        if (*q == ':') q++;
        if (!dig(q, 2, &om) || q[2] || oh > 23 || om > 59) return 0;
        off = (oh * 3600L + om * 60L) * (*z == '-' ? -1 : 1);
    } else if (*z) return 0;
    *out = (base + hh * 3600LL + mi * 60LL + ss - off) * 1000000LL + us;
    return 1;
}

int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100 || !(s[0] >= 'a' && s[0] <= 'z')) return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *pct_decode(const char *s, size_t n, int plus_space)
{
    char *o = malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            o[j++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else if (plus_space && s[i] == '+') o[j++] = ' ';
        else o[j++] = s[i];
    }
    o[j] = 0;
    return o;
}

/* ---------- buffers ---------- */
void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1) c *= 2;
        b->p = realloc(b->p, c);
        b->cap = c;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
void buf_puts(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }
void buf_putc(struct buf *b, char c)
{
    if (b->len + 2 <= b->cap) { b->p[b->len++] = c; b->p[b->len] = 0; return; }
    buf_put(b, &c, 1);
}

void buf_json_string(struct buf *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_put(b, s + run, i - run);
        run = i + 1;
        char e[7];
        switch (c) {
        case '"': buf_put(b, "\\\"", 2); break;
        case '\\': buf_put(b, "\\\\", 2); break;
        case '\n': buf_put(b, "\\n", 2); break;
        case '\r': buf_put(b, "\\r", 2); break;
        case '\t': buf_put(b, "\\t", 2); break;
        case '\b': buf_put(b, "\\b", 2); break;
        case '\f': buf_put(b, "\\f", 2); break;
        default:
            e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hx[c >> 4]; e[5] = hx[c & 15];
            buf_put(b, e, 6);
        }
    }
    buf_put(b, s + run, n - run);
    buf_putc(b, '"');
}

void buf_json_value(struct buf *b, json_t *v)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_NULL: buf_put(b, "null", 4); break;
    case JSON_TRUE: buf_put(b, "true", 4); break;
    case JSON_FALSE: buf_put(b, "false", 5); break;
    case JSON_INTEGER:
        buf_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
        break;
    case JSON_REAL: {
        double d = json_real_value(v);
        int n = snprintf(tmp, sizeof tmp, "%.15g", d);
        if (strtod(tmp, NULL) != d) n = snprintf(tmp, sizeof tmp, "%.17g", d);
        buf_put(b, tmp, (size_t)n);
        break;
    }
    case JSON_STRING: buf_json_string(b, json_string_value(v), json_string_length(v)); break;
    default: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) { buf_puts(b, s); free(s); }
    }
    }
}

/* ---------- per-thread arena for jansson ----------
 * While active on a thread, jansson allocations come from a bump arena and
 * frees of arena memory are no-ops; arena_end() releases everything at once.
 * Every json value made while active must be released before arena_end(). */
#define ARENA_CHUNK (4u << 20)
struct arena { char *chunk[64]; size_t size[64]; int n; size_t used; int active; };
static __thread struct arena ta;

static void *arena_malloc(size_t n)
{
    if (!ta.active) return malloc(n);
    n = (n + 15) & ~(size_t)15;
    if (ta.n == 0 || ta.used + n > ta.size[ta.n - 1]) {
        if (ta.n == 64) return malloc(n); /* freed by arena_free's range test failing */
        size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        ta.chunk[ta.n] = malloc(sz);
        ta.size[ta.n] = sz;
        ta.n++;
        ta.used = 0;
    }
    void *p = ta.chunk[ta.n - 1] + ta.used;
    ta.used += n;
    return p;
}

static void arena_free(void *p)
{
    if (!p) return;
    if (ta.active)
        for (int i = 0; i < ta.n; i++)
            if ((char *)p >= ta.chunk[i] && (char *)p < ta.chunk[i] + ta.size[i]) return;
    free(p);
}

void arena_install(void) { json_set_alloc_funcs(arena_malloc, arena_free); }

void arena_begin(void) { ta.active = 1; }

void arena_end(void)
{
    ta.active = 0;
    /* keep the first chunk for the next request */
    for (int i = 1; i < ta.n; i++) free(ta.chunk[i]);
    if (ta.n > 1) ta.n = 1;
    if (ta.n == 1 && ta.size[0] > ARENA_CHUNK) { free(ta.chunk[0]); ta.n = 0; }
    ta.used = 0;
}

/* ---------- raw JSON text ----------
 * These walk JSON text that jansson has already accepted, to find the exact
 * bytes of each value (numbers are kept exactly as the client wrote them).
 * They stay inside [p, e) even on malformed input (jraw_ws is in sim.h). */
/* p at a value: returns the first byte after it */
const char *jraw_skip(const char *p, const char *e)
{
    if (p >= e) return e;
    if (*p == '"') {
        for (p++; p < e; p++) {
            if (*p == '\\') p++;
            else if (*p == '"') return p + 1;
        }
        return e;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') { p = jraw_skip(p, e); continue; }
            if (*p == '{' || *p == '[') depth++;
            else if (*p == '}' || *p == ']') { if (--depth == 0) return p + 1; }
            p++;
        }
        return e;
    }
    while (p < e && !strchr(",]} \t\r\n", *p)) p++;
    return p;
}

void jraw_open(struct jraw_it *it, const char *v, size_t n)
{
    it->e = v + n;
    it->p = jraw_ws(v, it->e);
    it->ok = it->p < it->e && (*it->p == '{' || *it->p == '[');
    if (it->ok) it->p++;
    it->first = 1;
}

static int jraw_sep(struct jraw_it *it, char close)
{
    if (!it->ok) return 0;
    it->p = jraw_ws(it->p, it->e);
    if (it->p >= it->e || *it->p == close) { it->ok = 0; return 0; }
    if (!it->first) {
        if (*it->p != ',') { it->ok = 0; return 0; }
        it->p = jraw_ws(it->p + 1, it->e);
    }
    it->first = 0;
    return 1;
}

int jraw_member(struct jraw_it *it, const char **k, size_t *kn, const char **v, size_t *vn)
{
    if (!jraw_sep(it, '}') || *it->p != '"') { it->ok = 0; return 0; }
    const char *ke = jraw_skip(it->p, it->e);
    *k = it->p + 1;
    *kn = ke > *k ? (size_t)(ke - *k - 1) : 0;
    it->p = jraw_ws(ke, it->e);
    if (it->p >= it->e || *it->p != ':') { it->ok = 0; return 0; }
    it->p = jraw_ws(it->p + 1, it->e);
    *v = it->p;
    it->p = jraw_skip(it->p, it->e);
    *vn = (size_t)(it->p - *v);
    return 1;
}

int jraw_element(struct jraw_it *it, const char **v, size_t *vn)
{
    if (!jraw_sep(it, ']')) return 0;
    *v = it->p;
    it->p = jraw_skip(it->p, it->e);
    *vn = (size_t)(it->p - *v);
    return 1;
}

/* the key's text (inside the quotes) decoded into out (NUL-terminated,
 * truncated to cap-1 bytes); returns the decoded length */
size_t jraw_key(const char *k, size_t kn, char *out, size_t cap)
{
    if (!memchr(k, '\\', kn)) {
        size_t m = kn < cap - 1 ? kn : cap - 1;
        memcpy(out, k, m);
        out[m] = 0;
        return kn;
    }
    json_t *s = json_loadb(k - 1, kn + 2, JSON_DECODE_ANY, NULL);
    size_t L = json_is_string(s) ? json_string_length(s) : 0;
    size_t m = L < cap - 1 ? L : cap - 1;
    if (m) memcpy(out, json_string_value(s), m);
    out[m] = 0;
    if (s) json_decref(s);
    return L;
}

/* a JSON integer token (no fraction, no exponent) from lo to hi, both within int64 */
int jraw_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && s[i] == '-') { neg = 1; i++; }
    if (i == n || n - i > 19) return 0;
    for (size_t j = i; j < n; j++) if (s[j] < '0' || s[j] > '9') return 0;
    if (n - i == 19) {
        const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
        if (memcmp(s + i, lim, 19) > 0) return 0;
    }
    uint64_t u = 0;
    for (size_t j = i; j < n; j++) u = u * 10 + (uint64_t)(s[j] - '0');
    int64_t v = neg ? (int64_t)(0 - u) : (int64_t)u;
    if (neg && u == 0) v = 0;
    if (v < lo || v > hi) return 0;
    if (out) *out = v;
    return 1;
}
