/* job.c: /Job routes, lazy progress from wall-clock time, background
 * materialisation of output datasets. */
#include "sim.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUEUED_US 100000 /* status 0 for the first 100 ms */

static void pct_encode(const char *s, char *out, size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t j = 0;
    for (; *s && j + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c))
            out[j++] = (char)c;
        else { out[j++] = '%'; out[j++] = hx[c >> 4]; out[j++] = hx[c & 15]; }
    }
    out[j] = 0;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    wf_run(j->wf, j->in, j->in2, j->ocols, j->nocols, &j->oblocks, &j->noblocks, &j->ocount);
    j->worker_done_us = now_us();
    atomic_store(&j->worker_done, 1);
    return NULL;
}

void jobs_tick(struct account *a)
{
    int64_t now = -1;
    for (int i = a->njobs - 1; i >= 0; i--) {
        struct job *j = a->jobs[i];
        if (j->status >= 0) continue;
        if (now < 0) now = now_us();
        if (now < j->finish_us || !atomic_load(&j->worker_done)) continue;
        j->completed_us = j->worker_done_us > j->finish_us ? j->worker_done_us : j->finish_us;
        if (j->wf->fails) j->status = 3;
        else {
            j->status = 2;
            struct dataset *d = j->out;
            if (d && !d->deleted) {
                d->blocks = j->oblocks;
                d->nblocks = d->capblocks = j->noblocks;
                j->oblocks = NULL;
                ds_finish(d);
            }
        }
        for (int k = 0; k < j->noblocks && j->oblocks; k++) { free(j->oblocks[k].data); free(j->oblocks[k].off); }
        free(j->oblocks);
        j->oblocks = NULL;
        if (j->in) { ds_unref(j->in); j->in = NULL; }
        if (j->in2) { ds_unref(j->in2); j->in2 = NULL; }
        if (j->out) { ds_unref(j->out); j->out = NULL; }
    }
}

static int job_status(struct job *j, int64_t now, double *pct)
{
    if (j->status >= 0) { *pct = j->status == 2 || j->status == 3 ? 100 : 0; return j->status; }
    if (now < j->start_us) { *pct = 0; return 0; }
    double span = (double)(j->finish_us - j->start_us);
    double p = span > 0 ? (double)(now - j->start_us) / span * 100.0 : 100.0;
    if (p > 99.9) p = 99.9;
    *pct = (double)(long)(p * 100) / 100.0;
    return 1;
}

static json_t *job_summary(struct job *j, int64_t now)
{
    double pct;
    int st = job_status(j, now, &pct);
    return json_pack("{s:s,s:s,s:o,s:o,s:i,s:f}", "name", j->name, "workflowName", j->wf->name, "submittedAt",
                     json_time_or_null(j->submitted_us, 1), "completedAt",
                     json_time_or_null(j->completed_us, st >= 2), "status", st, "percentComplete", pct);
}

static json_t *job_full(struct job *j, int64_t now)
{
    json_t *o = job_summary(j, now);
    int st = (int)json_integer_value(json_object_get(o, "status"));
    json_object_set_new(o, "estimatedFinishTime", json_time_or_null(st >= 2 ? j->completed_us : j->finish_us, 1));
    json_t *stats = json_object();
    if (st == 2 || (st == 3 && j->wf->fails == 2))
        json_object_set_new(stats, "recordsProcessed", json_integer(j->records));
    else if (st == 1) {
        double pct = json_real_value(json_object_get(o, "percentComplete"));
        json_object_set_new(stats, "recordsProcessed", json_integer((json_int_t)(j->records * pct / 100.0)));
    }
    json_object_set_new(o, "statistics", stats);
    json_object_set(o, "inputDatasets", j->input_datasets);
    json_object_set(o, "outputDatasets", j->output_datasets);
    json_object_set(o, "parameters", j->parameters);
    json_object_set_new(o, "inputFilename", j->input_filename ? json_string(j->input_filename) : json_null());
    json_object_set_new(o, "outputFilenames", json_object());
    if (st == 3 && j->wf->fails == 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "workflow %s failed: simulated failure", j->wf->name);
        json_object_set_new(o, "message", json_string(msg));
    }
    return o;
}

static struct job *job_find(struct account *a, const char *name)
{
    for (int i = 0; i < a->njobs; i++) if (strcmp(a->jobs[i]->name, name) == 0) return a->jobs[i];
    return NULL;
}

static int valid_job_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 200) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || strchr("/:*?\"<>|\\", c)) return 0;
    }
    return 1;
}

static int string_map(json_t *v, const char *prefix, json_t *errs)
{
    if (!v || json_is_null(v)) return 1;
    if (!json_is_object(v)) { verr_add(errs, prefix, "The value must be an object of strings."); return 0; }
    const char *k; json_t *x;
    int ok = 1;
    json_object_foreach(v, k, x) if (!json_is_string(x)) {
        char f[300];
        snprintf(f, sizeof f, "%s.%s", prefix, k);
        verr_add(errs, f, "The value must be a string.");
        ok = 0;
    }
    return ok;
}

static void job_create(struct req *r, struct account *a)
{
    json_t *b = body_json(r, 1);
    if (!b) return;
    json_t *errs = json_object(), *name = NULL, *wfn = NULL, *ifn = NULL, *ins = NULL, *params = NULL;
    const struct workflow *w = NULL;
    if (!json_is_object(b)) verr_add(errs, "body", "The body must be a JSON object.");
    else {
        name = json_object_get(b, "name");
        wfn = json_object_get(b, "workflowName");
        ifn = json_object_get(b, "inputFilename");
        ins = json_object_get(b, "inputDatasets");
        params = json_object_get(b, "parameters");
        if (!json_is_string(name) || !valid_job_name(json_string_value(name)))
            verr_add(errs, "name", "The name is required: 1-200 characters, none of / : * ? \" < > | \\ or control characters.");
        if (!json_is_string(wfn)) verr_add(errs, "workflowName", "The workflowName is required.");
        else if (!(w = wf_find(json_string_value(wfn)))) verr_add(errs, "workflowName", "Unknown workflow.");
        if (ifn && !json_is_null(ifn) && !json_is_string(ifn))
            verr_add(errs, "inputFilename", "The inputFilename must be a string or null.");
        string_map(ins, "inputDatasets", errs);
        string_map(params, "parameters", errs);
        if (w && json_is_object(params)) wf_check_params(w, params, errs);
    }
    if (json_object_size(errs)) { reply_validation(r, errs, NULL); return; }
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    struct dataset *in = NULL, *in2 = NULL;
    char f[300];
    if (json_is_object(ins)) {
        const char *k; json_t *x;
        json_object_foreach(ins, k, x)
            if (strcmp(k, w->in_key) != 0 && !(w->in_key2 && strcmp(k, w->in_key2) == 0)) {
                snprintf(f, sizeof f, "inputDatasets.%s", k);
                verr_add(errs, f, "The workflow has no input of this name.");
            }
    }
    for (int second = 0; second <= (w->in_key2 != NULL); second++) {
        const char *key = second ? w->in_key2 : w->in_key;
        json_t *dn = json_is_object(ins) ? json_object_get(ins, key) : NULL;
        struct dataset *d = NULL;
        const char *why;
        snprintf(f, sizeof f, "inputDatasets.%s", key);
        if (!dn) verr_add(errs, f, "This input dataset is required by the workflow.");
        else if (!(d = ds_find(a, json_string_value(dn)))) verr_add(errs, f, "No such dataset.");
        else if (!d->input) verr_add(errs, f, "The dataset is not an input dataset.");
        else if (!d->completed) verr_add(errs, f, "The dataset is not completed.");
        else if ((why = wf_check_input(w, d, second))) verr_add(errs, f, why);
        if (second) in2 = d; else in = d;
    }
    if (json_object_size(errs)) { pthread_mutex_unlock(&a->mu); reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    if (job_find(a, json_string_value(name))) {
        pthread_mutex_unlock(&a->mu);
        reply_problem(r, 409, "A job with this name already exists.");
        return;
    }
    struct job *j = calloc(1, sizeof *j);
    j->name = strdup(json_string_value(name));
    j->wf = w;
    j->status = -1;
    j->submitted_us = now_us();
    j->start_us = j->submitted_us + QUEUED_US;
    j->records = in->record_count;
    j->finish_us = j->start_us + (int64_t)((double)j->records / g_opts.rate * 1e6);
    j->input_datasets = json_deep_copy(ins);
    j->parameters = json_is_object(params) ? json_deep_copy(params) : json_object();
    j->input_filename = json_is_string(ifn) ? strdup(json_string_value(ifn)) : NULL;
    j->output_datasets = json_object();
    a->job_seq++;
    ds_ref(in);
    j->in = in;
    if (in2) { ds_ref(in2); j->in2 = in2; }
    if (w->out_key) {
        char oname[128], key[64];
        snprintf(key, sizeof key, "%s", w->out_key);
        for (char *p = key; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        snprintf(oname, sizeof oname, "job%ld_%s", a->job_seq, key);
        for (int n = 2; ds_name_taken(a, oname); n++) snprintf(oname, sizeof oname, "job%ld_%s_%d", a->job_seq, key, n);
        j->ocols = wf_out_columns(w, in, &j->nocols);
        /* the dataset owns a copy of the columns */
        struct column *dc = calloc((size_t)j->nocols, sizeof *dc);
        for (int i = 0; i < j->nocols; i++) { dc[i].name = strdup(j->ocols[i].name); dc[i].type = j->ocols[i].type; }
        struct dataset *out = ds_new(oname, dc, j->nocols, 0);
        ds_insert(a, out);
        ds_ref(out);
        j->out = out;
        json_object_set_new(j->output_datasets, w->out_key, json_string(oname));
    }
    if (a->njobs == a->capjobs) {
        a->capjobs = a->capjobs ? a->capjobs * 2 : 64;
        a->jobs = realloc(a->jobs, sizeof *a->jobs * (size_t)a->capjobs);
    }
    a->jobs[a->njobs++] = j;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, worker, j) != 0) worker(j);
    pthread_attr_destroy(&at);
    json_t *o = job_full(j, now_us());
    pthread_mutex_unlock(&a->mu);
    char enc[700];
    pct_encode(j->name, enc, sizeof enc);
    set_location(r, "/Job/%s", enc);
    reply_json(r, 201, o);
}

static void job_list(struct req *r, struct account *a)
{
    json_t *errs = json_object();
    long page = 1;
    const char *s, *wf = qget(r, "workflow");
    int64_t from = INT64_MIN, to = INT64_MAX, t;
    int donly;
    if ((s = qget(r, "page"))) {
        char *e;
        page = strtol(s, &e, 10);
        if (!*s || *e || page < 1) verr_add(errs, "page", "The page must be an integer of at least 1.");
    }
    if ((s = qget(r, "startDate")) && *s) {
        if (!parse_iso_time(s, 1, &t, &donly)) verr_add(errs, "startDate", "The startDate must be YYYY-MM-DD or an ISO 8601 date-time.");
        else from = t;
    }
    if ((s = qget(r, "endDate")) && *s) {
        if (!parse_iso_time(s, 1, &t, &donly)) verr_add(errs, "endDate", "The endDate must be YYYY-MM-DD or an ISO 8601 date-time.");
        else to = donly ? t + 86400LL * 1000000 - 1 : t;
    }
    if (json_object_size(errs)) { reply_validation(r, errs, NULL); return; }
    json_decref(errs);
    if (wf && !*wf) wf = NULL;
    json_t *arr = json_array();
    long per_page = 100, n = 0;
    pthread_mutex_lock(&a->mu);
    hostile_list_paging(a, &page, &per_page);
    long skip = (page - 1) * per_page;
    jobs_tick(a);
    int64_t now = now_us();
    for (int i = a->njobs - 1; i >= 0 && (long)json_array_size(arr) < per_page; i--) {
        struct job *j = a->jobs[i];
        if (wf && strcmp(j->wf->name, wf) != 0) continue;
        if (j->submitted_us < from || j->submitted_us > to) continue;
        if (n++ < skip) continue;
        json_array_append_new(arr, job_summary(j, now));
    }
    pthread_mutex_unlock(&a->mu);
    reply_json(r, 200, arr);
}

void handle_job(struct req *r)
{
    struct account *a = r->acct;
    if (r->nseg == 1) {
        if (is_method(r, "GET")) job_list(r, a);
        else if (is_method(r, "POST")) job_create(r, a);
        else reply_405(r, "GET, POST");
        return;
    }
    if (r->nseg != 2) { reply_problem(r, 404, "No such route."); return; }
    if (!is_method(r, "GET")) { reply_405(r, "GET"); return; }
    pthread_mutex_lock(&a->mu);
    jobs_tick(a);
    struct job *j = job_find(a, r->segs[1]);
    json_t *o = j ? job_full(j, now_us()) : NULL;
    pthread_mutex_unlock(&a->mu);
    if (!o) reply_problem(r, 404, "No such job.");
    else reply_json(r, 200, o);
}
