/*
 * job.c
 *	  SQL functions for the Job routes: list, get, start, and wait for a job
 *	  to finish.
 */
#include "data8.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "contract.h"
#include "job.h"
#include "json.h"
#include "request.h"
#include "result.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(data8_jobs);
PG_FUNCTION_INFO_V1(data8_job);
PG_FUNCTION_INFO_V1(data8_start_job);
PG_FUNCTION_INFO_V1(data8_wait_for_job);
PG_FUNCTION_INFO_V1(data8_job_failure_reason);

/* data8.job columns that differ from the JSON member names */
static const D8Field job_fields[] = {
	{"workflow", "workflowName"},
	{"percent_complete", "percentComplete"},
	{"submitted_at", "submittedAt"},
	{"completed_at", "completedAt"},
	{"estimated_finish_time", "estimatedFinishTime"},
	{"input_datasets", "inputDatasets"},
	{"output_datasets", "outputDatasets"},
	{"input_filename", "inputFilename"},
	{"output_filenames", "outputFilenames"},
};

/* The poll interval grows up to this many times data8.poll_interval. */
#define D8_POLL_GROWTH_CAP	10

static char *
object_name(const char *name)
{
	return psprintf("job \"%s\"", name);
}

/* A finite number as exact-enough numeric text ("99.9", not 99.900000000000006). */
static char *
number_text(double d)
{
	Datum		num = DirectFunctionCall1(float8_numeric, Float8GetDatum(d));

	return DatumGetCString(DirectFunctionCall1(numeric_out, num));
}

/*
 * The C strings of a data8.job row from a job object: the columns named in
 * the JSON, plus state (the name of the status code, which the JSON does
 * not carry) and percent_complete printed without binary noise.
 */
static char **
job_cstrings(D8Json *obj, TupleDesc tupdesc)
{
	char	  **values;
	int64		status;
	double		pct;
	int			i;

	if (!d8_json_is_object(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer for a job"),
				 errdetail("Expected a JSON object.")));
	values = d8_json_row_cstrings(obj, tupdesc, job_fields, lengthof(job_fields));
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), "state") == 0)
			values[i] = d8_json_int(d8_json_get(obj, "status"), &status) ?
				pstrdup(d8_job_state_name(status)) : NULL;
		else if (strcmp(NameStr(att->attname), "percent_complete") == 0 &&
				 d8_json_number(d8_json_get(obj, "percentComplete"), &pct))
			values[i] = number_text(pct);
	}
	return values;
}

/* One data8.job value from a job object. */
static Datum
job_row(FunctionCallInfo fcinfo, D8Json *obj)
{
	TupleDesc	tupdesc = d8_result_tupdesc(fcinfo);
	AttInMetadata *attinmeta = TupleDescGetAttInMetadata(tupdesc);

	return HeapTupleGetDatum(BuildTupleFromCStrings(attinmeta,
													job_cstrings(obj, tupdesc)));
}

/* Appends "&key=value" with value percent-encoded. */
static void
append_filter(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, "%s%s=", buf->len ? "&" : "", key);
	d8_append_encoded(buf, value);
}

/* Appends "&key=<ISO 8601 UTC>" for a timestamptz. */
static void
append_date_filter(StringInfo buf, const char *key, TimestampTz ts)
{
	StringInfoData iso;

	initStringInfo(&iso);
	d8_json_append_timestamp(&iso, ts);
	/* drop the JSON string's quotes */
	iso.data[iso.len - 1] = '\0';
	append_filter(buf, key, iso.data + 1);
}

/*
 * jobs(workflow, start_date, end_date): every page of GET /Job, newest
 * first; a NULL argument does not filter.
 */
Datum
data8_jobs(PG_FUNCTION_ARGS)
{
	StringInfoData filters;
	D8ResultSet *rs;

	initStringInfo(&filters);
	if (!PG_ARGISNULL(0))
	{
		char	   *workflow = text_to_cstring(PG_GETARG_TEXT_PP(0));

		d8_check_not_empty(workflow, "workflow");
		append_filter(&filters, "workflow", workflow);
	}
	if (!PG_ARGISNULL(1))
		append_date_filter(&filters, "startDate", PG_GETARG_TIMESTAMPTZ(1));
	if (!PG_ARGISNULL(2))
		append_date_filter(&filters, "endDate", PG_GETARG_TIMESTAMPTZ(2));

	rs = d8_result_set_begin(fcinfo);
	rs->row_strings = job_cstrings;
	d8_result_set_paged(rs, "/Job", filters.data, "the job list", NULL, 0);
	PG_RETURN_NULL();
}

/* job(name): GET /Job/{name}. */
Datum
data8_job(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	D8Json	   *obj;

	d8_check_job_name(name);
	obj = d8_api("GET", d8_url_path(2, "Job", name), object_name(name), NULL, 0);
	return job_row(fcinfo, obj);
}

/* Ensures a jsonb argument is a JSON object. */
static void
check_object_arg(Jsonb *jb, const char *argname, const char *example)
{
	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", argname),
				 errhint("Example: '%s'.", example)));
}

/*
 * Appends input_datasets as {"Input": "dataset_name", ...}, every value a
 * valid dataset name.
 */
static void
append_input_datasets(StringInfo body, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			n = 0;

	check_object_arg(jb, "input_datasets", "{\"Input\": \"my_dataset\"}");
	appendStringInfoChar(body, '{');
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *dataset;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			if (key[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("input_datasets has an empty input name"),
						 errdetail("The keys are the workflow's input names, such as \"Input\" or \"Contacts\".")));
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("input \"%s\" of input_datasets must be a dataset name", key),
					 errhint("Example: '{\"Input\": \"my_dataset\"}'.")));
		dataset = pnstrdup(v.val.string.val, v.val.string.len);
		d8_check_dataset_name(dataset, "dataset");
		if (n++ > 0)
			appendStringInfoChar(body, ',');
		d8_json_append_cstring(body, key);
		appendStringInfoChar(body, ':');
		d8_json_append_cstring(body, dataset);
	}
	appendStringInfoChar(body, '}');
}

/*
 * Appends parameters as {"Name": "value", ...}: the service takes strings,
 * so numbers and booleans are sent as their text; a null value is left out.
 */
static void
append_parameters(StringInfo body, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			n = 0;

	check_object_arg(jb, "parameters", "{\"MaxContactAge\": 5}");
	appendStringInfoChar(body, '{');
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *value;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			if (key[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameters has an empty parameter name")));
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		switch (v.type)
		{
			case jbvNull:
				continue;
			case jbvString:
				value = pnstrdup(v.val.string.val, v.val.string.len);
				break;
			case jbvNumeric:
				value = DatumGetCString(DirectFunctionCall1(numeric_out,
															NumericGetDatum(v.val.numeric)));
				break;
			case jbvBool:
				value = v.val.boolean ? "true" : "false";
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" is not a scalar", key),
						 errdetail("Parameter values are strings, numbers or booleans; they are sent as strings.")));
				value = NULL;	/* keep compiler quiet */
		}
		if (n++ > 0)
			appendStringInfoChar(body, ',');
		d8_json_append_cstring(body, key);
		appendStringInfoChar(body, ':');
		d8_json_append_cstring(body, value);
	}
	appendStringInfoChar(body, '}');
}

/* Ensures a required argument is not NULL. */
static void
check_not_null(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be NULL", argname)));
}

/*
 * start_job(name, workflow, input_datasets, parameters, input_filename):
 * POST /Job; everything is checked before the request is sent.
 */
Datum
data8_start_job(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *workflow;
	char	   *recheck;
	StringInfoData body;
	D8Json	   *obj;

	check_not_null(fcinfo, 0, "name");
	check_not_null(fcinfo, 1, "workflow");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	workflow = text_to_cstring(PG_GETARG_TEXT_PP(1));
	d8_check_job_name(name);
	d8_check_not_empty(workflow, "workflow");
	recheck = d8_url_path(2, "Job", name);

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"name\":");
	d8_json_append_cstring(&body, name);
	appendStringInfoString(&body, ",\"workflowName\":");
	d8_json_append_cstring(&body, workflow);
	appendStringInfoString(&body, ",\"inputDatasets\":");
	if (PG_ARGISNULL(2))
		appendStringInfoString(&body, "{}");
	else
		append_input_datasets(&body, PG_GETARG_JSONB_P(2));
	appendStringInfoString(&body, ",\"parameters\":");
	if (PG_ARGISNULL(3))
		appendStringInfoString(&body, "{}");
	else
		append_parameters(&body, PG_GETARG_JSONB_P(3));
	if (!PG_ARGISNULL(4))
	{
		char	   *filename = text_to_cstring(PG_GETARG_TEXT_PP(4));

		d8_check_not_empty(filename, "input_filename");
		appendStringInfoString(&body, ",\"inputFilename\":");
		d8_json_append_cstring(&body, filename);
	}
	appendStringInfoChar(&body, '}');

	obj = d8_api_create("/Job", object_name(name), &body, recheck);
	if (obj == NULL)
		obj = d8_api("GET", recheck, object_name(name), NULL, 0);
	return job_row(fcinfo, obj);
}

/*
 * The reason of a failed or cancelled job: its message when the service
 * gave one, else a sentence saying plainly that it gave none,
 * with the status and statistics (jsonb text, or NULL) it did give.  The
 * reference's Job has no message field: the live service may never send one.
 */
static char *
job_failure_reason(const char *message, int64 status, const char *statistics)
{
	if (message != NULL && message[0] != '\0')
		return pstrdup(message);
	if (statistics == NULL || strcmp(statistics, "{}") == 0)
		return psprintf("Data8 gave no reason. The job's status is " INT64_FORMAT
						" (%s) and it has no statistics.",
						status, d8_job_state_name(status));
	return psprintf("Data8 gave no reason. The job's status is " INT64_FORMAT
					" (%s) and its statistics are %s.",
					status, d8_job_state_name(status), statistics);
}

/* A JSON value as jsonb prints it (as data8.job shows it), or NULL. */
static char *
jsonb_text(D8Json *v)
{
	if (d8_json_is_null(v))
		return NULL;
	return DatumGetCString(DirectFunctionCall1(jsonb_out,
											   DirectFunctionCall1(jsonb_in,
																   CStringGetDatum(d8_json_dump(v)))));
}

/* The reason of a failed or cancelled job, from the job object itself. */
char *
d8_job_failure_reason(D8Json *job, int64 status)
{
	return job_failure_reason(d8_json_string(d8_json_get(job, "message")), status,
							  jsonb_text(d8_json_get(job, "statistics")));
}

/*
 * job_failure_reason(job data8.job): the reason a failed or cancelled job
 * gives (see job_failure_reason()); NULL for a job in any other state.
 */
Datum
data8_job_failure_reason(PG_FUNCTION_ARGS)
{
	HeapTupleHeader job = PG_GETARG_HEAPTUPLEHEADER(0);
	bool		isnull;
	Datum		status = GetAttributeByName(job, "status", &isnull);
	Datum		message;
	Datum		statistics;
	bool		statistics_null;
	const char *state;

	if (isnull)
		PG_RETURN_NULL();
	state = d8_job_state_name(DatumGetInt32(status));
	if (strcmp(state, "failed") != 0 && strcmp(state, "cancelled") != 0)
		PG_RETURN_NULL();
	message = GetAttributeByName(job, "message", &isnull);
	statistics = GetAttributeByName(job, "statistics", &statistics_null);
	PG_RETURN_TEXT_P(cstring_to_text(job_failure_reason(isnull ? NULL : TextDatumGetCString(message),
														DatumGetInt32(status),
														statistics_null ? NULL :
														DatumGetCString(DirectFunctionCall1(jsonb_out, statistics)))));
}

/* An interval as microseconds (a month is 30 days), saturating at the max. */
static int64
interval_usecs(Interval *iv)
{
	int64		days = (int64) iv->month * DAYS_PER_MONTH + iv->day;
	int64		us;

	if (pg_mul_s64_overflow(days, USECS_PER_DAY, &us))
		return days > 0 ? PG_INT64_MAX : PG_INT64_MIN;
	if (pg_add_s64_overflow(us, iv->time, &us))
		return iv->time > 0 ? PG_INT64_MAX : PG_INT64_MIN;
	return us;
}

/* A timestamptz text from the service, to whole seconds in the session's zone. */
static char *
display_time(const char *iso)
{
	TimestampTz ts;

	ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												 CStringGetDatum(iso),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (!TIMESTAMP_NOT_FINITE(ts))
		ts -= ts % USECS_PER_SEC;
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(ts)));
}

/* The job's percentComplete as text, or "?" when it has none. */
static char *
percent_text(D8Json *obj)
{
	double		pct;

	return d8_json_number(d8_json_get(obj, "percentComplete"), &pct) ?
		number_text(pct) : "?";
}

/* NOTICE of a job's progress (data8.progress). */
static void
progress_notice(const char *name, D8Json *obj, const char *state)
{
	const char *eta = d8_json_string(d8_json_get(obj, "estimatedFinishTime"));

	if (strcmp(state, "completed") == 0)
		ereport(NOTICE,
				(errmsg("Data8 job \"%s\": completed", name)));
	else if (eta)
		ereport(NOTICE,
				(errmsg("Data8 job \"%s\": %s, %s%% complete, estimated finish %s",
						name, state, percent_text(obj), display_time(eta))));
	else
		ereport(NOTICE,
				(errmsg("Data8 job \"%s\": %s, %s%% complete",
						name, state, percent_text(obj))));
}

/*
 * wait_for_job(name, timeout): polls GET /Job/{name} until the job is
 * completed and returns it; an ERROR when it failed, was cancelled, or the
 * timeout (NULL: none) passed.  The poll interval starts at
 * data8.poll_interval and grows by half each poll up to ten times it; every
 * wait reacts to cancels within about 50 ms.
 */
Datum
data8_wait_for_job(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *path;
	char	   *object;
	Interval   *timeout = NULL;
	TimestampTz deadline = PG_INT64_MAX;
	long		interval_ms = d8_poll_interval_ms;
	long		max_interval_ms = (long) d8_poll_interval_ms * D8_POLL_GROWTH_CAP;
	MemoryContext poll_cxt;
	D8Json	   *obj;

	check_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	d8_check_job_name(name);
	if (!PG_ARGISNULL(1))
	{
		int64		us;

		timeout = PG_GETARG_INTERVAL_P(1);
		us = interval_usecs(timeout);
		if (us <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must be positive"),
					 errhint("Pass NULL to wait without a time limit.")));
		if (pg_add_s64_overflow(GetCurrentTimestamp(), us, &deadline))
			deadline = PG_INT64_MAX;
	}
	path = d8_url_path(2, "Job", name);
	object = object_name(name);

	poll_cxt = AllocSetContextCreate(CurrentMemoryContext, "data8 job poll",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old;
		int64		status;
		const char *state;
		char	   *reason = NULL;
		TimestampTz now;

		MemoryContextReset(poll_cxt);
		old = MemoryContextSwitchTo(poll_cxt);
		obj = d8_api("GET", path, object, NULL, 0);
		if (!d8_json_is_object(obj) ||
			!d8_json_int(d8_json_get(obj, "status"), &status))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("unexpected Data8 answer for %s", object),
					 errdetail("Expected a JSON object with an integer \"status\".")));
		state = d8_job_state_name(status);
		if (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0)
			reason = d8_job_failure_reason(obj, status);
		else if (d8_progress)
			progress_notice(name, obj, state);
		MemoryContextSwitchTo(old);

		if (strcmp(state, "completed") == 0)
			break;
		if (reason)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 strcmp(state, "failed") == 0 ?
					 errmsg("Data8 job \"%s\" failed", name) :
					 errmsg("Data8 job \"%s\" was cancelled", name),
					 errdetail_internal("%s", reason),
					 errhint("data8.job() shows the job's details and statistics.")));

		now = GetCurrentTimestamp();
		if (now >= deadline)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timed out after %s waiting for Data8 job \"%s\"",
							DatumGetCString(DirectFunctionCall1(interval_out,
																IntervalPGetDatum(timeout))),
							name),
					 errdetail("The job is %s (%s%% complete) and keeps running at Data8.",
							   state, percent_text(obj)),
					 errhint("Call data8.wait_for_job() again, or with a larger timeout.")));
		d8_sleep_ms(Min(interval_ms, (long) ((deadline - now + 999) / 1000)));
		interval_ms = Min(interval_ms + interval_ms / 2, max_interval_ms);
	}
	return job_row(fcinfo, obj);
}
