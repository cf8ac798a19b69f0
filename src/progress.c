/*
 * progress.c
 *	  Progress NOTICE lines of the upload and the fetch (see progress.h).
 */
#include "data8.h"

#include "utils/timestamp.h"

#include "progress.h"

#define D8_PROGRESS_EVERY_MS 2000	/* at most one line this often */

/* Starts the clock of a transfer of what ("uploaded", "fetched") for dataset. */
void
d8_progress_begin(D8Progress *p, const char *what, const char *dataset)
{
	p->what = what;
	p->dataset = dataset;
	p->start = GetCurrentTimestamp();
	p->last = p->start;
}

/* Seconds since the transfer began. */
double
d8_progress_seconds(const D8Progress *p)
{
	return (double) (GetCurrentTimestamp() - p->start) / 1000000.0;
}

/* Reports one line (with data8.progress): the figures so far, done when last. */
static void
report(D8Progress *p, int64 records, int64 requests, int window, bool last)
{
	double		secs = d8_progress_seconds(p);

	ereport(NOTICE,
			(errmsg("data8: %s " INT64_FORMAT " records %s dataset \"%s\" in " INT64_FORMAT
					" requests, window %d, %.1f s, %.0f records/s%s",
					p->what, records, strcmp(p->what, "uploaded") == 0 ? "to" : "from",
					p->dataset, requests, window, secs, secs > 0 ? records / secs : 0.0,
					last ? ", done" : "")));
}

/* Reports progress (with data8.progress) when the last line is 2 s old. */
void
d8_progress_tick(D8Progress *p, int64 records, int64 requests, int window)
{
	TimestampTz now;

	if (!d8_progress)
		return;
	now = GetCurrentTimestamp();
	if (!TimestampDifferenceExceeds(p->last, now, D8_PROGRESS_EVERY_MS))
		return;
	p->last = now;
	report(p, records, requests, window, false);
}

/* Reports the end of the transfer (with data8.progress). */
void
d8_progress_done(D8Progress *p, int64 records, int64 requests, int window)
{
	if (d8_progress)
		report(p, records, requests, window, true);
}
