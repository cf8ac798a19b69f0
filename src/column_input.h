/*
 * column_input.h
 *	  A record value (record.h) as a Datum of a column's type: the type's
 *	  input function, with fast paths for the forms Data8 sends.
 *
 * Used where records become rows (stream_fetch.c) and where output
 * records are applied to a table (run_apply.c), so both convert alike.
 */
#ifndef DATA8_COLUMN_INPUT_H
#define DATA8_COLUMN_INPUT_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "record.h"

/*
 * Values converted here in the form Data8 sends them, skipping the input
 * function (which still takes every other form, and gives the errors).
 */
typedef enum D8FastInput
{
	FAST_NONE,
	FAST_DATE,					/* date: a string YYYY-MM-DD */
	FAST_TIMESTAMP,				/* timestamp(tz) without typmod: a string ...THH:MM:SS[.ffffff]Z */
	FAST_TEXT,					/* text: a string */
	FAST_INT4,					/* integer: a number [-]digits */
	FAST_INT8,					/* bigint: a number [-]digits */
	FAST_BOOL,					/* boolean: true or false */
	FAST_NUMERIC				/* numeric without typmod: a number [-]digits[.digits]
								 * (see parse_decimal; PostgreSQL 15 on) */
} D8FastInput;

typedef struct D8ColumnInput
{
	FmgrInfo	in;				/* the type's input function */
	Oid			ioparam;
	int32		typmod;
	bool		json;			/* json/jsonb (or a domain over them): takes JSON text */
	D8FastInput fast;
} D8ColumnInput;

extern void d8_column_input_init(D8ColumnInput *ci, Oid typid, int32 typmod);
extern Datum d8_column_input(D8ColumnInput *ci, const D8RecordValue *v, StringInfo scratch);

#endif							/* DATA8_COLUMN_INPUT_H */
