/*
 * encode.h
 *	  The record encoder: a row's values written as one Data8 record (a
 *	  JSON object keyed by column name), straight into a buffer.  The
 *	  upload sends these records, and a cleansing run fingerprints them.
 */
#ifndef DATA8_ENCODE_H
#define DATA8_ENCODE_H

#include "postgres.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

/* How one column's values are written. */
typedef enum D8ValueEncoding
{
	ENC_TEXT,					/* text, varchar: the bytes as a string */
	ENC_BPCHAR,					/* char(n): without the trailing padding */
	ENC_NAME,
	ENC_INT2,
	ENC_INT4,
	ENC_INT8,
	ENC_NUMERIC,				/* output function, as a JSON number */
	ENC_FLOAT,					/* output function, as a JSON number */
	ENC_BOOL,
	ENC_DATE,
	ENC_TIMESTAMP,				/* timestamp and timestamptz, in UTC */
	ENC_OUTPUT					/* any other type: its text output */
} D8ValueEncoding;

typedef struct D8EncodeColumn
{
	char	   *name;
	char	   *key;			/* "\"name\":" ready to append */
	int			keylen;
	int			code;			/* Data8 type code */
	D8ValueEncoding enc;
	FmgrInfo	out;
} D8EncodeColumn;

typedef struct D8Encoder
{
	int			ncols;
	D8EncodeColumn *cols;
} D8Encoder;

extern int	d8_type_code_for(Oid typid, const char *colname, bool error);
extern D8Encoder *d8_encoder_begin(TupleDesc tupdesc, int natts);
extern void d8_encode_record(D8Encoder *enc, Datum *values, bool *nulls,
							 StringInfo buf, int64 row);
extern void d8_encoder_append_types(D8Encoder *enc, StringInfo buf);

#endif							/* DATA8_ENCODE_H */
