/*
 * progress.h
 *	  Progress of long transfers as NOTICE lines (data8.progress), shared by
 *	  the upload and the fetch.
 */
#ifndef DATA8_PROGRESS_H
#define DATA8_PROGRESS_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct D8Progress
{
	const char *what;			/* "uploaded" or "fetched" */
	const char *dataset;
	TimestampTz start;
	TimestampTz last;			/* when the last line was reported */
} D8Progress;

extern void d8_progress_begin(D8Progress *p, const char *what, const char *dataset);
extern void d8_progress_tick(D8Progress *p, int64 records, int64 requests, int window);
extern void d8_progress_done(D8Progress *p, int64 records, int64 requests, int window);
extern double d8_progress_seconds(const D8Progress *p);

#endif							/* DATA8_PROGRESS_H */
