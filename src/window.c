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
	w->round_size = w->size;
	w->round_done = 0;
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
	round_begin(w, 0);
}

/* Requests that may be in flight now. */
int
d8_window_allowed(const D8Window *w)
{
	return Max(1, (int) w->size);
}

/* The largest size the window may grow to now. */
static double
growth_limit(const D8Window *w, TimestampTz now)
{
	if (w->ceiling > 0 && now < w->probe_after)
		return Max(1, w->ceiling - 1);
	return w->capacity;
}

/*
 * Ends a round: throughput grew when the rate rose by at least a quarter
 * of what the window's growth over the round could give.  Two flat rounds
 * in a row end the slow start, then hold the window for a while.
 */
static void
round_end(D8Window *w, TimestampTz now)
{
	double		secs = (double) (now - w->round_start) / 1000000.0;
	double		rate = secs > 0 ? w->round_done / secs : 0;
	double		gain = w->round_size > 0 ? w->size / w->round_size - 1.0 : 0;

	if (w->best_rate == 0 || rate >= w->best_rate * (1.0 + gain / 4.0))
	{
		w->best_rate = Max(rate, w->best_rate);
		w->flat_rounds = 0;
	}
	else if (++w->flat_rounds >= 2)
	{
		w->flat_rounds = 0;
		if (w->slow_start)
			w->slow_start = false;
		else
		{
			w->holding = true;
			w->probe_after = now + (TimestampTz) D8_WINDOW_PROBE_MS * 1000;
		}
	}
	round_begin(w, now);
}

/* A request succeeded at now: the window may grow. */
void
d8_window_success(D8Window *w, TimestampTz now)
{
	double		limit;

	if (!w->adaptive)
		return;
	if (w->round_start == 0)
		round_begin(w, now);
	if (w->holding && now >= w->probe_after)
	{
		w->holding = false;
		w->best_rate = 0;		/* measure afresh */
	}
	limit = growth_limit(w, now);
	if (!w->holding && w->size < limit)
		w->size = Min(limit, w->size + (w->slow_start ? 1.0 : 1.0 / w->size));
	w->peak = Max(w->peak, (int) w->size);
	if (++w->round_done >= (int) w->round_size)
		round_end(w, now);
}

/*
 * The service pushed back (429, 503, a timeout) on a request sent at sent
 * with inflight requests in flight (itself included): the window halves,
 * once for all the requests that were in flight then, and stays below
 * what met the push back for a while.
 */
void
d8_window_push_back(D8Window *w, TimestampTz sent, int inflight, TimestampTz now)
{
	if (!w->adaptive || sent < w->last_cut)
		return;
	w->ceiling = Max(1, Min((int) w->size, inflight));
	w->size = Max(1.0, w->size / 2.0);
	w->slow_start = false;
	w->holding = false;
	w->last_cut = now;
	w->probe_after = now + (TimestampTz) D8_WINDOW_PROBE_MS * 1000;
	w->best_rate = 0;
	w->flat_rounds = 0;
	round_begin(w, now);
}
