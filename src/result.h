/*
 * result.h
 *	  Turning Data8 answers into SQL results: a composite row, or a set of
 *	  rows materialized in a tuplestore (which spills past work_mem).
 */
#ifndef DATA8_RESULT_H
#define DATA8_RESULT_H

#include "postgres.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/tuplestore.h"

#include "json.h"
#include "record.h"

/* The C strings of a row of tupdesc from a JSON object (for lists of
 * objects that need more than d8_json_row_cstrings). */
typedef char **(*D8RowStrings) (D8Json *obj, TupleDesc tupdesc);

typedef struct D8ResultSet
{
	Tuplestorestate *store;
	TupleDesc	tupdesc;
	AttInMetadata *attinmeta;
	int64		rows;
	D8RowStrings row_strings;	/* NULL: d8_json_row_cstrings with the fields */
} D8ResultSet;

/* Pages a paged list may have: beyond it, the service is not paging. */
#define D8_MAX_LIST_PAGES	10000

extern TupleDesc d8_result_tupdesc(FunctionCallInfo fcinfo);
extern Datum d8_result_row(FunctionCallInfo fcinfo, D8Json *obj,
						   const D8Field *fields, int nfields);
extern D8ResultSet *d8_result_set_begin(FunctionCallInfo fcinfo);
extern void d8_result_set_add(D8ResultSet *rs, D8Json *obj,
							  const D8Field *fields, int nfields);
extern void d8_result_set_add_list(D8ResultSet *rs, D8Json *list,
								   const D8Field *fields, int nfields);
extern void d8_result_set_add_record(D8ResultSet *rs, D8RecordReader *record);
extern int64 d8_result_set_paged(D8ResultSet *rs, const char *path,
								 const char *filters, const char *object,
								 const D8Field *fields, int nfields);

#endif							/* DATA8_RESULT_H */
