/*
 * stream_fetch.c
 *	  data8.fetch_output(name) and data8.fetch_output_json(name): a dataset's
 *	  records as rows, pages of 1,000 requested with a window of them
 *	  (data8.parallel_requests) in flight and emitted in dataset order into a tuplestore (which spills
 *	  to disk past work_mem).
 */
#include "data8.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "column_input.h"
#include "json.h"
#include "profile.h"
#include "progress.h"
#include "record.h"
#include "request.h"
#include "result.h"
#include "stream.h"
#include "validate.h"
#include "window.h"

PG_FUNCTION_INFO_V1(data8_fetch_output);
PG_FUNCTION_INFO_V1(data8_fetch_output_json);

typedef struct Fetch Fetch;
typedef void (*RecordSink) (Fetch *f, D8RecordReader *record);

/*
 * Answer buffers kept from one page to the next: an emitted page's two (the
 * one its answer was received into and the one it was decoded into) come
 * back here, and the next page submitted takes them, so that answers land
 * in memory already touched instead of freshly faulted pages.  At most
 * twice the pages the window lets out are kept, each of at most
 * KEEP_BYTES: memory follows the window, and a huge answer is not kept.
 */
#define KEEP_BYTES		(1024 * 1024)
typedef struct BufferPool
{
	MemoryContext cxt;			/* the buffers' */
	int			n;
	StringInfoData buf[2 * D8_MAX_PARALLEL];
} BufferPool;

/* One page in flight or waiting to be emitted. */
typedef struct FetchPage
{
	MemoryContext cxt;			/* holds its request; reset once emitted */
	D8Request	req;
	D8Response	resp;
	int64		start;
	int			count;
	bool		done;
} FetchPage;

struct Fetch
{
	char	   *name;
	char	   *object;
	D8ResultSet *rs;
	RecordSink	sink;
	/* or records handed to a caller (d8_fetch_records) */
	D8RecordFn	cb_record;
	D8PageFn	cb_page;
	void	   *cb_arg;
	/* conversion to rows */
	int			natts;
	const char **attnames;		/* NULL for dropped attributes */
	int		   *attlens;		/* their lengths */
	D8ColumnInput *cols;
	StringInfoData scratch;		/* for the conversions */
	Datum	   *values;
	bool	   *nulls;
	/* error context */
	int64		recno;
	const char *column;
	/* progress */
	int64		records;
	int64		pages;
	D8Progress	progress;
	D8Pipeline *pipe;			/* while pages are fetched */
};

/* Error context: the record and column being converted. */
static void
fetch_error_context(void *arg)
{
	Fetch	   *f = (Fetch *) arg;

	/* a cancel is not about the record at hand */
	if (f->recno == 0 || geterrcode() == ERRCODE_QUERY_CANCELED)
		return;
	if (f->column)
		errcontext("record " INT64_FORMAT ", column \"%s\" of dataset \"%s\"",
				   f->recno, f->column, f->name);
	else
		errcontext("record " INT64_FORMAT " of dataset \"%s\"", f->recno, f->name);
}

/*
 * The attribute named key (keylen bytes), or -1; hint is where the last one
 * was found, so that members in the columns' order match at the first try.
 */
static int
find_attribute(Fetch *f, const char *key, int keylen, int hint)
{
	int			i;

	for (i = 0; i < f->natts; i++)
	{
		int			a = (hint + i) % f->natts;

		if (f->attlens[a] == keylen && f->attnames[a] &&
			memcmp(f->attnames[a], key, keylen) == 0)
			return a;
	}
	return -1;
}

/* Adds a record as a row of the requested type; absent members are NULL. */
static void
sink_row(Fetch *f, D8RecordReader *record)
{
	int			i;
	int			hint = 0;

	for (i = 0; i < f->natts; i++)
		f->nulls[i] = true;
	for (i = 0; i < record->nvalues; i++)
	{
		D8RecordValue *v = &record->values[i];
		int			a = find_attribute(f, v->key, v->keylen, hint);

		if (a < 0)
			continue;			/* a column not asked for */
		hint = a + 1;
		f->column = f->attnames[a];
		f->nulls[a] = (v->text == NULL);
		if (v->text != NULL)
			f->values[a] = d8_column_input(&f->cols[a], v, &f->scratch);
	}
	/* domains and NOT NULL checks see the missing values too */
	for (i = 0; i < f->natts; i++)
		if (f->nulls[i] && f->attnames[i])
		{
			f->column = f->attnames[i];
			f->values[i] = d8_column_input(&f->cols[i], NULL, NULL);
		}
	f->column = NULL;
	tuplestore_putvalues(f->rs->store, f->rs->tupdesc, f->values, f->nulls);
}

/* Adds a record as one jsonb value, from its exact text. */
static void
sink_json(Fetch *f, D8RecordReader *record)
{
	d8_result_set_add_record(f->rs, record);
}

/* Hands a record to the caller of d8_fetch_records. */
static void
sink_callback(Fetch *f, D8RecordReader *record)
{
	f->cb_record(f->cb_arg, record, f->recno);
}

static void
page_done(D8Request *req, D8Response *resp, void *arg)
{
	((FetchPage *) arg)->done = true;
}

/* A buffer from the pool into s; else a new one, or none if !needed. */
static void
pool_take(BufferPool *pool, StringInfo s, bool needed)
{
	if (pool->n > 0)
		*s = pool->buf[--pool->n];
	else if (needed)
	{
		MemoryContext old = MemoryContextSwitchTo(pool->cxt);

		initStringInfo(s);
		MemoryContextSwitchTo(old);
	}
	else
		memset(s, 0, sizeof(StringInfoData));
}

/* Gives s's buffer back to the pool, or frees it (see BufferPool). */
static void
pool_give(BufferPool *pool, StringInfo s, int keep)
{
	if (s->data == NULL)
		return;
	if (s->maxlen <= KEEP_BYTES && pool->n < Min(keep, lengthof(pool->buf)))
	{
		resetStringInfo(s);
		pool->buf[pool->n++] = *s;
	}
	else
		pfree(s->data);
	s->data = NULL;
}

/* Emits one page's records, checking that none is missing. */
static void
emit_page(Fetch *f, FetchPage *p, MemoryContext parse_cxt, BufferPool *pool)
{
	MemoryContext old;
	D8RecordReader reader;
	int64		n = 0;
	int			window;

	d8_http_check(&p->req, &p->resp);
	d8_http_check_json(&p->req, &p->resp);
	old = MemoryContextSwitchTo(parse_cxt);
	d8_records_begin(&reader, p->resp.body.data, p->resp.body.len,
					 psprintf("GET %s", p->req.path), p->start);
	f->recno = p->start;
	while (d8_records_next(&reader))
	{
		if (++n > p->count)
			break;
		f->sink(f, &reader);
		f->recno = p->start + n;	/* the next one, should it fail to parse */
	}
	f->recno = 0;
	if (n != p->count)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("Data8 returned %s records for records " INT64_FORMAT
						" to " INT64_FORMAT " of dataset \"%s\"",
						n > p->count ? "more" : "fewer",
						p->start, p->start + p->count - 1, f->name),
				 errdetail("%d records were asked for and %s came.", p->count,
						   n > p->count ? "more" : psprintf(INT64_FORMAT, n)),
				 errhint("The dataset's recordCount promised them: nothing is dropped silently.")));
	if (f->cb_page)
		f->cb_page(f->cb_arg);
	f->records += n;
	f->pages++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(parse_cxt);
	MemoryContextReset(p->cxt);
	window = d8_pipeline_window(f->pipe);
	pool_give(pool, &p->resp.body, 2 * window);
	pool_give(pool, &p->resp.spare, 2 * window);
	p->done = false;

	d8_progress_tick(&f->progress, f->records, f->pages, window);
}

/* Requests all pages (a window of them in flight) and emits them in order. */
static void
fetch_pages(Fetch *f, int64 total)
{
	int			window = d8_window_capacity();
	int64		npages = (total + D8_BLOCK_RECORDS - 1) / D8_BLOCK_RECORDS;
	int64		next_submit = 0;
	int64		next_emit = 0;
	FetchPage  *ring = palloc0(sizeof(FetchPage) * window);
	MemoryContext parse_cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 fetch parse",
													ALLOCSET_DEFAULT_SIZES);
	char	   *base = psprintf("%s/data", d8_url_path(2, "Dataset", f->name));
	D8Pipeline *pipe = d8_data_pipeline_begin();
	BufferPool *pool = palloc(sizeof(BufferPool));
	ErrorContextCallback errcb;
	int			peak;
	int			i;

	f->pipe = pipe;
	pool->cxt = CurrentMemoryContext;
	pool->n = 0;
	for (i = 0; i < window; i++)
		ring[i].cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 fetch page",
											ALLOCSET_DEFAULT_SIZES);
	errcb.callback = fetch_error_context;
	errcb.arg = f;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	while (next_emit < npages)
	{
		FetchPage  *p;

		/*
		 * Pages not yet emitted keep their answers: at most the pipeline's
		 * window of them, so memory follows the window, not the ring.
		 */
		while (next_submit < npages &&
			   next_submit < next_emit + Min(window, d8_pipeline_window(pipe)))
		{
			MemoryContext old;

			p = &ring[next_submit % window];
			old = MemoryContextSwitchTo(p->cxt);
			p->start = next_submit * D8_BLOCK_RECORDS + 1;
			p->count = (int) Min((int64) D8_BLOCK_RECORDS, total - (p->start - 1));
			p->done = false;
			p->req.method = "GET";
			p->req.path = psprintf("%s?start=" INT64_FORMAT "&count=%d", base, p->start, p->count);
			p->req.object = f->object;
			p->req.body = NULL;
			p->req.flags = D8_IDEMPOTENT | D8_REUSE_BUFFERS;
			pool_take(pool, &p->resp.body, true);
			pool_take(pool, &p->resp.spare, false);
			d8_pipeline_set_in_window(pipe, (int) (next_submit - next_emit + 1));
			d8_pipeline_submit(pipe, &p->req, &p->resp, page_done, p);
			MemoryContextSwitchTo(old);
			next_submit++;
		}
		p = &ring[next_emit % window];
		while (!p->done)
			d8_pipeline_poll(pipe);
		emit_page(f, p, parse_cxt, pool);
		next_emit++;
	}
	peak = d8_pipeline_peak_window(pipe);
	d8_pipeline_end(pipe);
	f->pipe = NULL;
	for (i = 0; i < window; i++)
		MemoryContextDelete(ring[i].cxt);
	while (pool->n > 0)
		pfree(pool->buf[--pool->n].data);
	pfree(pool);
	pfree(ring);
	MemoryContextDelete(parse_cxt);
	error_context_stack = errcb.previous;
	d8_progress_done(&f->progress, f->records, f->pages, peak);
}

/*
 * Reads a dataset's details: it must be a complete output dataset with a
 * record count.  Returns the dataset object and sets *total.
 */
static D8Json *
complete_output_dataset(const char *name, const char *object, int64 *total)
{
	D8Json	   *obj = d8_api("GET", d8_url_path(2, "Dataset", name), object, NULL, 0);
	bool		flag;

	if (d8_json_bool(d8_json_get(obj, "input"), &flag) && flag)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("dataset \"%s\" is an input dataset", name),
				 errdetail("Only output datasets (made by jobs) can be downloaded."),
				 errhint("Fetch the output dataset named in the job's output_datasets.")));
	if (d8_json_bool(d8_json_get(obj, "completed"), &flag) && !flag)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("dataset \"%s\" is not complete yet", name),
				 errhint("Wait for the job that fills it with data8.wait_for_job().")));
	*total = 0;
	if (!d8_json_int(d8_json_get(obj, "recordCount"), total) || *total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Data8 dataset \"%s\" has no valid recordCount", name)));
	return obj;
}

/*
 * Reads the dataset's details (see complete_output_dataset); with a row
 * type, each requested column must be one of its columns.  Returns its
 * record count.
 */
static int64
check_dataset(Fetch *f, bool rows)
{
	int64		total;
	D8Json	   *columns = d8_json_get(complete_output_dataset(f->name, f->object, &total),
									  "columns");
	int			i;

	for (i = 0; rows && i < f->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(f->rs->tupdesc, i);

		if (att->attisdropped || d8_json_get(columns, NameStr(att->attname)) != NULL)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" is not in dataset \"%s\"",
						NameStr(att->attname), f->name),
				 errdetail("The dataset's columns are %s.", d8_json_dump(columns)),
				 errhint("Name the result columns after the dataset's columns.")));
	}
	return total;
}

/*
 * The columns object of complete output dataset name ({"col": code}), and
 * its record count in *total.
 */
D8Json *
d8_fetch_dataset_columns(const char *name, int64 *total)
{
	d8_check_dataset_name(name, "dataset");
	return d8_json_get(complete_output_dataset(name, psprintf("dataset \"%s\"", name), total),
					   "columns");
}

/*
 * Streams the total records of dataset name to record(), in order, with
 * page() after each page of them; pages are requested many at a time.
 */
void
d8_fetch_records(const char *name, int64 total, D8RecordFn record, D8PageFn page,
				 void *arg)
{
	Fetch	   *f = palloc0(sizeof(Fetch));

	f->name = pstrdup(name);
	f->object = psprintf("dataset \"%s\"", name);
	f->sink = sink_callback;
	f->cb_record = record;
	f->cb_page = page;
	f->cb_arg = arg;
	d8_progress_begin(&f->progress, "fetched", f->name);
	fetch_pages(f, total);
}

static Fetch *
fetch_begin(FunctionCallInfo fcinfo, RecordSink sink)
{
	Fetch	   *f = palloc0(sizeof(Fetch));

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dataset name must not be NULL")));
	f->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	d8_check_dataset_name(f->name, "dataset");
	f->object = psprintf("dataset \"%s\"", f->name);
	f->sink = sink;
	f->rs = d8_result_set_begin(fcinfo);
	d8_progress_begin(&f->progress, "fetched", f->name);
	return f;
}

/*
 * fetch_output(name) AS t(col type, ...) and fetch_output(name, NULL::row)
 * -> the dataset's records as rows, columns matched by name, values
 * converted with the column types' input functions.
 */
Datum
data8_fetch_output(PG_FUNCTION_ARGS)
{
	Fetch	   *f;
	TupleDesc	tupdesc;
	int64		total;
	int			i;

	if (get_call_result_type(fcinfo, NULL, NULL) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("data8.fetch_output needs a row type"),
				 errhint("Use a column definition list, AS t(id integer, ...), or pass NULL::a_table_type.")));
	f = fetch_begin(fcinfo, sink_row);
	tupdesc = f->rs->tupdesc;

	f->natts = tupdesc->natts;
	f->attnames = palloc0(sizeof(char *) * f->natts);
	f->attlens = palloc(sizeof(int) * f->natts);
	f->cols = palloc0(sizeof(D8ColumnInput) * f->natts);
	initStringInfo(&f->scratch);
	f->values = palloc0(sizeof(Datum) * f->natts);
	f->nulls = palloc0(sizeof(bool) * f->natts);
	for (i = 0; i < f->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		f->attlens[i] = -1;
		if (att->attisdropped)
			continue;
		f->attnames[i] = NameStr(att->attname);
		f->attlens[i] = strlen(f->attnames[i]);
		d8_column_input_init(&f->cols[i], att->atttypid, att->atttypmod);
	}
	total = check_dataset(f, true);
	fetch_pages(f, total);
	PG_RETURN_NULL();
}

/* fetch_output_json(name) -> one jsonb object per record, in order. */
Datum
data8_fetch_output_json(PG_FUNCTION_ARGS)
{
	Fetch	   *f = fetch_begin(fcinfo, sink_json);

	fetch_pages(f, check_dataset(f, false));
	PG_RETURN_NULL();
}
