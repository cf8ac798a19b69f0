/*
 * stream_upload.c
 *	  data8.upload_dataset(name, query): the query's rows, read through a
 *	  cursor, encoded straight into JSON request bodies (no JSON tree), sent
 *	  in blocks of 1,000 with a window of blocks in flight (data8.parallel_requests).
 */
#include "data8.h"

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
#include "encode.h"
#include "json.h"
#include "profile.h"
#include "progress.h"
#include "request.h"
#include "stream.h"
#include "validate.h"
#include "window.h"

PG_FUNCTION_INFO_V1(data8_upload_dataset);

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
	D8Encoder  *enc;
	const D8UploadHooks *hooks;
	int			npool;
	UploadBlock *pool;
	int64		records;
	int32		blocks;
	int64		bytes;
	int64		retries;
	int			window;			/* largest window reached */
	D8Progress	progress;
};

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
	d8_encoder_append_types(up->enc, &body);
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
	for (i = 0; i < up->enc->ncols; i++)
	{
		D8Json	   *c = d8_json_get(columns, up->enc->cols[i].name);

		if (c == NULL || !d8_json_int(c, &code) || code != up->enc->cols[i].code)
			break;
	}
	if (i < up->enc->ncols || n != (size_t) up->enc->ncols)
	{
		initStringInfo(&ours);
		d8_encoder_append_types(up->enc, &ours);
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

/*
 * Encodes the rows of SPI_tuptable as one block body; the row hook sees
 * each record as sent.
 */
static void
encode_block(Upload *up, UploadBlock *b, SPITupleTable *tuptable, uint64 n,
			 Datum *values, bool *nulls)
{
	StringInfo	buf = &b->body;
	uint64		r;

	resetStringInfo(buf);
	appendStringInfo(buf, "{\"blockNumber\":%d,\"records\":[", b->number);
	for (r = 0; r < n; r++)
	{
		int			at;

		heap_deform_tuple(tuptable->vals[r], tuptable->tupdesc, values, nulls);
		if (r > 0)
			appendStringInfoChar(buf, ',');
		at = buf->len;
		d8_encode_record(up->enc, values, nulls, buf, b->first_record + r);
		if (up->hooks && up->hooks->row)
			up->hooks->row(up->hooks->arg, buf->data + at, buf->len - at, values, nulls);
	}
	appendStringInfoString(buf, "]}");
}

/*
 * Checks the arguments of an upload before anything is sent.
 */
static void
check_upload_args(const char *name, int32 first_block, bool complete)
{
	d8_check_dataset_name(name, "dataset");
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
}

/* Sends one block, and reports progress every few seconds. */
static void
send_block(Upload *up, D8Pipeline *pipe, UploadBlock *b)
{
	b->req.method = "PATCH";
	b->req.path = up->data_path;
	b->req.object = up->object;
	b->req.body = &b->body;
	b->req.flags = D8_IDEMPOTENT;
	b->busy = true;
	d8_pipeline_submit(pipe, &b->req, &b->resp, block_done, b);

	d8_progress_tick(&up->progress, up->records, up->blocks, d8_pipeline_window(pipe));
}

/* Opens a read-only cursor on query, which must return rows (SPI connected). */
static Portal
open_query_cursor(const char *query)
{
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "could not prepare the query: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of data8.upload_dataset must return rows"),
				 errhint("Pass a SELECT, VALUES or TABLE query.")));
	return SPI_cursor_open(NULL, plan, NULL, NULL, true);
}

/* Readies one block buffer per request the window may have in flight, plus one. */
static void
pool_begin(Upload *up)
{
	int			i;

	up->npool = d8_window_capacity() + 1;
	up->pool = palloc0(sizeof(UploadBlock) * up->npool);
	for (i = 0; i < up->npool; i++)
	{
		up->pool[i].up = up;
		initStringInfo(&up->pool[i].body);
	}
}

/*
 * Reads the cursor 1,000 rows at a time and sends each block as it is
 * encoded, numbering them from first_block; returns when all are answered.
 */
static void
send_rows(Upload *up, Portal portal, int32 first_block)
{
	MemoryContext fcxt = CurrentMemoryContext;
	MemoryContext rowcxt = AllocSetContextCreate(fcxt, "data8 upload rows",
												 ALLOCSET_DEFAULT_SIZES);
	D8Pipeline *pipe = d8_data_pipeline_begin();
	Datum	   *values = palloc(sizeof(Datum) * portal->tupDesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * portal->tupDesc->natts);

	for (;;)
	{
		UploadBlock *b;
		uint64		n;

		SPI_cursor_fetch(portal, true, D8_BLOCK_RECORDS);	/* keeps fcxt current */
		n = SPI_processed;
		if (n == 0)
		{
			SPI_freetuptable(SPI_tuptable);
			break;
		}
		if (first_block + (int64) up->blocks >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many blocks for one dataset")));
		b = free_block(up);
		b->number = first_block + up->blocks;
		b->first_record = up->records + 1;
		b->records = (int) n;
		MemoryContextSwitchTo(rowcxt);
		encode_block(up, b, SPI_tuptable, n, values, nulls);
		MemoryContextSwitchTo(fcxt);
		MemoryContextReset(rowcxt);
		SPI_freetuptable(SPI_tuptable);
		if (up->hooks && up->hooks->block)
			up->hooks->block(up->hooks->arg);

		up->records += n;
		up->blocks++;
		send_block(up, pipe, b);
	}
	d8_pipeline_drain(pipe);
	up->window = d8_pipeline_peak_window(pipe);
	d8_pipeline_end(pipe);
	MemoryContextDelete(rowcxt);
}

/*
 * Creates dataset name (or checks the one there), sends the rows of query
 * from block first_block on, read through a cursor, and with complete marks
 * the dataset complete with the exact count.  hooks (or NULL) see each
 * record and each block as it goes.  Memory stays flat.
 */
void
d8_upload(const char *name, const char *query, int32 first_block, bool complete,
		  const D8UploadHooks *hooks, D8UploadResult *result)
{
	MemoryContext fcxt = CurrentMemoryContext;
	Upload	   *up;
	Portal		portal;

	check_upload_args(name, first_block, complete);
	up = palloc0(sizeof(Upload));
	up->name = pstrdup(name);
	up->hooks = hooks;
	up->object = psprintf("dataset \"%s\"", up->name);
	up->data_path = psprintf("%s/data", d8_url_path(2, "Dataset", up->name));
	d8_progress_begin(&up->progress, "uploaded", up->name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = open_query_cursor(query);
	MemoryContextSwitchTo(fcxt);
	up->enc = d8_encoder_begin(portal->tupDesc, portal->tupDesc->natts);
	create_or_check_dataset(up);
	pool_begin(up);
	send_rows(up, portal, first_block);
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextSwitchTo(fcxt);

	if (complete)
		d8_dataset_complete(up->name, up->object, up->records);
	d8_progress_done(&up->progress, up->records, up->blocks, up->window);

	result->records = up->records;
	result->blocks = up->blocks;
	result->bytes = up->bytes;
	result->seconds = d8_progress_seconds(&up->progress);
	result->window = up->window;
}

/*
 * upload_dataset(name, query, first_block, complete) -> upload_summary:
 * creates the dataset (or checks the one there), sends the query's rows
 * from block first_block on, and completes it with the exact count.
 */
Datum
data8_upload_dataset(PG_FUNCTION_ARGS)
{
	TupleDesc	restupdesc;
	D8UploadResult res;
	Datum		result[6];
	bool		resnulls[6] = {false, false, false, false, false, false};
	char	   *name;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of data8.upload_dataset must not be NULL")));
	if (get_call_result_type(fcinfo, NULL, &restupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	restupdesc = BlessTupleDesc(restupdesc);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	d8_upload(name, text_to_cstring(PG_GETARG_TEXT_PP(1)), PG_GETARG_INT32(2),
			  PG_GETARG_BOOL(3), NULL, &res);

	result[0] = CStringGetTextDatum(name);
	result[1] = Int64GetDatum(res.records);
	result[2] = Int32GetDatum(res.blocks);
	result[3] = Int64GetDatum(res.bytes);
	result[4] = Float8GetDatum(res.seconds);
	result[5] = Int32GetDatum(res.window);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(restupdesc, result, resnulls)));
}
