/*
 * stream.h
 *	  The streaming data path: query rows up to a dataset in blocks, and a
 *	  dataset's records down as rows in pages, many requests in flight,
 *	  memory flat whatever the row count.
 */
#ifndef DATA8_STREAM_H
#define DATA8_STREAM_H

#include "postgres.h"

/* How a column of a given SQL type travels (stream_upload.c) */
extern int	d8_type_code_for(Oid typid, const char *colname, bool error);

/* Progress lines for data8.progress (stream_upload.c) */
extern void d8_progress_notice(const char *what, const char *dataset,
							   int64 records, int64 requests,
							   TimestampTz start, bool last);

#endif							/* DATA8_STREAM_H */
