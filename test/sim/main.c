/* main.c: command line options, accounts, signal handling. */
#include "sim.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct sim_opts g_opts = {
    .port = 18998, .bind = "127.0.0.1", .threads = 8, .rate = 200000, .seed = 1,
    .retry_after = 1, .stall_ms = 30000, .token_lifetime = 3600,
    .max_body = 64u * 1024 * 1024,
};

static void usage(void)
{
    fprintf(stderr,
            "usage: data8-sim --port PORT [--bind ADDR] --account CLIENT_ID:SECRET [--account ...]\n"
            "       [--threads N] [--rate RECORDS_PER_SECOND] [--seed N] [--latency-ms N]\n"
            "       [--fail-503-every N] [--fail-429-every N] [--retry-after SECONDS] [--max-concurrent N]\n"
            "       [--drop-every N] [--drop-after-every N] [--stall-every N] [--stall-ms N]\n"
            "       [--token-lifetime SECONDS] [--log FILE] [--token-log FILE] [--max-body BYTES]\n"
            "       [--hostile] [--put-replaces]\n");
    exit(2);
}

static long num(const char *opt, const char *v, long min)
{
    char *e;
    if (!v) usage();
    long n = strtol(v, &e, 10);
    if (*e || n < min) { fprintf(stderr, "data8-sim: bad value for %s: %s\n", opt, v); exit(2); }
    return n;
}

int main(int argc, char **argv)
{
    /* block first, so a SIGTERM that arrives during start-up still ends in exit 0 */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* all threads inherit the mask */
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(s) (strcmp(o, s) == 0 && (v || (usage(), 0)) && ++i)
        if (strcmp(o, "--hostile") == 0) g_opts.hostile = 1;
        else if (strcmp(o, "--put-replaces") == 0) g_opts.put_replaces = 1;
        else if (OPT("--port")) g_opts.port = (int)num(o, v, 1);
        else if (OPT("--bind")) g_opts.bind = v;
        else if (OPT("--account")) accounts_init_add(v);
        else if (OPT("--threads")) g_opts.threads = (int)num(o, v, 1);
        else if (OPT("--rate")) {
            g_opts.rate = strtod(v, NULL);
            if (g_opts.rate <= 0) { fprintf(stderr, "data8-sim: --rate must be > 0\n"); return 2; }
        }
        else if (OPT("--seed")) g_opts.seed = (uint64_t)strtoull(v, NULL, 10);
        else if (OPT("--latency-ms")) g_opts.latency_ms = (int)num(o, v, 0);
        else if (OPT("--fail-503-every")) g_opts.fail_503_every = num(o, v, 0);
        else if (OPT("--fail-429-every")) g_opts.fail_429_every = num(o, v, 0);
        else if (OPT("--retry-after")) g_opts.retry_after = (int)num(o, v, 0);
        else if (OPT("--max-concurrent")) g_opts.max_concurrent = (int)num(o, v, 1);
        else if (OPT("--drop-every")) g_opts.drop_every = num(o, v, 0);
        else if (OPT("--drop-after-every")) g_opts.drop_after_every = num(o, v, 0);
        else if (OPT("--stall-every")) g_opts.stall_every = num(o, v, 0);
        else if (OPT("--stall-ms")) g_opts.stall_ms = (int)num(o, v, 0);
        else if (OPT("--token-lifetime")) g_opts.token_lifetime = (int)num(o, v, 1);
        else if (OPT("--log")) g_opts.log_path = v;
        else if (OPT("--token-log")) g_opts.token_log_path = v;
        else if (OPT("--max-body")) g_opts.max_body = (size_t)num(o, v, 1);
        else usage();
#undef OPT
    }
    if (g_naccounts == 0) { fprintf(stderr, "data8-sim: at least one --account is required\n"); usage(); }
    rng_seed(g_opts.seed);
    arena_install();
    if (token_log_open() != 0) return 1;
    signal(SIGPIPE, SIG_IGN);
    if (http_start() != 0) return 1;
    int sig;
    sigwait(&set, &sig);
    http_stop();
    fflush(NULL);
    _exit(0); /* worker and stalled threads die with the process */
}
