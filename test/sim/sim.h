/* data8-sim: in-memory simulator of the Data8 Administration & Batch API.
 * One header for all translation units. */
#ifndef DATA8_SIM_H
#define DATA8_SIM_H

#define _GNU_SOURCE
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <jansson.h>

/* ---------- options (main.c) ---------- */
struct sim_opts {
    int port;
    const char *bind;
    int threads;
    double rate;
    uint64_t seed;
    int latency_ms;
    long fail_503_every, fail_429_every, drop_every, drop_after_every, stall_every;
    int retry_after;
    int max_concurrent; /* --max-concurrent: 429 above this many API requests in flight */
    int stall_ms;
    int token_lifetime;
    const char *log_path;
    const char *token_log_path; /* test-only: every issued access token */
    size_t max_body;
    int hostile;        /* --hostile: bad answers for hostile_* datasets (hostile.c) */
    int put_replaces;   /* --put-replaces: PUT replaces the object; absent fields are cleared */
};
extern struct sim_opts g_opts;

/* ---------- util.c ---------- */
uint64_t rng_next(void);
void rng_seed(uint64_t s);
void rng_hex(char *out, size_t n);       /* n chars + NUL */
void rng_alnum(char *out, size_t n);     /* n chars + NUL */
int64_t now_us(void);                    /* wall clock, microseconds since epoch */
double mono_ms(void);
void fmt_time(int64_t us, char out[40]); /* YYYY-MM-DDTHH:MM:SS.fffffffZ */
json_t *json_time_or_null(int64_t us, int has);
/* parse ISO 8601 date-time (Z, +hh:mm or none = UTC; date only allowed if
 * allow_date) into microseconds. *date_only set when only a date was given. */
int parse_iso_time(const char *s, int allow_date, int64_t *us, int *date_only);
int valid_date(const char *s);           /* strict YYYY-MM-DD */
int valid_datetime_z(const char *s);     /* strict YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z */
int valid_name(const char *s);           /* ^[a-z][a-z0-9_]*$, <= 100 */
char *pct_decode(const char *s, size_t n, int plus_space); /* malloc */
void sleep_ms(long ms);

/* growable buffer */
struct buf { char *p; size_t len, cap; };
void buf_put(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_json_string(struct buf *b, const char *s, size_t n);
void buf_json_value(struct buf *b, json_t *v); /* compact serialisation */

/* raw JSON text (util.c): walk text jansson has accepted to find the exact
 * bytes of each value, so numbers are kept as the client wrote them */
struct jraw_it { const char *p, *e; int first, ok; };
/* the first byte at or after p that is not JSON whitespace (space, tab, LF, CR) */
static inline const char *jraw_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}
const char *jraw_skip(const char *p, const char *e);   /* p at a value: first byte after it */
void jraw_open(struct jraw_it *it, const char *v, size_t n); /* v: an object or array */
int jraw_member(struct jraw_it *it, const char **k, size_t *kn, const char **v, size_t *vn);
int jraw_element(struct jraw_it *it, const char **v, size_t *vn);
size_t jraw_key(const char *k, size_t kn, char *out, size_t cap);
int jraw_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out);

/* ---------- request / response (http.c) ---------- */
struct qparam { char *k, *v; };
struct account;

struct req {
    /* input */
    const char *method;
    char *raw_uri;
    char *path;            /* raw path without query */
    char *query;           /* raw query ("" if none) */
    char *segs[8];         /* percent-decoded segments */
    int nseg;
    struct qparam q[16];
    int nq;
    char *body; size_t body_len, body_cap;
    int too_big;
    json_t *json;          /* parsed body when the route takes JSON */
    struct account *acct;
    const char *acct_name; /* for log */
    int accept_gzip;
    const char *content_type;
    const char *authorization;
    /* fault decided before the handler */
    const char *fault;
    long api_seq;
    atomic_int in_flight; /* counted in the --max-concurrent gauge */
    int started;
    double t0;
    long log_block, log_records; /* LONG_MIN = absent */
    /* output */
    int status;
    char *resp; size_t resp_len;
    const char *resp_ctype;
    char location[600];
    char allow[64];
    int retry_after;
    int www_auth;
    int drop;
    int stream;            /* hostile: body from hostile_huge_reader */
    const char *resp_encoding; /* hostile: the body is sent as is, with this Content-Encoding */
    char local[48];        /* hostile: the address the request arrived on */
};

const char *qget(struct req *r, const char *k);
/* responses */
void reply_json(struct req *r, int status, json_t *v);  /* steals v */
void reply_raw(struct req *r, int status, char *body, size_t len, const char *ctype); /* takes body */
void reply_empty(struct req *r, int status);
void reply_problem(struct req *r, int status, const char *detail);
/* validation errors: errs is an object field -> [messages]; steals errs */
void reply_validation(struct req *r, json_t *errs, const char *detail);
void verr_add(json_t *errs, const char *field, const char *msg);
void set_location(struct req *r, const char *fmt, ...);
json_t *body_json(struct req *r, int required);
int body_precheck(struct req *r, int required); /* 0 replied, 1 body present, 2 empty+optional */
void reply_bad_json(struct req *r, const json_error_t *err);
/* per-thread bump allocator for jansson while parsing PATCH blocks */
void arena_install(void);
void arena_begin(void);
void arena_end(void);
void reply_405(struct req *r, const char *allow);
int is_method(struct req *r, const char *m);
int http_start(void);
void http_stop(void);

/* ---------- hostile.c (--hostile) ---------- */
int hostile_handle(struct req *r); /* 1 when it answered */
ssize_t hostile_huge_reader(void *cls, uint64_t pos, char *buf, size_t max);
struct account;
void hostile_list_paging(struct account *a, long *page, long *per_page); /* lock held */
void hostile_key_ips(const char *key, json_t *ips); /* adds an entry with host bits set */

/* ---------- auth.c ---------- */
struct account *auth_bearer(const char *authorization);
void handle_token(struct req *r);
int token_log_open(void); /* 0 ok, -1 after a message */
void accounts_init_add(const char *spec);
extern struct account **g_accounts;
extern int g_naccounts;

/* ---------- account state ---------- */
struct apikey;
struct credential;
struct dataset;
struct job;

struct account {
    char *client_id, *secret;
    pthread_mutex_t mu;
    struct apikey **keys; int nkeys, capkeys;
    struct credential **creds; int ncreds, capcreds;
    struct dataset **ds; int nds, capds;          /* sorted by name */
    char **deleted; int ndeleted, capdeleted;     /* never reusable names */
    struct job **jobs; int njobs, capjobs;        /* submission order */
    long job_seq;
};

/* ---------- datasets (dataset.c) ---------- */
enum coltype { COL_STRING = 0, COL_INTEGER, COL_DECIMAL, COL_BOOLEAN, COL_DATE, COL_DATETIME };
struct column { char *name; int type; };
struct block {
    long number;
    int n;           /* records */
    char *data;      /* records serialised back to back */
    size_t *off;     /* n+1 offsets into data */
};
struct dataset {
    atomic_int refs;
    char *name;
    struct column *cols; int ncols;
    int input, completed, deleted;
    long record_count;           /* held */
    struct block *blocks; int nblocks, capblocks; /* sorted by number */
    long *cum;                   /* cumulative counts, built on completion */
};
struct dataset *ds_find(struct account *a, const char *name); /* lock held */
struct dataset *ds_new(const char *name, struct column *cols, int ncols, int input);
int ds_insert(struct account *a, struct dataset *d);  /* lock held; 0 ok, -1 exists */
int ds_name_taken(struct account *a, const char *name); /* lock held */
void ds_ref(struct dataset *d);
void ds_unref(struct dataset *d);
void ds_finish(struct dataset *d); /* builds cumulative index */
void ds_put_block(struct dataset *d, struct block *b); /* lock held; takes b contents */
void handle_dataset(struct req *r);

/* ---------- PATCH bodies into blocks (block.c) ---------- */
#define BLOCK_MAX_ERRS 100       /* a PATCH lists at most this many errors */
struct perr { char field[256]; const char *msg; }; /* msg: a static string */
void perr_add(struct perr *e, int *n, const char *field, const char *msg); /* counts past the limit */

/* The full path, for every body: parse (jansson, inside the caller's arena),
 * then, once the dataset is known to take records, check the body's shape
 * and then its records against the columns. */
struct block_full {
    json_t *b, *recs;            /* the DOM; records (not owned) */
    json_error_t jerr;           /* when the body is not JSON */
    const char *recs_raw; size_t recs_rawn; /* the raw text of records */
    size_t body_len;
    int bn_ok; int64_t bnum;     /* blockNumber: an integer from 0 to 2^31-1 */
    long log_block, log_records; /* for the request log; LONG_MIN = absent */
};
int block_full_parse(struct block_full *f, const char *body, size_t n); /* 0: not JSON (f->jerr) */
void block_full_check(const struct block_full *f, struct perr *errs, int *nerr);
void block_full_records(const struct block_full *f, const struct column *cols, int nc,
                        struct perr *errs, int *nerr, struct block *blk); /* *blk filled when no error */
void block_full_free(struct block_full *f);
/* The fast path: one strict pass over a valid block. 1: *blk is exactly the
 * block the full path would store (it accepts the body too, and logs
 * blk->number and blk->n); 0: declined, nothing changed (run the full path). */
int block_fast(const char *body, size_t n, const struct column *cols, int nc, struct block *blk);

/* ---------- jobs + workflows (job.c, workflow.c) ---------- */
typedef int (*wf_transform)(struct job *j);
struct workflow {
    const char *name;
    const char *in_key;   /* the (first) input key */
    const char *out_key;  /* NULL = no output */
    int fails;            /* 1: ends in status 3 with a message; 2: without one */
    const char *in_key2;  /* a second input key, or NULL */
};
const struct workflow *wf_find(const char *name);
/* derive output columns from input; returns malloc'd array */
struct column *wf_out_columns(const struct workflow *w, const struct dataset *in, int *n);
/* transform all input records into output blocks */
/* 0, or a message when a dataset lacks the columns the workflow reads from it */
const char *wf_check_input(const struct workflow *w, const struct dataset *d, int second);
void wf_run(const struct workflow *w, const struct dataset *in, const struct dataset *in2,
            const struct column *ocols,
            int nocols, struct block **blocks, int *nblocks, long *count);
int wf_check_params(const struct workflow *w, json_t *params, json_t *errs);

struct job {
    char *name;
    const struct workflow *wf;
    int64_t submitted_us, start_us, finish_us; /* planned */
    int64_t completed_us;
    long records;
    int status;             /* resolved status once final: 2 or 3; else -1 */
    json_t *input_datasets, *output_datasets, *parameters;
    char *input_filename;   /* may be NULL */
    struct dataset *in, *in2, *out; /* in2: the second input, or NULL */
    /* worker result */
    atomic_int worker_done;
    int64_t worker_done_us;
    struct block *oblocks; int noblocks; long ocount;
    struct column *ocols; int nocols;
};
void jobs_tick(struct account *a); /* lock held: finalise due jobs */
void handle_job(struct req *r);

/* ---------- apikey.c / clientcred.c ---------- */
void handle_apikey(struct req *r);
void handle_clientcred(struct req *r);
/* token lookup through created credentials: returns account or NULL */
struct account *cred_authenticate(const char *client_id, const char *secret);

#endif
