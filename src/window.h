/*
 * window.h
 *	  The request window: how many requests the data path keeps in flight.
 *
 * A fixed window (data8.parallel_requests = N) never moves.  The adaptive
 * one (auto) is AIMD.  It measures the throughput of each round (at least
 * as many successes as the window's size, and at least a minimum time: 20
 * ms while doubling, when the question is only whether twice the requests
 * bring an eighth more, and 50 ms after) at one size, and changes the size
 * only between rounds: it doubles from a small start while the throughput
 * grows in proportion, then grows by one a round.  A round that is not
 * enough better than the best one is flat; after a flat round the same
 * size is measured again, and two flat rounds in a row send the window
 * back to the best round's size (where the work is bound by CPU rather than
 * latency, more requests in flight only cost), and from there it holds a
 * while before probing again.  A 429, a 503 or a
 * timeout halves it at once; after that it stays below the size that met
 * the push back for a while.  A round where the window was seldom full
 * (fewer than a quarter of its requests filled it) is not judged: the
 * stream made its requests slower than the service answered them, so the
 * window was not what limited the work and its size says nothing (as TCP
 * leaves cwnd alone when not cwnd-limited); such a window stays where it
 * is.  Full counts the stream's requests in the window, in flight or
 * waiting, and for the fetch the answered pages not yet emitted too (its
 * window bounds them): a fetch slowed by its own decoding fills its window
 * and is judged on its rates.  Below a push back's size the window only
 * stops growing; it shrinks on a cut alone.  It knows nothing of
 * HTTP: the pipeline (transport.c) tells it what happened.
 */
#ifndef DATA8_WINDOW_H
#define DATA8_WINDOW_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct D8Window
{
	bool		adaptive;
	int			capacity;		/* largest size (slots of the pipeline) */
	double		size;			/* requests allowed in flight now */
	int			peak;			/* largest size reached */
	bool		slow_start;		/* doubling each round */
	bool		holding;		/* back at the best size: no growth */
	int			ceiling;		/* requests in flight that met the last push back, or 0 */
	TimestampTz last_cut;		/* when it last shrank */
	TimestampTz probe_after;	/* until then, it stays below ceiling or holds */
	/* the current round, measured at one size */
	TimestampTz round_start;	/* 0 until the first request is sent */
	int			round_done;		/* successes in it so far */
	int			round_sent;		/* requests sent in it */
	int			round_full;		/* of which filled the window (the limit then) */
	double		best_rate;		/* successes per second of the best round, or 0 */
	double		best_size;		/* the size the best round was measured at */
	int			flat_rounds;	/* rounds in a row not enough better than the best */
} D8Window;

/* Capacity and fixed size from the settings: the data path's pool sizes. */
extern int	d8_window_capacity(void);
extern int	d8_window_fixed(void);

extern void d8_window_init(D8Window *w, int fixed, int capacity);
extern int	d8_window_allowed(const D8Window *w);
extern void d8_window_sent(D8Window *w, int inflight, TimestampTz now);
extern void d8_window_success(D8Window *w, TimestampTz now);
extern void d8_window_push_back(D8Window *w, TimestampTz sent, int inflight,
								TimestampTz now);

#endif							/* DATA8_WINDOW_H */
