/*
 * test_window.c
 *	  The request window (src/window.c) against a model of the service, in
 *	  simulated time, so that its choices are checked the same way on any
 *	  machine.
 *
 * The model: every request costs one round trip of latency and some
 * service time on one CPU-bound server (FIFO), which slows down when many
 * requests are in flight (more threads than cores: the slowdown that makes
 * 32 requests in flight slower than 4 with no latency); with a limit, a
 * request that finds more than limit in flight gets a 429 with a pause
 * (Retry-After) for the whole pipeline, as transport.c does.  Service times
 * carry a fixed-seed jitter.
 *
 * Checked, as make bench checks them on the real thing: auto's time within
 * 1.2x of the best fixed window's at 0, 20, 50 and 100 ms, and with a
 * sender that takes 0.7 ms to make each request ("rows-bound") at 0 and
 * 20 ms; with that sender at 20 ms, the ramp from 4 to 32 within 4 round
 * trips; under a limit of 6, after the first second fewer than 5% 429s and
 * a throughput within 1.25x of the fixed window at the limit's; with the
 * rows-bound sender at 0 ms, where the answers come before the next request
 * is made, auto stays at its start of 4; a fixed window never moves; a push
 * back halves the window at once.
 */
#include "data8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "window.h"

/* postgres.h maps these to pgport's; a plain program uses libc's */
#undef printf
#undef snprintf

/* the settings window.c reads (data8.c defines them in the server) */
int			d8_parallel_requests = 0;
int			d8_max_parallel_requests = 32;

#define REQUESTS	1000
#define BASE_US		1000000000000.0	/* simulated clock start (0 means "not yet") */

typedef struct Model
{
	const char *name;
	double		latency_ms;		/* round trip */
	double		service_ms;		/* server time per request, up to 4 in flight */
	double		crowd;			/* slowdown at 32 in flight (0.25: 25% slower) */
	int			limit;			/* 429 above this many in flight; 0: none */
	double		produce_ms;		/* the sender's time to make each request ready */
} Model;

typedef struct Outcome
{
	double		seconds;
	int			peak;
	double		peak_at;		/* seconds until the window first reached its peak */
	int			last_size;
	int			ok_after_1s;	/* answers after the first second */
	int			refused_after_1s;	/* of which 429s */
	double		rate_after_1s;	/* successes per second after the first second */
} Outcome;

typedef struct InFlight
{
	double		sent;
	double		answer;			/* when the answer arrives */
	int			inflight;		/* in flight when sent, itself included */
	bool		refused;
} InFlight;

static unsigned int seed;

/* A jitter factor in [0.85, 1.15) from a fixed-seed generator. */
static double
jitter(void)
{
	seed = seed * 1103515245u + 12345u;
	return 0.85 + 0.30 * ((seed >> 8) & 0xffff) / 65536.0;
}

/* Runs REQUESTS requests through the model with a window (fixed > 0, or auto). */
static Outcome
run(const Model *m, int fixed)
{
	D8Window	w;
	InFlight	fl[D8_MAX_PARALLEL];
	int			nfl = 0;
	int			to_send = REQUESTS;
	int			done = 0;
	double		now = BASE_US;
	double		server_free = BASE_US;
	double		paused_until = 0;
	double		ready = BASE_US;	/* when the next request is made */
	double		half = m->latency_ms * 500.0;
	int			ok_before_1s = 0;
	Outcome		o = {0};

	seed = 42;
	d8_window_init(&w, fixed, d8_max_parallel_requests);
	while (done < REQUESTS)
	{
		bool		room = to_send > 0 && nfl < d8_window_allowed(&w);

		if (room && now >= paused_until && now >= ready)
		{
			InFlight   *r = &fl[nfl++];
			double		arrive = now + half;

			r->sent = now;
			r->inflight = nfl;
			r->refused = (m->limit > 0 && nfl > m->limit);
			if (r->refused)
				r->answer = arrive + half;
			else
			{
				double		svc = m->service_ms * 1000.0 * jitter() *
					(1.0 + m->crowd * Max(0, nfl - 4) / 28.0);

				server_free = Max(arrive, server_free) + svc;
				r->answer = server_free + half;
			}
			to_send--;
			ready = now + m->produce_ms * 1000.0;
			d8_window_sent(&w, nfl, (TimestampTz) now);
			continue;
		}
		else
		{
			int			first = -1;
			InFlight	r;

			for (int i = 0; i < nfl; i++)
				if (first < 0 || fl[i].answer < fl[first].answer)
					first = i;
			if (first < 0 || (room && Max(ready, paused_until) < fl[first].answer))
			{
				/* the next request is made (or the pause ends) first */
				now = Max(now, Max(ready, paused_until));
				continue;
			}
			r = fl[first];
			fl[first] = fl[--nfl];
			now = Max(now, r.answer);
			if (now - BASE_US >= 1e6)
			{
				o.ok_after_1s++;
				o.refused_after_1s += r.refused;
			}
			if (r.refused)
			{
				d8_window_push_back(&w, (TimestampTz) r.sent, r.inflight, (TimestampTz) now);
				paused_until = Max(paused_until, now + 1e6);	/* Retry-After: 1 */
				to_send++;
			}
			else
			{
				d8_window_success(&w, (TimestampTz) now);
				done++;
				if (now - BASE_US < 1e6)
					ok_before_1s++;
			}
			if (d8_window_allowed(&w) > o.peak)
			{
				o.peak = d8_window_allowed(&w);
				o.peak_at = (now - BASE_US) / 1e6;
			}
		}
	}
	o.seconds = (now - BASE_US) / 1e6;
	o.last_size = d8_window_allowed(&w);
	if (o.seconds > 1.0)
		o.rate_after_1s = (REQUESTS - ok_before_1s) / (o.seconds - 1.0);
	return o;
}

static int	failures = 0;

static void
check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

int
main(void)
{
	static const Model latency_models[] = {
		{"0 ms, CPU-bound", 0, 2.1, 0.25, 0, 0},
		{"20 ms", 20, 2.1, 0.25, 0, 0},
		{"50 ms", 50, 2.1, 0.25, 0, 0},
		{"100 ms", 100, 2.1, 0.25, 0, 0},
		{"0 ms, rows-bound", 0, 0.3, 0.25, 0, 0.7},
		{"20 ms, rows-bound", 20, 0.3, 0.25, 0, 0.7},
	};
	static const int fixed[] = {4, 8, 16, 32};
	const Model limited = {"20 ms, limit 6", 20, 2.1, 0.25, 6, 0};
	char		what[200];

	printf("%-16s %8s %8s %8s %8s %8s   (seconds for %d requests; auto's peak/last size, ms to the peak)\n",
		   "model", "auto", "4", "8", "16", "32", REQUESTS);
	for (int i = 0; i < lengthof(latency_models); i++)
	{
		const Model *m = &latency_models[i];
		Outcome		a = run(m, 0);
		double		best = INFINITY;

		printf("%-16s %8.2f", m->name, a.seconds);
		for (int j = 0; j < lengthof(fixed); j++)
		{
			Outcome		f = run(m, fixed[j]);

			printf(" %8.2f", f.seconds);
			best = Min(best, f.seconds);
		}
		printf("   (%d/%d, %.0f ms)\n", a.peak, a.last_size, a.peak_at * 1000);
		snprintf(what, sizeof(what), "%s: auto %.2f s within 1.2x of the best fixed window's %.2f s",
				 m->name, a.seconds, best);
		check(a.seconds <= 1.2 * best, what);
	}

	{
		Outcome		a = run(&limited, 0);
		Outcome		f = run(&limited, limited.limit);
		double		share = a.ok_after_1s ? (double) a.refused_after_1s / a.ok_after_1s : 1;

		snprintf(what, sizeof(what), "%s: %.1f%% of auto's answers after the first second are 429s (< 5%%)",
				 limited.name, 100 * share);
		check(share < 0.05, what);
		snprintf(what, sizeof(what), "%s: fixed 6 / auto after the first second %.2fx (<= 1.25x)",
				 limited.name, f.rate_after_1s / a.rate_after_1s);
		check(f.rate_after_1s <= 1.25 * a.rate_after_1s, what);
	}

	{
		/*
		 * While doubling, a round lasts one round trip at 20 ms, not 50 ms
		 * (three round trips): from 4 to 32 in about three of them.
		 */
		const Model *m = &latency_models[5];
		Outcome		a = run(m, 0);

		snprintf(what, sizeof(what), "%s: auto reaches 32 within 4 round trips (%.0f ms, peak %d)",
				 m->name, a.peak_at * 1000, a.peak);
		check(a.peak == 32 && a.peak_at <= 4 * m->latency_ms / 1000.0, what);
	}

	{
		const Model *rows_bound = &latency_models[4];
		Outcome		a = run(rows_bound, 0);

		snprintf(what, sizeof(what), "%s: the window stays at its start (4) when the answers come faster than the requests are made (peak %d)",
				 rows_bound->name, a.peak);
		check(a.peak == 4, what);
	}

	{
		D8Window	w;
		bool		still = true;

		d8_window_init(&w, 8, 32);
		for (int i = 1; i <= 500; i++)
		{
			d8_window_sent(&w, 1, (TimestampTz) (BASE_US + i * 1000));
			d8_window_success(&w, (TimestampTz) (BASE_US + i * 1000 + 500));
			if (i % 100 == 0)
				d8_window_push_back(&w, (TimestampTz) (BASE_US + i * 1000), 8,
									(TimestampTz) (BASE_US + i * 1000 + 700));
			still = still && d8_window_allowed(&w) == 8;
		}
		check(still, "a fixed window (8) stays 8 through successes and push backs");

		d8_window_init(&w, 0, 32);
		for (int i = 1; i <= 200; i++)
		{
			d8_window_sent(&w, d8_window_allowed(&w), (TimestampTz) (BASE_US + i * 10000));
			d8_window_success(&w, (TimestampTz) (BASE_US + i * 10000 + 5000));
		}
		{
			int			before = d8_window_allowed(&w);

			d8_window_push_back(&w, (TimestampTz) (BASE_US + 2010000), before,
								(TimestampTz) (BASE_US + 2020000));
			snprintf(what, sizeof(what), "a push back halves the window at once (%d -> %d)",
					 before, d8_window_allowed(&w));
			check(before >= 2 && d8_window_allowed(&w) == Max(1, before / 2), what);
			/* the other requests in flight when it was sent do not halve it again */
			d8_window_push_back(&w, (TimestampTz) (BASE_US + 2015000), before,
								(TimestampTz) (BASE_US + 2021000));
			check(d8_window_allowed(&w) == Max(1, before / 2),
				  "answers to requests sent before the cut do not cut again");
		}
	}

	{
		/*
		 * A window of 8 meets a service that takes 6 at a time: two of a
		 * burst are refused.  Counted 7 and 8 when sent, the window grows
		 * back to 6 and no further, through rounds whose rate follows the
		 * size.  A request sent early in a burst counts fewer than the
		 * crowd it met (8 and 2, 5 and 8): the window then stays where the
		 * cut left it (4) or above, never below, and never beyond 6.
		 */
		static const int counts[][2] = {{7, 8}, {8, 2}, {5, 8}};

		for (int c = 0; c < lengthof(counts); c++)
		{
			D8Window	w;
			double		t = BASE_US;
			int			most = 0;

			d8_window_init(&w, 0, 32);
			w.size = 8;
			d8_window_push_back(&w, (TimestampTz) t, counts[c][0], (TimestampTz) (t + 1000));
			d8_window_push_back(&w, (TimestampTz) t, counts[c][1], (TimestampTz) (t + 2000));
			t += 3000;
			for (int round = 0; round < 40; round++)
			{
				int			n = 10 * d8_window_allowed(&w);

				for (int i = 0; i < n; i++)
				{
					t += 60000.0 / n;	/* a round of 60 ms: the rate follows the size */
					d8_window_sent(&w, d8_window_allowed(&w), (TimestampTz) t);
					d8_window_success(&w, (TimestampTz) t);
				}
				most = Max(most, d8_window_allowed(&w));
			}
			snprintf(what, sizeof(what), "8 in flight, 2 refused, counted %d and %d when sent: the window ends at %d (largest %d), from 4 to 6%s",
					 counts[c][0], counts[c][1], d8_window_allowed(&w), most,
					 c == 0 ? ", and 6 when counted right" : "");
			check(d8_window_allowed(&w) >= 4 && most <= 6 &&
				  (c > 0 || d8_window_allowed(&w) == 6), what);
		}
	}

	printf("%s\n", failures ? "test_window: FAILED" : "test_window: all passed");
	return failures ? 1 : 0;
}
