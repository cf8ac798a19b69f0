/*
 * run.c
 *	  Cleansing runs: cleanse_table(), submit_cleanse(), submit_scheduled()
 *	  and sync().  A run belongs to the role that submits it and records
 *	  the profile it uses.  Its row in data8.runs and the fingerprints of
 *	  the rows it sends are written with the extension owner's rights;
 *	  its table is read and updated with the owner's rights alone: sync()
 *	  switches to the run's owner in a security-restricted operation, as
 *	  REFRESH MATERIALIZED VIEW does, so that triggers, defaults and casts
 *	  on the table never run with the rights of whoever calls sync().
 */
#include "data8.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "contract.h"
#include "encode.h"
#include "job.h"
#include "json.h"
#include "profile.h"
#include "request.h"
#include "run.h"
#include "stream.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(data8_cleanse_table);
PG_FUNCTION_INFO_V1(data8_submit_cleanse);
PG_FUNCTION_INFO_V1(data8_submit_scheduled);
PG_FUNCTION_INFO_V1(data8_sync);

/* What a run is asked to do: the arguments of cleanse_table() and friends. */
typedef struct RunRequest
{
	Oid			target;
	char	   *key_column;
	char	   *workflow;
	char	   *input_name;
	char	   *output_name;
	Datum		columns;		/* name[], or 0 for NULL */
	Datum		parameters;		/* jsonb, or 0 */
	char	   *filter;
	Datum		timeout;		/* interval */
	Datum		column_map;		/* jsonb, or 0 */
	Datum		extra_inputs;	/* jsonb, or 0 */
	bool		keep_datasets;
	char	   *schedule_name;
} RunRequest;

/* Fingerprints of the records of one block, until they are written. */
typedef struct Fingerprints
{
	int64		run_id;
	MemoryContext cxt;
	FmgrInfo	key_out;
	int			n;
	Datum		keys[D8_BLOCK_RECORDS];
	Datum		prints[D8_BLOCK_RECORDS];
} Fingerprints;

/* The C strings of a text[] or name[] Datum. */
static char **
string_array(Datum arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;
	int			i;
	ArrayType  *a = DatumGetArrayTypeP(arr);
	int16		len;
	bool		byval;
	char		align;

	get_typlenbyvalalign(ARR_ELEMTYPE(a), &len, &byval, &align);
	deconstruct_array(a, ARR_ELEMTYPE(a), len, byval, align, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL :
			ARR_ELEMTYPE(a) == NAMEOID ? pstrdup(NameStr(*DatumGetName(elems[i]))) :
			TextDatumGetCString(elems[i]);
	return out;
}

static char *
spi_cstring(HeapTuple tup, TupleDesc desc, const char *col)
{
	int			att = SPI_fnumber(desc, col);

	if (att <= 0)
		elog(ERROR, "no column %s", col);
	return SPI_getvalue(tup, desc, att);
}

static Datum
spi_datum(HeapTuple tup, TupleDesc desc, const char *col, bool *isnull)
{
	int			att = SPI_fnumber(desc, col);

	if (att <= 0)
		elog(ERROR, "no column %s", col);
	return SPI_getbinval(tup, desc, att, isnull);
}

/* The run's column_map (a checked jsonb object of strings) as two arrays. */
static void
run_set_map(D8Run *run, Datum column_map)
{
	Jsonb	   *jb = DatumGetJsonbP(column_map);
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			max = JB_ROOT_COUNT(jb);

	run->nmap = 0;
	run->map_columns = palloc(sizeof(char *) * Max(max, 1));
	run->map_fields = palloc(sizeof(char *) * Max(max, 1));
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			run->map_columns[run->nmap] = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && v.type == jbvString)
			run->map_fields[run->nmap++] = pnstrdup(v.val.string.val, v.val.string.len);
	}
}

/* A run from its row of data8.runs, in CurrentMemoryContext. */
static D8Run *
run_from_tuple(HeapTuple tup, TupleDesc desc)
{
	D8Run	   *run = palloc0(sizeof(D8Run));
	bool		isnull;
	Datum		d;
	int			n;

	run->id = DatumGetInt64(spi_datum(tup, desc, "id", &isnull));
	run->target = DatumGetObjectId(spi_datum(tup, desc, "target", &isnull));
	run->key_column = spi_cstring(tup, desc, "key_column");
	run->columns = string_array(spi_datum(tup, desc, "columns", &isnull), &run->ncols);
	d = spi_datum(tup, desc, "fields", &isnull);
	run->fields = isnull ? run->columns : string_array(d, &n);
	run->output_name = spi_cstring(tup, desc, "output_name");
	run->job_name = spi_cstring(tup, desc, "job_name");
	run->input_dataset = spi_cstring(tup, desc, "input_dataset");
	run->owner = spi_cstring(tup, desc, "owner");
	run->profile = spi_cstring(tup, desc, "profile");
	run->keep_datasets = DatumGetBool(spi_datum(tup, desc, "keep_datasets", &isnull));
	d = spi_datum(tup, desc, "rows_sent", &isnull);
	run->rows_sent = isnull ? 0 : DatumGetInt64(d);
	d = spi_datum(tup, desc, "column_map", &isnull);
	if (!isnull)
		run_set_map(run, d);
	return run;
}

/* Row hook of the upload: the key and fingerprint of each record sent. */
static void
fingerprint_row(void *arg, const char *record, int len, Datum *values, bool *nulls)
{
	Fingerprints *fp = (Fingerprints *) arg;
	MemoryContext old = MemoryContextSwitchTo(fp->cxt);

	if (nulls[0])
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("a row to send has a NULL key"),
				 errhint("Rows without a key cannot be matched; filter them out.")));
	fp->keys[fp->n] = CStringGetTextDatum(OutputFunctionCall(&fp->key_out, values[0]));
	fp->prints[fp->n] = Int64GetDatum((int64) d8_fingerprint(record, len));
	fp->n++;
	MemoryContextSwitchTo(old);
}

/* Block hook of the upload: writes the block's fingerprints. */
static void
fingerprint_block(void *arg)
{
	Fingerprints *fp = (Fingerprints *) arg;
	Oid			types[3] = {INT8OID, TEXTARRAYOID, INT8ARRAYOID};
	Datum		args[3];
	MemoryContext old = MemoryContextSwitchTo(fp->cxt);

	if (fp->n == 0)
		return;
	args[0] = Int64GetDatum(fp->run_id);
	args[1] = PointerGetDatum(construct_array(fp->keys, fp->n, TEXTOID, -1, false, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(fp->prints, fp->n, INT8OID, 8,
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (d8_spi_as_owner("INSERT INTO data8.run_rows (run_id, key, fingerprint)"
						" SELECT $1, k, f FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(k, f)",
						NULL, 3, types, args, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the fingerprints");
	MemoryContextSwitchTo(old);
	MemoryContextReset(fp->cxt);
	fp->n = 0;
}

/* 8 random hex digits: names are never reused (deleted names stay taken). */
static char *
random_suffix(void)
{
	uint32		r;

	if (!pg_strong_random(&r, sizeof(r)))
		r = (uint32) GetCurrentTimestamp() ^ (uint32) MyProcPid;
	return psprintf("%08x", r);
}

/* The dataset and job names of a run: unique, and traceable to table and run. */
static void
run_names(D8Run *run, char **dataset, char **job)
{
	char	   *rel = get_rel_name(run->target);
	char	   *nsp = get_namespace_name(get_rel_namespace(run->target));
	char	   *suffix = random_suffix();
	StringInfoData slug;
	char	   *qualified = psprintf("%s.%s", nsp, rel);
	char	   *p;

	initStringInfo(&slug);
	for (p = rel; *p && slug.len < 40; p++)
	{
		char		c = pg_tolower((unsigned char) *p);

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
			appendStringInfoChar(&slug, c);
		else if (slug.len == 0 || slug.data[slug.len - 1] != '_')
			appendStringInfoChar(&slug, '_');
	}
	if (slug.len == 0 || !(slug.data[0] >= 'a' && slug.data[0] <= 'z'))
	{
		char	   *s = psprintf("t%s", slug.data);

		resetStringInfo(&slug);
		appendStringInfoString(&slug, s);
	}
	for (p = qualified; *p; p++)
		if (strchr("/:*?\"<>|\\", *p))
			*p = '_';
	*dataset = psprintf("d8_%s_r" INT64_FORMAT "_%s", slug.data, run->id, suffix);
	*job = psprintf("data8 %s run " INT64_FORMAT " %s", qualified, run->id, suffix);
}

/* Checks the request's simple arguments before anything is sent. */
static void
check_request(RunRequest *rq)
{
	if (rq->workflow == NULL || rq->workflow[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workflow must not be empty")));
	if (rq->input_name == NULL || rq->output_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("input_name and output_name must not be NULL")));
	if (rq->timeout == (Datum) 0 ||
		DatumGetBool(DirectFunctionCall2(interval_le, rq->timeout,
										 DirectFunctionCall3(interval_in, CStringGetDatum("0"),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must be positive")));
	if (rq->parameters && !JB_ROOT_IS_OBJECT(DatumGetJsonbP(rq->parameters)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must be a JSON object")));
	if (rq->extra_inputs)
	{
		Jsonb	   *jb = DatumGetJsonbP(rq->extra_inputs);
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;
		char	   *key = NULL;

		if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("extra_inputs must be a JSON object"),
					 errhint("Map the workflow's input keys to existing datasets: {\"Accounts\": \"accounts_2024\"}.")));
		it = JsonbIteratorInit(&jb->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
			{
				key = pnstrdup(v.val.string.val, v.val.string.len);
				if (strcmp(key, rq->input_name) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("extra_inputs names input \"%s\", which is the table's", key),
							 errhint("extra_inputs holds the workflow's other inputs.")));
			}
			else if (tok == WJB_VALUE)
			{
				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("extra_inputs entry \"%s\" is not a dataset name", key),
							 errhint("Each entry maps an input key to the name of an existing dataset.")));
				d8_check_dataset_name(pnstrdup(v.val.string.val, v.val.string.len), "dataset");
			}
		}
	}
}

/* The columns to send and their fields, from data8.cleanse_columns(). */
static void
request_columns(RunRequest *rq, D8Run *run)
{
	Oid			types[5] = {REGCLASSOID, NAMEOID, NAMEARRAYOID, TEXTOID, JSONBOID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	uint64		i;

	args[0] = ObjectIdGetDatum(rq->target);
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(rq->key_column));
	args[2] = rq->columns;
	args[3] = rq->filter ? CStringGetTextDatum(rq->filter) : (Datum) 0;
	args[4] = rq->column_map;
	nulls[2] = rq->columns ? ' ' : 'n';
	nulls[3] = rq->filter ? ' ' : 'n';
	nulls[4] = rq->column_map ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT column_name, field FROM data8.cleanse_columns($1, $2, $3, $4, $5)",
							  5, types, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the columns");
	run->ncols = (int) SPI_processed;
	run->columns = palloc(sizeof(char *) * Max(run->ncols, 1));
	run->fields = palloc(sizeof(char *) * Max(run->ncols, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		run->columns[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		run->fields[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
}

/* The Datum of a C string array as text[] (or name[] with names). */
static Datum
cstring_array(char **strings, int n, bool names)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = names ? DirectFunctionCall1(namein, CStringGetDatum(strings[i])) :
			CStringGetTextDatum(strings[i]);
	return names ?
		PointerGetDatum(construct_array(elems, n, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR)) :
		PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Records a new run in data8.runs (state uploading); returns its id. */
static int64
run_insert(RunRequest *rq, D8Run *run)
{
	Oid			types[16] = {REGCLASSOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID, NAMEARRAYOID,
		JSONBOID, TEXTOID, INTERVALOID, TEXTOID, NAMEOID, TEXTOID, TEXTARRAYOID, JSONBOID,
	JSONBOID, BOOLOID};
	Datum		args[16];
	char		nulls[17] = "               ";
	bool		isnull;

	args[0] = ObjectIdGetDatum(rq->target);
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(rq->key_column));
	args[2] = CStringGetTextDatum(rq->workflow);
	args[3] = CStringGetTextDatum(rq->input_name);
	args[4] = CStringGetTextDatum(rq->output_name);
	args[5] = cstring_array(run->columns, run->ncols, true);
	args[6] = rq->parameters;
	nulls[6] = rq->parameters ? ' ' : 'n';
	args[7] = rq->filter ? CStringGetTextDatum(rq->filter) : (Datum) 0;
	nulls[7] = rq->filter ? ' ' : 'n';
	args[8] = rq->timeout;
	args[9] = rq->schedule_name ? CStringGetTextDatum(rq->schedule_name) : (Datum) 0;
	nulls[9] = rq->schedule_name ? ' ' : 'n';
	args[10] = DirectFunctionCall1(namein, CStringGetDatum(run->owner));
	args[11] = CStringGetTextDatum(run->profile);
	args[12] = cstring_array(run->fields, run->ncols, false);
	args[13] = rq->column_map;
	nulls[13] = rq->column_map ? ' ' : 'n';
	args[14] = rq->extra_inputs;
	nulls[14] = rq->extra_inputs ? ' ' : 'n';
	args[15] = BoolGetDatum(rq->keep_datasets);
	if (d8_spi_as_owner("INSERT INTO data8.runs (target, key_column, workflow, input_name, output_name,"
						" columns, parameters, filter, timeout, schedule_name, owner, profile, fields,"
						" column_map, extra_inputs, keep_datasets)"
						" VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, '{}'), $8, $9, $10, $11, $12,"
						" $13, $14, $15, $16) RETURNING id",
						NULL, 16, types, args, nulls) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not record the run");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Submits a run: checks it, records it, uploads the rows with their
 * fingerprints and starts the job, all with the caller's rights to the
 * table.  Must be called inside an SPI connection.  Returns the run.
 */
static D8Run *
run_submit(RunRequest *rq)
{
	D8Run	   *run = palloc0(sizeof(D8Run));
	Fingerprints *fp = palloc0(sizeof(Fingerprints));
	D8UploadHooks hooks = {fingerprint_row, fingerprint_block, fp};
	D8UploadResult up;
	char	   *dataset;
	char	   *job;
	char	   *query;
	Oid			keytype;
	Oid			outfn;
	bool		varlena;
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	Oid			utypes[5] = {INT8OID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
	Datum		uargs[5];
	int			nest;

	d8_run_check_not_applying();
	check_request(rq);
	request_columns(rq, run);
	run->key_column = rq->key_column;
	run->target = rq->target;
	if (rq->column_map)
		run_set_map(run, rq->column_map);
	run->owner = GetUserNameFromId(GetUserId(), false);
	run->profile = pstrdup(d8_profile_name ? d8_profile_name : "");
	(void) d8_profile_active();	/* may the caller use it? fail before anything is sent */
	run->id = run_insert(rq, run);

	run_names(run, &dataset, &job);
	query = psprintf("SELECT %s FROM %s WHERE (%s)", d8_run_select_list(run),
					 d8_run_target_name(run), rq->filter ? rq->filter : "true");
	fp->run_id = run->id;
	fp->cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 fingerprints",
									ALLOCSET_DEFAULT_SIZES);
	keytype = get_atttype(run->target, get_attnum(run->target, run->key_column));
	getTypeOutputInfo(keytype, &outfn, &varlena);
	fmgr_info(outfn, &fp->key_out);
	nest = d8_run_pin();
	d8_upload(dataset, query, 0, true, &hooks, &up);
	d8_run_unpin(nest);
	MemoryContextDelete(fp->cxt);

	args[0] = CStringGetTextDatum(job);
	args[1] = CStringGetTextDatum(rq->workflow);
	args[2] = CStringGetTextDatum(rq->input_name);
	args[3] = CStringGetTextDatum(dataset);
	args[4] = rq->extra_inputs;
	nulls[4] = rq->extra_inputs ? ' ' : 'n';
	args[5] = rq->parameters;
	nulls[5] = rq->parameters ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT data8.start_job($1, $2,"
							  " coalesce($5, '{}') OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object($3, $4),"
							  " coalesce($6, '{}'))",
							  6, types, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not start the job");

	uargs[0] = Int64GetDatum(run->id);
	uargs[1] = CStringGetTextDatum(job);
	uargs[2] = CStringGetTextDatum(dataset);
	uargs[3] = Int64GetDatum(up.records);
	if (d8_spi_as_owner("UPDATE data8.runs SET state = 'submitted', job_name = $2, input_dataset = $3,"
						" rows_sent = $4, submitted_at = pg_catalog.clock_timestamp()"
						" WHERE id OPERATOR(pg_catalog.=) $1",
						NULL, 4, utypes, uargs, NULL) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the run");
	run->job_name = job;
	run->input_dataset = dataset;
	run->rows_sent = up.records;
	run->output_name = rq->output_name;
	run->keep_datasets = rq->keep_datasets;
	return run;
}

/* Deletes a dataset of a finished run; a failure is only a WARNING. */
static void
drop_dataset(const char *name)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];

	if (name == NULL)
		return;
	args[0] = CStringGetTextDatum(name);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		SPI_execute_with_args("SELECT data8.delete_dataset($1)", 1, types, args, NULL, false, 0);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(WARNING,
				(errmsg("data8: dataset \"%s\" could not be deleted: %s", name, edata->message),
				 errhint("Delete it with data8.delete_dataset() once the service answers.")));
	}
	PG_END_TRY();
}

/*
 * Applies a run whose job completed with output dataset out: updates the
 * table with the current user's rights, records the counts (state done),
 * and deletes the run's datasets unless it keeps them.
 */
static void
run_finish(D8Run *run, const char *out)
{
	D8ApplyResult res;
	Oid			types[9] = {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID};
	Datum		args[9];

	if (d8_spi_as_owner("UPDATE data8.runs SET state = 'applying', output_dataset = $2,"
						" apply_started_at = pg_catalog.clock_timestamp()"
						" WHERE id OPERATOR(pg_catalog.=) $1",
						NULL, 2, types, (Datum[]) {Int64GetDatum(run->id), CStringGetTextDatum(out)},
						NULL) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the run");
	d8_run_apply(run, out, &res);
	args[0] = Int64GetDatum(run->id);
	args[1] = CStringGetTextDatum(out);
	args[2] = Int64GetDatum(res.updated);
	args[3] = Int64GetDatum(res.unchanged);
	args[4] = Int64GetDatum(res.missing);
	args[5] = Int64GetDatum(res.conflicted);
	args[6] = Int64GetDatum(res.deleted);
	args[7] = Int64GetDatum(res.unexpected);
	args[8] = Int64GetDatum(0);
	if (d8_spi_as_owner("UPDATE data8.runs SET state = 'done', rows_updated = $3, rows_unchanged = $4,"
						" rows_missing = $5, rows_conflicted = $6, rows_deleted = $7,"
						" rows_unexpected = $8, fetched_at = pg_catalog.clock_timestamp(),"
						" finished_at = pg_catalog.clock_timestamp(), error = NULL"
						" WHERE id OPERATOR(pg_catalog.=) $1",
						NULL, 8, types, args, NULL) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the run");
	ereport(NOTICE,
			(errmsg("data8: run " INT64_FORMAT " cleansed %s: " INT64_FORMAT " rows sent, "
					INT64_FORMAT " updated, " INT64_FORMAT " unchanged, " INT64_FORMAT
					" conflicted, " INT64_FORMAT " deleted, " INT64_FORMAT " missing, "
					INT64_FORMAT " unexpected",
					run->id, d8_run_target_name(run), run->rows_sent, res.updated, res.unchanged,
					res.conflicted, res.deleted, res.missing, res.unexpected)));
	if (!run->keep_datasets)
	{
		drop_dataset(run->input_dataset);
		drop_dataset(out);
	}
}

/* The arguments of cleanse_table() and submit_cleanse() as a request. */
static RunRequest *
request_from_args(FunctionCallInfo fcinfo)
{
	RunRequest *rq = palloc0(sizeof(RunRequest));

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target and key_column must not be NULL")));
	rq->target = PG_GETARG_OID(0);
	rq->key_column = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	rq->workflow = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	rq->input_name = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	rq->output_name = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	rq->columns = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
	rq->parameters = PG_ARGISNULL(6) ? (Datum) 0 : PG_GETARG_DATUM(6);
	rq->filter = PG_ARGISNULL(7) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(7));
	rq->timeout = PG_ARGISNULL(8) ? (Datum) 0 : PG_GETARG_DATUM(8);
	rq->column_map = PG_ARGISNULL(9) ? (Datum) 0 : PG_GETARG_DATUM(9);
	rq->extra_inputs = PG_ARGISNULL(10) ? (Datum) 0 : PG_GETARG_DATUM(10);
	rq->keep_datasets = PG_ARGISNULL(11) ? false : PG_GETARG_BOOL(11);
	return rq;
}

/*
 * submit_cleanse(...) -> run id: uploads the rows with their fingerprints
 * and starts the job; data8.sync() applies the output later.
 */
Datum
data8_submit_cleanse(PG_FUNCTION_ARGS)
{
	RunRequest *rq = request_from_args(fcinfo);
	D8Run	   *run;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run = run_submit(rq);
	SPI_finish();
	PG_RETURN_INT64(run->id);
}

/*
 * CALL cleanse_table(...): submits a run, waits for its job, and applies
 * the output in the same transaction (an ERROR leaves the table as it was).
 */
Datum
data8_cleanse_table(PG_FUNCTION_ARGS)
{
	RunRequest *rq = request_from_args(fcinfo);
	D8Run	   *run;
	Oid			types[3] = {TEXTOID, INTERVALOID, TEXTOID};
	Datum		args[3];
	bool		isnull;
	Datum		out;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run = run_submit(rq);
	args[0] = CStringGetTextDatum(run->job_name);
	args[1] = rq->timeout;
	args[2] = CStringGetTextDatum(run->output_name);
	if (SPI_execute_with_args("SELECT j.output_datasets OPERATOR(pg_catalog.->>) $3, j.output_datasets"
							  " FROM data8.wait_for_job($1, $2) j",
							  3, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not wait for the job");
	out = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Data8 job \"%s\" has no output \"%s\"", run->job_name, run->output_name),
				 errdetail("Its outputs are %s.",
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Set output_name to the workflow's output key.")));
	run_finish(run, TextDatumGetCString(out));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * submit_scheduled(schedule_name) -> run id, or NULL when the schedule's
 * last run is unfinished: what pg_cron runs, as the schedule's owner, who
 * only ever reads her own schedule.
 */
Datum
data8_submit_scheduled(PG_FUNCTION_ARGS)
{
	RunRequest *rq = palloc0(sizeof(RunRequest));
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	D8Run	   *run;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schedule_name must not be NULL")));
	rq->schedule_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args[0] = PG_GETARG_DATUM(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT * FROM data8.schedules"
							  " WHERE name OPERATOR(pg_catalog.=) $1 AND owner OPERATOR(pg_catalog.=) CURRENT_USER",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read data8.schedules");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("data8 schedule \"%s\" does not exist", rq->schedule_name),
				 errhint("data8.schedules lists your schedules.")));
	tup = SPI_copytuple(SPI_tuptable->vals[0]);
	desc = SPI_tuptable->tupdesc;
	rq->target = DatumGetObjectId(spi_datum(tup, desc, "target", &isnull));
	rq->key_column = spi_cstring(tup, desc, "key_column");
	rq->workflow = spi_cstring(tup, desc, "workflow");
	rq->input_name = spi_cstring(tup, desc, "input_name");
	rq->output_name = spi_cstring(tup, desc, "output_name");
	d = spi_datum(tup, desc, "columns", &isnull);
	rq->columns = isnull ? (Datum) 0 : d;
	d = spi_datum(tup, desc, "parameters", &isnull);
	rq->parameters = isnull ? (Datum) 0 : d;
	rq->filter = spi_cstring(tup, desc, "filter");
	rq->timeout = spi_datum(tup, desc, "timeout", &isnull);
	d = spi_datum(tup, desc, "column_map", &isnull);
	rq->column_map = isnull ? (Datum) 0 : d;
	d = spi_datum(tup, desc, "extra_inputs", &isnull);
	rq->extra_inputs = isnull ? (Datum) 0 : d;
	rq->keep_datasets = DatumGetBool(spi_datum(tup, desc, "keep_datasets", &isnull));

	if (SPI_execute_with_args("SELECT id FROM data8.runs"
							  " WHERE schedule_name OPERATOR(pg_catalog.=) $1"
							  "   AND owner OPERATOR(pg_catalog.=) CURRENT_USER"
							  "   AND state OPERATOR(pg_catalog.=) ANY ('{uploading,submitted,applying}')"
							  " LIMIT 1", 1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read data8.runs");
	if (SPI_processed > 0)
	{
		ereport(NOTICE,
				(errmsg("data8: schedule \"%s\" skipped: run %s is not finished", rq->schedule_name,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1))));
		SPI_finish();
		PG_RETURN_NULL();
	}
	run = run_submit(rq);
	SPI_finish();
	PG_RETURN_INT64(run->id);
}

/*
 * Whether an error is the session's own cancel, statement_timeout or the
 * like (raised by ProcessInterrupts in postgres.c): it stops sync().  The
 * extension's own request timeouts (57014 too) are one run's trouble.
 */
static bool
is_interrupt(ErrorData *edata)
{
	size_t		n = edata->filename ? strlen(edata->filename) : 0;

	return edata->sqlerrcode == ERRCODE_QUERY_CANCELED && n >= 10 &&
		strcmp(edata->filename + n - 10, "postgres.c") == 0;
}

/* Errors after which the next sync may well succeed. */
static bool
is_transient(ErrorData *edata)
{
	int			category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);

	return category == ERRCODE_CONNECTION_EXCEPTION ||
		category == ERRCODE_TRANSACTION_ROLLBACK ||
		category == ERRCODE_INSUFFICIENT_RESOURCES ||
		edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		edata->sqlerrcode == ERRCODE_QUERY_CANCELED;
}

/* Marks a run failed with its reason (within the caller's transaction). */
static void
run_failed(D8Run *run, const char *error, bool attempt)
{
	Oid			types[3] = {INT8OID, TEXTOID, BOOLOID};
	Datum		args[3] = {Int64GetDatum(run->id), CStringGetTextDatum(error), BoolGetDatum(attempt)};

	if (d8_spi_as_owner("UPDATE data8.runs SET state = 'failed', finished_at = pg_catalog.now(),"
						" error = $2, attempts = attempts OPERATOR(pg_catalog.+) $3::integer"
						" WHERE id OPERATOR(pg_catalog.=) $1",
						NULL, 3, types, args, NULL) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the run");
}

/*
 * Syncs one run with its owner's rights and profile: applies it when its
 * job completed, marks it failed when the job failed or the run's timeout
 * passed, and leaves it otherwise.
 */
static void
sync_run(D8Run *run, TimestampTz deadline)
{
	Oid			owner = get_role_oid(run->owner, true);
	Oid			saved_user;
	int			saved_sec;
	int			nest;
	D8Json	   *job;
	int64		status;
	const char *state;

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\", the owner of data8 run " INT64_FORMAT ", does not exist",
						run->owner, run->id)));
	/* as REFRESH MATERIALIZED VIEW: the owner's rights, restricted */
	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (run->profile)
		(void) set_config_option("data8.profile", run->profile, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);

	job = d8_api("GET", d8_url_path(2, "Job", run->job_name),
				 psprintf("job \"%s\"", run->job_name), NULL, 0);
	if (!d8_json_is_object(job) || !d8_json_int(d8_json_get(job, "status"), &status))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer for job \"%s\"", run->job_name),
				 errdetail("Expected a JSON object with an integer \"status\".")));
	state = d8_job_state_name(status);
	if (strcmp(state, "completed") == 0)
	{
		const char *out = d8_json_string(d8_json_get(d8_json_get(job, "outputDatasets"),
													 run->output_name));

		if (out == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("Data8 job \"%s\" has no output \"%s\"", run->job_name, run->output_name),
					 errdetail("Its outputs are %s.",
							   d8_json_dump(d8_json_get(job, "outputDatasets"))),
					 errhint("Set output_name to the workflow's output key.")));
		run_finish(run, out);
	}
	else if (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0)
	{
		char	   *reason = d8_job_failure_reason(job, status);

		run_failed(run, psprintf("Data8 job \"%s\" %s: %s", run->job_name, state, reason), false);
		ereport(WARNING,
				(errmsg("data8: run " INT64_FORMAT " failed: its Data8 job %s", run->id, state),
				 errdetail_internal("%s", reason)));
	}
	else if (GetCurrentTimestamp() > deadline)
	{
		run_failed(run, psprintf("timed out; Data8 job \"%s\" was still %s", run->job_name, state),
				   false);
		ereport(WARNING,
				(errmsg("data8: run " INT64_FORMAT " failed: it timed out while its Data8 job was %s",
						run->id, state)));
	}
	/* as REFRESH MATERIALIZED VIEW: nothing the owner's code SET survives */
	AtEOXact_GUC(false, nest);
	SetUserIdAndSecContext(saved_user, saved_sec);
}

/*
 * Syncs one run in a subtransaction: its error is its own.  A transient
 * one leaves it submitted (attempts counted), any other marks it failed;
 * the session's own cancel stops everything.
 */
static void
sync_one(D8Run *run, TimestampTz deadline)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		sync_run(run, deadline);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *error;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (is_interrupt(edata))
			ReThrowError(edata);
		error = edata->detail ? psprintf("%s\n%s", edata->message, edata->detail) :
			pstrdup(edata->message);
		if (is_transient(edata))
		{
			Oid			types[2] = {INT8OID, TEXTOID};
			Datum		args[2] = {Int64GetDatum(run->id), CStringGetTextDatum(error)};

			if (d8_spi_as_owner("UPDATE data8.runs SET attempts = attempts OPERATOR(pg_catalog.+) 1,"
								" error = $2 WHERE id OPERATOR(pg_catalog.=) $1",
								NULL, 2, types, args, NULL) != SPI_OK_UPDATE)
				elog(ERROR, "could not record the run");
			ereport(WARNING,
					(errmsg("data8: run " INT64_FORMAT " not synced, the next sync tries again: %s",
							run->id, edata->message),
					 errdetail("SQLSTATE %s.", unpack_sql_state(edata->sqlerrcode))));
		}
		else
		{
			run_failed(run, error, true);
			ereport(WARNING,
					(errmsg("data8: run " INT64_FORMAT " failed: %s", run->id, edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
					 errhint("SQLSTATE %s; the table is as it was.", unpack_sql_state(edata->sqlerrcode))));
		}
	}
	PG_END_TRY();
}

/*
 * CALL sync(): syncs the caller's unfinished runs (the extension owner's
 * call: everyone's), each with its owner's rights, one at a time and
 * locked (a concurrent sync skips it), committing after each.
 */
Datum
data8_sync(PG_FUNCTION_ARGS)
{
	bool		atomic = !(fcinfo->context && IsA(fcinfo->context, CallContext)) ||
		((CallContext *) fcinfo->context)->atomic;
	Oid			caller = GetUserId();
	bool		everyone = has_privs_of_role(caller, d8_extension_owner());
	Oid			types[3] = {INT8OID, BOOLOID, NAMEOID};
	Datum		args[3];
	int64		last = 0;
	MemoryContext loop_cxt;

	d8_run_check_not_applying();
	if (SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	loop_cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 sync", ALLOCSET_DEFAULT_SIZES);
	args[1] = BoolGetDatum(everyone);
	args[2] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(caller, false)));
	for (;;)
	{
		D8Run	   *run;
		TimestampTz deadline;
		bool		isnull;

		MemoryContextReset(loop_cxt);
		args[0] = Int64GetDatum(last);
		if (d8_spi_as_owner("SELECT r.*, r.submitted_at OPERATOR(pg_catalog.+) r.timeout AS deadline"
							" FROM data8.runs r"
							" WHERE r.state OPERATOR(pg_catalog.=) ANY ('{submitted,applying}')"
							"   AND r.id OPERATOR(pg_catalog.>) $1 AND ($2 OR r.owner OPERATOR(pg_catalog.=) $3)"
							" ORDER BY r.id LIMIT 1 FOR UPDATE SKIP LOCKED",
							NULL, 3, types, args, NULL) != SPI_OK_SELECT)
			elog(ERROR, "could not read data8.runs");
		if (SPI_processed == 0)
			break;
		MemoryContextSwitchTo(loop_cxt);
		run = run_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		deadline = DatumGetTimestampTz(spi_datum(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 "deadline", &isnull));
		last = run->id;
		sync_one(run, deadline);
		if (!atomic)
		{
			SPI_commit();
			D8_SPI_START_TRANSACTION();
		}
	}
	SPI_finish();
	PG_RETURN_VOID();
}
