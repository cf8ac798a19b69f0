/*
 * stream.h
 *	  The streaming data path: query rows up to a dataset in blocks, and a
 *	  dataset's records down as rows in pages, many requests in flight,
 *	  memory flat whatever the row count.
 */
#ifndef DATA8_STREAM_H
#define DATA8_STREAM_H

#include "postgres.h"

#include "json.h"
#include "record.h"

/* What an upload sent (stream_upload.c) */
typedef struct D8UploadResult
{
	int64		records;
	int32		blocks;
	int64		bytes;
	double		seconds;
	int32		window;			/* largest number of blocks the window allowed */
} D8UploadResult;

/* Seen by the caller of d8_upload as it goes: each record, each block. */
typedef struct D8UploadHooks
{
	void		(*row) (void *arg, const char *record, int len,
						Datum *values, bool *nulls);
	void		(*block) (void *arg);
	void	   *arg;
} D8UploadHooks;

extern void d8_upload(const char *name, const char *query, int32 first_block,
					  bool complete, const D8UploadHooks *hooks,
					  D8UploadResult *result);

/* A dataset's records streamed to callbacks, in order (stream_fetch.c) */
typedef void (*D8RecordFn) (void *arg, D8RecordReader *record, int64 recno);
typedef void (*D8PageFn) (void *arg);

extern D8Json *d8_fetch_dataset_columns(const char *name, int64 *total);
extern void d8_fetch_records(const char *name, int64 total, D8RecordFn record,
							 D8PageFn page, void *arg);

#endif							/* DATA8_STREAM_H */
