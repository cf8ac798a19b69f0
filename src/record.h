/*
 * record.h
 *	  The record decoder: a strict, non-allocating-per-value parser for pages
 *	  of records (a JSON array of flat objects, or {"records": [...]}).
 *
 * Unlike a general JSON library it keeps numbers exactly as written (a
 * numeric(30,10) survives the trip), turns strings into the database
 * encoding, and hands out each record's raw text for jsonb_in.
 */
#ifndef DATA8_RECORD_H
#define DATA8_RECORD_H

#include "postgres.h"
#include "lib/stringinfo.h"

#define D8_RECORD_MAX_DEPTH 1000	/* nesting allowed inside a value */

typedef enum D8ValueType
{
	D8V_NULL,
	D8V_STRING,
	D8V_NUMBER,
	D8V_TRUE,
	D8V_FALSE,
	D8V_RAW						/* an object or array, as JSON text */
} D8ValueType;

typedef struct D8RecordValue
{
	const char *key;			/* NUL-terminated */
	int			keylen;
	D8ValueType type;
	const char *text;			/* NUL-terminated; NULL for D8V_NULL */
	int			len;
	int			keyoff;			/* private: offsets into the scratch */
	int			textoff;
} D8RecordValue;

typedef struct D8RecordReader
{
	const char *buf;
	const char *p;
	const char *end;
	const char *what;			/* the request, for messages */
	int64		first;			/* the number of the page's first record */
	int64		index;			/* records read so far, in the page */
	int			state;
	bool		wrapped;		/* {"records": [...]} */
	StringInfoData scratch;
	D8RecordValue *values;
	int			nvalues;
	int			maxvalues;
	const char *raw;			/* the current record's JSON text */
	size_t		rawlen;
} D8RecordReader;

extern void d8_records_begin(D8RecordReader *r, const char *buf, size_t len,
							 const char *what, int64 first);
extern bool d8_records_next(D8RecordReader *r);
extern void d8_records_end(D8RecordReader *r);

#endif							/* DATA8_RECORD_H */
