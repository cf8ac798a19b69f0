/*
 * window.c
 *	  The request window of the data path: fixed, or AIMD (see window.h).
 */
#include "data8.h"

#include "window.h"

/*
 * The size an adaptive window starts at.  It grows on successes only, so a
 * service that answers every request with the largest body refused (64 MB)
 * never has more than 4 of them buffered at once.
 */
#define D8_WINDOW_START		4
#define D8_WINDOW_ROUND_MS	50		/* shortest round: enough answers to judge */
#define D8_WINDOW_SLOW_START_ROUND_MS 20	/* ... while doubling (see d8_window_success) */
#define D8_WINDOW_PROBE_MS	10000	/* time below a push back's size, or held */

/* The pool size a data stream needs: the fixed window or the adaptive one's cap. */
int
d8_window_capacity(void)
{
	return d8_parallel_requests > 0 ? d8_parallel_requests : d8_max_parallel_requests;
}

/* The fixed window of data8.parallel_requests, or 0 for auto. */
int
d8_window_fixed(void)
{
	return d8_parallel_requests;
}

/* Starts a new round of throughput measurement at now. */
static void
round_begin(D8Window *w, TimestampTz now)
{
	w->round_start = now;
	w->round_done = 0;
	w->round_sent = 0;
	w->round_full = 0;
}

/* Readies a window: fixed (fixed > 0) or adaptive up to capacity. */
void
d8_window_init(D8Window *w, int fixed, int capacity)
{
	memset(w, 0, sizeof(D8Window));
	w->capacity = Max(1, Min(capacity, D8_MAX_PARALLEL));
	w->adaptive = (fixed <= 0);
	w->size = w->adaptive ? Min(D8_WINDOW_START, w->capacity) : Min(fixed, w->capacity);
	w->peak = (int) w->size;
	w->slow_start = true;
}

/* Requests that may be in flight now. */
int
d8_window_allowed(const D8Window *w)
{
	return Max(1, (int) w->size);
}

/*
 * The largest size the window may grow to now.  Below a push back's size it
 * only stops growing, and never shrinks: only a cut does.  A request counts
 * the requests in flight when it is sent, and one sent early in a burst can
 * meet the crowd of those sent after it (a new connection is slower to
 * arrive), so a refusal counted with 2 in flight out of 8 does not mean the
 * service takes 1: it would have held the window at 1 for the whole probe.
 */
static double
growth_limit(const D8Window *w, TimestampTz now)
{
	if (w->ceiling > 0 && now < w->probe_after)
		return Max(w->size, Max(1, w->ceiling - 1));
	return w->capacity;
}

/*
 * Judges the round that ends at now and sets the size of the next one.  A
 * round in which nothing was sent (a pause, the stream's tail), or where
 * fewer than a quarter of the requests filled the window (they seldom
 * waited for room: its size hardly mattered), is not judged, and the next
 * one measures the same size.  A round is better when its rate beats the
 * best one's by an eighth of the growth since then (doubling must bring an
 * eighth more); the best round's size is where two flat rounds in a row
 * (rounds not judged do not break the row) send the window back.
 */
static void
round_end(D8Window *w, TimestampTz now)
{
	double		secs = (double) (now - w->round_start) / 1000000.0;
	double		rate = secs > 0 ? w->round_done / secs : 0;
	double		growth = w->best_size > 0 ? w->size / w->best_size - 1.0 : 0;
	double		limit = growth_limit(w, now);

	if (w->round_sent == 0 || w->round_full * 4 < w->round_sent)
	{
		round_begin(w, now);
		return;
	}
	if (w->best_rate == 0 || rate >= w->best_rate * (1.0 + Max(growth, 0) / 8.0))
	{
		w->best_rate = rate;
		w->best_size = w->size;
		w->flat_rounds = 0;
		w->size = Min(limit, w->slow_start ? w->size * 2 : w->size + 1);
	}
	else if (++w->flat_rounds >= 2)
	{
		w->flat_rounds = 0;
		w->size = Min(limit, w->best_size);
		if (w->slow_start)
			w->slow_start = false;
		else
		{
			w->holding = true;
			w->probe_after = now + (TimestampTz) D8_WINDOW_PROBE_MS * 1000;
		}
	}
	/* else: measure the same size once more */
	w->size = Max(1.0, w->size);
	w->peak = Max(w->peak, (int) w->size);
	round_begin(w, now);
}

/*
 * A request went out at now with inflight requests in flight (itself
 * included): the first one starts the first round, so that it is timed like
 * the others, from the sending on; the round counts those that filled the
 * window.
 */
void
d8_window_sent(D8Window *w, int inflight, TimestampTz now)
{
	if (!w->adaptive)
		return;
	if (w->round_start == 0)
		round_begin(w, now);
	w->round_sent++;
	if (inflight >= d8_window_allowed(w))
		w->round_full++;
}

/* A request succeeded at now: a round may end, and the window grow. */
void
d8_window_success(D8Window *w, TimestampTz now)
{
	if (!w->adaptive)
		return;
	if (w->holding)
	{
		if (now < w->probe_after)
			return;
		w->holding = false;
		w->best_rate = 0;		/* measure afresh */
		w->best_size = 0;
		round_begin(w, now);
	}
	/*
	 * Whole multiples of the size: answers come in bursts of it a round trip
	 * apart.  While doubling, a round of 20 ms is one round trip at 20 ms of
	 * latency instead of three: the ramp from 4 to 32 takes about three
	 * round trips instead of nine.
	 */
	if (++w->round_done % (int) w->size == 0 &&
		now - w->round_start >= (TimestampTz) (w->slow_start ? D8_WINDOW_SLOW_START_ROUND_MS :
											   D8_WINDOW_ROUND_MS) * 1000)
		round_end(w, now);
}

/*
 * The service pushed back (429, 503, a timeout) on a request sent at sent
 * with inflight requests in flight (itself included): the window halves,
 * once for all the requests that were in flight then, and stays below the
 * fewest in flight that met the push back for a while.
 */
void
d8_window_push_back(D8Window *w, TimestampTz sent, int inflight, TimestampTz now)
{
	if (!w->adaptive)
		return;
	if (sent < w->last_cut)
	{
		/* the same push back: no second cut, but maybe a lower ceiling */
		w->ceiling = Max(1, Min(w->ceiling, inflight));
		return;
	}
	w->ceiling = Max(1, Min((int) w->size, inflight));
	w->size = Max(1.0, w->size / 2.0);
	w->slow_start = false;
	w->holding = false;
	w->last_cut = now;
	w->probe_after = now + (TimestampTz) D8_WINDOW_PROBE_MS * 1000;
	w->best_rate = 0;
	w->best_size = 0;
	w->flat_rounds = 0;
	round_begin(w, now);
}
