/*
 * stream_upload.c
 *	  data8.upload_dataset(name, query): the query's rows, read through a
 *	  cursor, encoded straight into JSON request bodies (no JSON tree), sent
 *	  in blocks of 1,000 with data8.parallel_requests blocks in flight.
 */
#include "data8.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "contract.h"
#include "dataset.h"
#include "http.h"
#include "json.h"
#include "profile.h"
#include "stream.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(data8_upload_dataset);

#define D8_PROGRESS_EVERY_MS 2000

/* How one column's values are written. */
typedef enum D8Encoder
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
} D8Encoder;

typedef struct UploadColumn
{
	char	   *name;
	char	   *key;			/* "\"name\":" ready to append */
	int			keylen;
	int			code;			/* Data8 type code */
	D8Encoder	enc;
	FmgrInfo	out;
} UploadColumn;

typedef struct Upload Upload;

typedef struct UploadBlock
{
	Upload	   *up;
	StringInfoData body;
	D8Request	req;
	D8Response	resp;
	int32		number;
	int64		first_record;	/* 1-based number of its first record */
	int			records;
	bool		busy;
} UploadBlock;

struct Upload
{
	char	   *name;
	char	   *object;
	char	   *data_path;
	int			ncols;
	UploadColumn *cols;
	int			npool;
	UploadBlock *pool;
	int64		records;
	int32		blocks;
	int64		bytes;
	int64		retries;
	TimestampTz start;
	TimestampTz last_progress;
};

/* The base type of a domain, or the type itself. */
static Oid
base_type(Oid typid)
{
	return getBaseType(typid);
}

/*
 * The Data8 type code for a column of SQL type typid: -1 (or an ERROR when
 * error is set) for arrays, composites and ranges, which would lose their
 * meaning as text.
 */
int
d8_type_code_for(Oid typid, const char *colname, bool error)
{
	Oid			base = base_type(typid);
	char		typtype = get_typtype(base);

	switch (base)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return D8_TYPE_INTEGER;
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			return D8_TYPE_DECIMAL;
		case BOOLOID:
			return D8_TYPE_BOOLEAN;
		case DATEOID:
			return D8_TYPE_DATE;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return D8_TYPE_DATETIME;
		default:
			break;
	}
	if (OidIsValid(get_element_type(base)) || typtype == TYPTYPE_COMPOSITE ||
		typtype == TYPTYPE_RANGE || typtype == TYPTYPE_MULTIRANGE ||
		typtype == TYPTYPE_PSEUDO)
	{
		if (error)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot be sent to Data8",
							colname, format_type_be(typid)),
					 errdetail("Data8 columns hold strings, integers, decimals, booleans, dates and datetimes."),
					 errhint("Cast the column in the query, e.g. to text.")));
		return -1;
	}
	return D8_TYPE_STRING;
}

static D8Encoder
encoder_for(Oid typid)
{
	switch (base_type(typid))
	{
		case TEXTOID:
		case VARCHAROID:
			return ENC_TEXT;
		case BPCHAROID:
			return ENC_BPCHAR;
		case NAMEOID:
			return ENC_NAME;
		case INT2OID:
			return ENC_INT2;
		case INT4OID:
			return ENC_INT4;
		case INT8OID:
			return ENC_INT8;
		case NUMERICOID:
			return ENC_NUMERIC;
		case FLOAT4OID:
		case FLOAT8OID:
			return ENC_FLOAT;
		case BOOLOID:
			return ENC_BOOL;
		case DATEOID:
			return ENC_DATE;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return ENC_TIMESTAMP;
		default:
			return ENC_OUTPUT;
	}
}

/* Reports progress as a NOTICE (with data8.progress) at most every 2 s. */
void
d8_progress_notice(const char *what, const char *dataset, int64 records,
				   int64 requests, TimestampTz start, bool last)
{
	double		secs = (double) (GetCurrentTimestamp() - start) / 1000000.0;

	if (!d8_progress)
		return;
	ereport(NOTICE,
			(errmsg("data8: %s " INT64_FORMAT " records %s dataset \"%s\" in " INT64_FORMAT
					" requests, %.1f s, %.0f records/s%s",
					what, records, strcmp(what, "uploaded") == 0 ? "to" : "from",
					dataset, requests, secs, secs > 0 ? records / secs : 0.0,
					last ? ", done" : "")));
}

static void
append_int64(StringInfo buf, int64 v)
{
	char		tmp[24];
	char	   *p = tmp + sizeof(tmp);
	uint64		u = v < 0 ? -(uint64) v : (uint64) v;

	do
	{
		*--p = '0' + (u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	appendBinaryStringInfo(buf, p, tmp + sizeof(tmp) - p);
}

static void
value_error(Upload *up, UploadColumn *col, int64 row, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value of column \"%s\" in row " INT64_FORMAT " cannot be sent to Data8",
					col->name, row),
			 errdetail("%s", why),
			 errhint("Filter or replace such values in the query.")));
}

/* Appends one value as JSON. */
static void
encode_value(Upload *up, UploadColumn *col, Datum d, StringInfo buf, int64 row)
{
	switch (col->enc)
	{
		case ENC_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				d8_json_append_string(buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case ENC_BPCHAR:
			{
				text	   *t = DatumGetTextPP(d);
				const char *s = VARDATA_ANY(t);
				int			len = VARSIZE_ANY_EXHDR(t);

				while (len > 0 && s[len - 1] == ' ')
					len--;
				d8_json_append_string(buf, s, len);
				break;
			}
		case ENC_NAME:
			d8_json_append_cstring(buf, NameStr(*DatumGetName(d)));
			break;
		case ENC_INT2:
			append_int64(buf, DatumGetInt16(d));
			break;
		case ENC_INT4:
			append_int64(buf, DatumGetInt32(d));
			break;
		case ENC_INT8:
			append_int64(buf, DatumGetInt64(d));
			break;
		case ENC_NUMERIC:
		case ENC_FLOAT:
			{
				char	   *s = OutputFunctionCall(&col->out, d);

				if (strcmp(s, "NaN") == 0 || strstr(s, "Infinity") != NULL)
					value_error(up, col, row, psprintf("%s is not a number JSON can carry.", s));
				appendStringInfoString(buf, s);
				break;
			}
		case ENC_BOOL:
			if (DatumGetBool(d))
				appendBinaryStringInfo(buf, "true", 4);
			else
				appendBinaryStringInfo(buf, "false", 5);
			break;
		case ENC_DATE:
			{
				DateADT		date = DatumGetDateADT(d);
				int			y,
							m,
							dd;

				if (DATE_NOT_FINITE(date))
					value_error(up, col, row, "Infinite dates cannot be sent.");
				j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
				if (y < 1 || y > 9999)
					value_error(up, col, row, "Data8 dates are in years 1 to 9999.");
				appendStringInfo(buf, "\"%04d-%02d-%02d\"", y, m, dd);
				break;
			}
		case ENC_TIMESTAMP:
			{
				Timestamp	ts = DatumGetTimestamp(d);

				if (TIMESTAMP_NOT_FINITE(ts))
					value_error(up, col, row, "Infinite timestamps cannot be sent.");
				d8_json_append_timestamp(buf, ts);
				break;
			}
		case ENC_OUTPUT:
			d8_json_append_cstring(buf, OutputFunctionCall(&col->out, d));
			break;
	}
}

/* Builds the column list from the query's result and checks each column. */
static void
upload_columns(Upload *up, TupleDesc tupdesc)
{
	int			i;

	up->cols = palloc0(sizeof(UploadColumn) * Max(tupdesc->natts, 1));
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		UploadColumn *col = &up->cols[up->ncols];
		StringInfoData key;
		Oid			outfn;
		bool		varlena;
		int			j;

		if (att->attisdropped)
			continue;
		col->name = pstrdup(NameStr(att->attname));
		d8_check_dataset_name(col->name, "column");
		for (j = 0; j < up->ncols; j++)
			if (strcmp(up->cols[j].name, col->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears twice in the query", col->name),
						 errhint("Alias the columns so that each name is unique.")));
		col->code = d8_type_code_for(att->atttypid, col->name, true);
		col->enc = encoder_for(att->atttypid);
		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		fmgr_info(outfn, &col->out);
		initStringInfo(&key);
		d8_json_append_cstring(&key, col->name);
		appendStringInfoChar(&key, ':');
		col->key = key.data;
		col->keylen = key.len;
		up->ncols++;
	}
	if (up->ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query returns no columns")));
	if (up->ncols > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a dataset can have at most 1000 columns")));
}

/* {"col": code, ...} of the upload's columns. */
static void
append_column_types(Upload *up, StringInfo buf)
{
	int			i;

	appendStringInfoChar(buf, '{');
	for (i = 0; i < up->ncols; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendBinaryStringInfo(buf, up->cols[i].key, up->cols[i].keylen);
		appendStringInfo(buf, "%d", up->cols[i].code);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * Creates the dataset, or (when it exists: a retry, or another session of
 * a scaled-out upload) checks that it is an incomplete input dataset with
 * the same columns.
 */
static void
create_or_check_dataset(Upload *up)
{
	StringInfoData body;
	D8Json	   *obj;
	D8Json	   *columns;
	bool		existed;
	bool		flag;
	StringInfoData ours;
	int			i;
	int64		code;
	size_t		n = 0;
	D8JsonIter	it;
	const char *k;
	D8Json	   *v;
	char	   *path = d8_url_path(2, "Dataset", up->name);

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"name\":");
	d8_json_append_cstring(&body, up->name);
	appendStringInfoString(&body, ",\"columns\":");
	append_column_types(up, &body);
	appendStringInfoChar(&body, '}');

	obj = d8_api_create_or_get("/Dataset", up->object, &body, path, &existed);
	if (!existed)
		return;

	if (d8_json_bool(d8_json_get(obj, "input"), &flag) && !flag)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("dataset \"%s\" exists and is an output dataset", up->name),
				 errhint("Choose another dataset name.")));
	if (d8_json_bool(d8_json_get(obj, "completed"), &flag) && flag)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("dataset \"%s\" exists and is already complete", up->name),
				 errhint("Datasets cannot be changed once complete; choose another name.")));
	columns = d8_json_get(obj, "columns");
	d8_json_iter_init(&it, columns);
	while (d8_json_iter_next(&it, &k, &v))
		n++;
	for (i = 0; i < up->ncols; i++)
	{
		D8Json	   *c = d8_json_get(columns, up->cols[i].name);

		if (c == NULL || !d8_json_int(c, &code) || code != up->cols[i].code)
			break;
	}
	if (i < up->ncols || n != (size_t) up->ncols)
	{
		initStringInfo(&ours);
		append_column_types(up, &ours);
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("dataset \"%s\" exists with other columns", up->name),
				 errdetail("Its columns are %s; the query's are %s.",
						   d8_json_dump(columns), ours.data),
				 errhint("Upload to a new dataset name, or make the query return the same columns.")));
	}
}

/* Error context of a failed block: which block, and how to finish. */
static void
block_error_context(void *arg)
{
	UploadBlock *b = (UploadBlock *) arg;

	errcontext("block %d (records " INT64_FORMAT " to " INT64_FORMAT ") of dataset \"%s\"; "
			   "blocks are idempotent: calling data8.upload_dataset again with the same arguments finishes the upload",
			   b->number, b->first_record, b->first_record + b->records - 1, b->up->name);
}

/* A block's final answer: an ERROR naming the block unless it was taken. */
static void
block_done(D8Request *req, D8Response *resp, void *arg)
{
	UploadBlock *b = (UploadBlock *) arg;

	if (!d8_http_ok(resp))
	{
		ErrorContextCallback cb;

		cb.callback = block_error_context;
		cb.arg = b;
		cb.previous = error_context_stack;
		error_context_stack = &cb;
		d8_http_raise(req, resp);
	}
	b->up->retries += resp->retries;
	b->up->bytes += b->body.len;
	b->busy = false;
	pfree(resp->body.data);
	resp->body.data = NULL;
}

static UploadBlock *
free_block(Upload *up)
{
	int			i;

	for (i = 0; i < up->npool; i++)
		if (!up->pool[i].busy)
			return &up->pool[i];
	elog(ERROR, "no free upload buffer");	/* cannot happen */
	return NULL;
}

/* Encodes the rows of SPI_tuptable as one block body. */
static void
encode_block(Upload *up, UploadBlock *b, SPITupleTable *tuptable, uint64 n,
			 Datum *values, bool *nulls)
{
	StringInfo	buf = &b->body;
	uint64		r;
	int			i;

	resetStringInfo(buf);
	appendStringInfo(buf, "{\"blockNumber\":%d,\"records\":[", b->number);
	for (r = 0; r < n; r++)
	{
		bool		first = true;
		int64		row = b->first_record + r;

		heap_deform_tuple(tuptable->vals[r], tuptable->tupdesc, values, nulls);
		if (r > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoChar(buf, '{');
		for (i = 0; i < up->ncols; i++)
		{
			UploadColumn *col = &up->cols[i];

			/* a missing key means null: nulls are left out */
			if (nulls[i])
				continue;
			if (!first)
				appendStringInfoChar(buf, ',');
			first = false;
			appendBinaryStringInfo(buf, col->key, col->keylen);
			encode_value(up, col, values[i], buf, row);
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoString(buf, "]}");
}

/*
 * upload_dataset(name, query, first_block, complete) -> upload_summary:
 * creates the dataset (or checks the one there), sends the query's rows
 * from block first_block on, and completes it with the exact count.
 */
Datum
data8_upload_dataset(PG_FUNCTION_ARGS)
{
	MemoryContext fcxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	Upload	   *up;
	char	   *query;
	int32		first_block;
	bool		complete;
	D8Pipeline *pipe;
	SPIPlanPtr	plan;
	Portal		portal;
	TupleDesc	tupdesc;
	TupleDesc	restupdesc;
	Datum	   *values;
	bool	   *nulls;
	int			i;
	Datum		result[5];
	bool		resnulls[5] = {false, false, false, false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of data8.upload_dataset must not be NULL")));
	up = palloc0(sizeof(Upload));
	up->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	first_block = PG_GETARG_INT32(2);
	complete = PG_GETARG_BOOL(3);
	d8_check_dataset_name(up->name, "dataset");
	if (first_block < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_block must be 0 or more")));
	if (complete && first_block > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an upload from block %d cannot complete the dataset", first_block),
				 errdetail("Only the caller knows how many records the blocks before %d hold.",
						   first_block),
				 errhint("Use complete => false, then data8.complete_dataset(name, total) once every part is sent.")));
	if (get_call_result_type(fcinfo, NULL, &restupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	restupdesc = BlessTupleDesc(restupdesc);

	up->object = psprintf("dataset \"%s\"", up->name);
	up->data_path = psprintf("%s/data", d8_url_path(2, "Dataset", up->name));
	up->start = GetCurrentTimestamp();
	up->last_progress = up->start;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the query: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of data8.upload_dataset must return rows"),
				 errhint("Pass a SELECT, VALUES or TABLE query.")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	tupdesc = portal->tupDesc;

	MemoryContextSwitchTo(fcxt);
	upload_columns(up, tupdesc);
	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	for (i = 0; i < tupdesc->natts; i++)
		if (TupleDescAttr(tupdesc, i)->attisdropped)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the query's result has dropped columns")));

	create_or_check_dataset(up);

	pipe = d8_pipeline_begin(d8_profile_active(), d8_parallel_requests);
	up->npool = d8_parallel_requests + 1;
	up->pool = palloc0(sizeof(UploadBlock) * up->npool);
	for (i = 0; i < up->npool; i++)
	{
		up->pool[i].up = up;
		initStringInfo(&up->pool[i].body);
	}
	rowcxt = AllocSetContextCreate(fcxt, "data8 upload rows", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		UploadBlock *b;
		uint64		n;

		SPI_cursor_fetch(portal, true, D8_BLOCK_RECORDS);
		n = SPI_processed;
		if (n == 0)
		{
			SPI_freetuptable(SPI_tuptable);
			break;
		}
		b = free_block(up);
		b->number = first_block + up->blocks;
		b->first_record = up->records + 1;
		b->records = (int) n;
		MemoryContextSwitchTo(rowcxt);
		encode_block(up, b, SPI_tuptable, n, values, nulls);
		MemoryContextSwitchTo(fcxt);
		MemoryContextReset(rowcxt);
		SPI_freetuptable(SPI_tuptable);

		b->req.method = "PATCH";
		b->req.path = up->data_path;
		b->req.object = up->object;
		b->req.body = &b->body;
		b->req.flags = D8_IDEMPOTENT;
		b->busy = true;
		up->records += n;
		up->blocks++;
		if (first_block + (int64) up->blocks > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many blocks for one dataset")));
		d8_pipeline_submit(pipe, &b->req, &b->resp, block_done, b);

		if (d8_progress &&
			TimestampDifferenceExceeds(up->last_progress, GetCurrentTimestamp(),
									   D8_PROGRESS_EVERY_MS))
		{
			up->last_progress = GetCurrentTimestamp();
			d8_progress_notice("uploaded", up->name, up->records, up->blocks,
							   up->start, false);
		}
	}
	d8_pipeline_drain(pipe);
	d8_pipeline_end(pipe);
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextSwitchTo(fcxt);

	if (complete)
		d8_dataset_complete(up->name, up->object, up->records);
	d8_progress_notice("uploaded", up->name, up->records, up->blocks, up->start, true);

	result[0] = CStringGetTextDatum(up->name);
	result[1] = Int64GetDatum(up->records);
	result[2] = Int32GetDatum(up->blocks);
	result[3] = Int64GetDatum(up->bytes);
	result[4] = Float8GetDatum((double) (GetCurrentTimestamp() - up->start) / 1000000.0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(restupdesc, result, resnulls)));
}

PG_FUNCTION_INFO_V1(data8_column_type_for);

/*
 * SQL: data8.column_type_for(regtype) -> the Data8 type code a column of
 * that type is sent as, or NULL when it cannot be sent.
 */
Datum
data8_column_type_for(PG_FUNCTION_ARGS)
{
	int			code = d8_type_code_for(PG_GETARG_OID(0), NULL, false);

	if (code < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(code);
}
