/*
 * window.h
 *	  The request window: how many requests the data path keeps in flight.
 *
 * A fixed window (data8.parallel_requests = N) never moves.  The adaptive
 * one (auto) is AIMD: it starts small, grows while the throughput measured
 * over each round of requests grows and nothing pushes back, and halves on
 * a 429, a 503 or a timeout; after a push back it stays below the size that
 * met it for a while before probing above again.  It knows nothing of HTTP:
 * the pipeline (http.c) tells it what happened.
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
	bool		slow_start;		/* growing by one per success */
	bool		holding;		/* throughput stopped growing: no growth */
	int			ceiling;		/* requests in flight that met the last push back, or 0 */
	TimestampTz last_cut;		/* when it last shrank */
	TimestampTz probe_after;	/* until then, it stays below ceiling or holds */
	/* the current round: as many successes as the size at its start */
	TimestampTz round_start;
	double		round_size;
	int			round_done;
	double		best_rate;		/* successes per second of the best round */
	int			flat_rounds;	/* rounds in a row without more throughput */
} D8Window;

/* Capacity and fixed size from the settings: the data path's pool sizes. */
extern int	d8_window_capacity(void);
extern int	d8_window_fixed(void);

extern void d8_window_init(D8Window *w, int fixed, int capacity);
extern int	d8_window_allowed(const D8Window *w);
extern void d8_window_success(D8Window *w, TimestampTz now);
extern void d8_window_push_back(D8Window *w, TimestampTz sent, int inflight,
								TimestampTz now);

#endif							/* DATA8_WINDOW_H */
