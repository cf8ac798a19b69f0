/*
 * result.c
 *	  Rows and sets of rows from JSON answers.
 */
#include "data8.h"

#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#include "request.h"
#include "result.h"

/* The composite type the function returns, blessed for heap tuples. */
TupleDesc
d8_result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	return BlessTupleDesc(tupdesc);
}

/* One composite value from a JSON object. */
Datum
d8_result_row(FunctionCallInfo fcinfo, D8Json *obj,
			  const D8Field *fields, int nfields)
{
	TupleDesc	tupdesc = d8_result_tupdesc(fcinfo);
	AttInMetadata *attinmeta = TupleDescGetAttInMetadata(tupdesc);
	char	  **values;

	if (!d8_json_is_object(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer"),
				 errdetail("Expected a JSON object.")));
	values = d8_json_row_cstrings(obj, tupdesc, fields, nfields);
	return HeapTupleGetDatum(BuildTupleFromCStrings(attinmeta, values));
}

/* Prepares a set-returning function to return its rows in a tuplestore. */
D8ResultSet *
d8_result_set_begin(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	D8ResultSet *rs;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rs = palloc0(sizeof(D8ResultSet));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) == TYPEFUNC_COMPOSITE)
		rs->tupdesc = CreateTupleDescCopy(tupdesc);
	else
		rs->tupdesc = CreateTupleDescCopy(rsinfo->expectedDesc);
	/* kept for reading backwards only when the caller may (a scrollable cursor, say) */
	rs->store = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
									  false, work_mem);
	rs->attinmeta = TupleDescGetAttInMetadata(rs->tupdesc);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = rs->store;
	rsinfo->setDesc = rs->tupdesc;
	MemoryContextSwitchTo(old);
	return rs;
}

/* Adds the row that a JSON object describes. */
void
d8_result_set_add(D8ResultSet *rs, D8Json *obj,
				  const D8Field *fields, int nfields)
{
	char	  **values;
	HeapTuple	tuple;

	if (!d8_json_is_object(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected item in a Data8 list"),
				 errdetail("Expected a JSON object.")));
	values = rs->row_strings ? rs->row_strings(obj, rs->tupdesc) :
		d8_json_row_cstrings(obj, rs->tupdesc, fields, nfields);
	tuple = BuildTupleFromCStrings(rs->attinmeta, values);
	tuplestore_puttuple(rs->store, tuple);
	heap_freetuple(tuple);
	rs->rows++;
}

/* Adds one row per object of a JSON array. */
void
d8_result_set_add_list(D8ResultSet *rs, D8Json *list,
					   const D8Field *fields, int nfields)
{
	size_t		i;

	for (i = 0; i < d8_json_size(list); i++)
		d8_result_set_add(rs, d8_json_at(list, i), fields, nfields);
}

/* Adds the reader's current record as one jsonb value, from its exact text. */
void
d8_result_set_add_record(D8ResultSet *rs, D8RecordReader *record)
{
	char	   *text = pnstrdup(record->raw, record->rawlen);
	Datum		value = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
	bool		isnull = false;

	tuplestore_putvalues(rs->store, rs->tupdesc, &value, &isnull);
	rs->rows++;
	pfree(text);
}

/*
 * Adds the items of every page of a paged list (GET path?page=N&filters),
 * reading until an empty page (a page holds "up to" 100 items, so a short
 * one is not the end), at most D8_MAX_LIST_PAGES pages.  Returns the number
 * of items.
 */
int64
d8_result_set_paged(D8ResultSet *rs, const char *path, const char *filters,
					const char *object, const D8Field *fields, int nfields)
{
	MemoryContext page_cxt = AllocSetContextCreate(CurrentMemoryContext,
												   "data8 page",
												   ALLOCSET_DEFAULT_SIZES);
	int64		total = 0;
	int			page;

	for (page = 1;; page++)
	{
		MemoryContext old;
		char	   *url;
		D8Json	   *list;
		size_t		n;

		if (page > D8_MAX_LIST_PAGES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("Data8 list GET %s has more than %d pages", path, D8_MAX_LIST_PAGES),
					 errdetail("A list is read until an empty page, and page %d held items. "
							   "A service that ignores the page parameter never sends an empty page.",
							   D8_MAX_LIST_PAGES),
					 errhint("Narrow the list with its filters, if it has any.")));
		old = MemoryContextSwitchTo(page_cxt);
		url = psprintf("%s?page=%d%s%s", path, page,
					   filters && filters[0] ? "&" : "", filters ? filters : "");
		list = d8_json_list(d8_api("GET", url, object, NULL, 0), "items", url);
		n = d8_json_size(list);
		d8_result_set_add_list(rs, list, fields, nfields);
		MemoryContextSwitchTo(old);
		MemoryContextReset(page_cxt);
		total += n;
		if (n == 0)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(page_cxt);
	return total;
}
