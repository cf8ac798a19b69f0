/*
 * dataset.c
 *	  SQL functions for the Dataset routes: list, get, create, complete,
 *	  delete, and one block of records up or down.
 */
#include "data8.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "contract.h"
#include "dataset.h"
#include "json.h"
#include "profile.h"
#include "record.h"
#include "request.h"
#include "result.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(data8_datasets);
PG_FUNCTION_INFO_V1(data8_dataset);
PG_FUNCTION_INFO_V1(data8_create_dataset);
PG_FUNCTION_INFO_V1(data8_complete_dataset);
PG_FUNCTION_INFO_V1(data8_delete_dataset);
PG_FUNCTION_INFO_V1(data8_upload_block);
PG_FUNCTION_INFO_V1(data8_download_block);

/* data8.dataset columns that differ from the JSON member names */
static const D8Field dataset_fields[] = {
	{"record_count", "recordCount"},
};

static char *
object_name(const char *name)
{
	return psprintf("dataset \"%s\"", name);
}

/* A jsonb argument as parsed JSON. */
static D8Json *
jsonb_arg(Jsonb *jb, const char *argname)
{
	char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	return d8_json_parse(text, strlen(text), argname);
}

/*
 * datasets(include_input, include_output): every page of GET /Dataset; a
 * NULL argument leaves its filter out (the service's default: included).
 */
Datum
data8_datasets(PG_FUNCTION_ARGS)
{
	D8ResultSet *rs = d8_result_set_begin(fcinfo);
	StringInfoData filters;

	initStringInfo(&filters);
	if (!PG_ARGISNULL(0))
		appendStringInfo(&filters, "input=%s", PG_GETARG_BOOL(0) ? "true" : "false");
	if (!PG_ARGISNULL(1))
		appendStringInfo(&filters, "%soutput=%s", filters.len ? "&" : "",
						 PG_GETARG_BOOL(1) ? "true" : "false");
	d8_result_set_paged(rs, "/Dataset", filters.data, "the dataset list",
						dataset_fields, lengthof(dataset_fields));
	PG_RETURN_NULL();
}

/* dataset(name): GET /Dataset/{name}. */
Datum
data8_dataset(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	D8Json	   *obj;

	d8_check_dataset_name(name, "dataset");
	obj = d8_api("GET", d8_url_path(2, "Dataset", name), object_name(name), NULL, 0);
	return d8_result_row(fcinfo, obj, dataset_fields, lengthof(dataset_fields));
}

/* Appends {"col": code, ...} from the user's columns object. */
static void
append_columns(StringInfo body, D8Json *columns)
{
	D8JsonIter	it;
	const char *col;
	D8Json	   *type;
	int			n = 0;

	if (!d8_json_is_object(columns))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("columns must be a JSON object"),
				 errhint("Example: '{\"name\": \"string\", \"age\": \"integer\"}'.")));
	appendStringInfoChar(body, '{');
	d8_json_iter_init(&it, columns);
	while (d8_json_iter_next(&it, &col, &type))
	{
		int64		code = -1;
		const char *tname = d8_json_string(type);

		d8_check_dataset_name(col, "column");
		if (tname)
			code = d8_column_type_code(tname);
		else if (!d8_json_int(type, &code))
			code = -1;
		if (code < 0 || code >= D8_NUM_TYPES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid type for column \"%s\"", col),
					 errdetail("A column type is 0 to 5 or one of string, integer, decimal, boolean, date, datetime.")));
		if (n++ > 0)
			appendStringInfoChar(body, ',');
		d8_json_append_cstring(body, col);
		appendStringInfo(body, ":%d", (int) code);
	}
	appendStringInfoChar(body, '}');
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a dataset needs at least one column")));
	if (n > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a dataset can have at most 1000 columns")));
}

/* create_dataset(name, columns): POST /Dataset. */
Datum
data8_create_dataset(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	D8Json	   *columns;
	StringInfoData body;
	D8Json	   *obj;

	d8_check_dataset_name(name, "dataset");
	columns = jsonb_arg(PG_GETARG_JSONB_P(1), "columns");
	initStringInfo(&body);
	appendStringInfoString(&body, "{\"name\":");
	d8_json_append_cstring(&body, name);
	appendStringInfoString(&body, ",\"columns\":");
	append_columns(&body, columns);
	appendStringInfoChar(&body, '}');

	obj = d8_api_create("/Dataset", object_name(name), &body,
						d8_url_path(2, "Dataset", name));
	if (obj == NULL)
		obj = d8_api("GET", d8_url_path(2, "Dataset", name), object_name(name), NULL, 0);
	return d8_result_row(fcinfo, obj, dataset_fields, lengthof(dataset_fields));
}

/*
 * Completes a dataset with count records: PUT /Dataset/{name}.  When an
 * attempt's answer was lost (the service may have acted on it), a 400 on a
 * retry is what a dataset completed by that attempt answers: the dataset is
 * read back, and complete with the same count is success.
 */
void
d8_dataset_complete(const char *name, const char *object, int64 count)
{
	StringInfoData body;
	D8Request	req;
	D8Response	resp;
	char	   *path = d8_url_path(2, "Dataset", name);

	initStringInfo(&body);
	appendStringInfo(&body, "{\"recordCount\":" INT64_FORMAT ",\"completed\":true}", count);
	req.method = "PUT";
	req.path = path;
	req.object = object;
	req.body = &body;
	req.flags = D8_IDEMPOTENT;
	d8_http_perform(d8_profile_active(), &req, &resp);
	if (resp.status == 400 && resp.ambiguous)
	{
		D8Json	   *obj = d8_api("GET", path, object, NULL, 0);
		bool		completed;
		int64		held;

		if (d8_json_bool(d8_json_get(obj, "completed"), &completed) && completed &&
			d8_json_int(d8_json_get(obj, "recordCount"), &held) && held == count)
			return;
	}
	d8_http_check(&req, &resp);
}

/* complete_dataset(name, record_count): PUT /Dataset/{name}. */
Datum
data8_complete_dataset(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		count = PG_GETARG_INT64(1);

	d8_check_dataset_name(name, "dataset");
	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("record_count must not be negative")));
	d8_dataset_complete(name, object_name(name), count);
	PG_RETURN_VOID();
}

/* delete_dataset(name): DELETE /Dataset/{name}. */
Datum
data8_delete_dataset(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	d8_check_dataset_name(name, "dataset");
	d8_api("DELETE", d8_url_path(2, "Dataset", name), object_name(name), NULL, 0);
	PG_RETURN_VOID();
}

/*
 * upload_block(name, block_number, records): PATCH /Dataset/{name}/data
 * with 1 to 1,000 record objects; returns the number of records sent.
 */
Datum
data8_upload_block(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		block = PG_GETARG_INT32(1);
	Jsonb	   *records = PG_GETARG_JSONB_P(2);
	D8Json	   *parsed;
	size_t		n;
	size_t		i;
	StringInfoData body;

	d8_check_dataset_name(name, "dataset");
	if (block < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block_number must be 0 or more")));
	parsed = jsonb_arg(records, "records");
	if (!d8_json_is_array(parsed))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("records must be a JSON array of objects")));
	n = d8_json_size(parsed);
	if (n < 1 || n > D8_BLOCK_RECORDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a block holds 1 to %d records, not %zu", D8_BLOCK_RECORDS, n),
				 errhint("Split the records over several block numbers, or use data8.upload_dataset().")));
	for (i = 0; i < n; i++)
	{
		D8Json	   *rec = d8_json_at(parsed, i);
		D8JsonIter	it;
		const char *key;
		D8Json	   *value;

		if (!d8_json_is_object(rec))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("record %zu of the block is not a JSON object", i + 1)));
		d8_json_iter_init(&it, rec);
		while (d8_json_iter_next(&it, &key, &value))
		{
			d8_check_dataset_name(key, "column");
			if (d8_json_is_object(value) || d8_json_is_array(value))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("value of \"%s\" in record %zu is not a scalar", key, i + 1),
						 errdetail("Record values are strings, numbers, booleans or null.")));
		}
	}

	initStringInfo(&body);
	appendStringInfo(&body, "{\"blockNumber\":%d,\"records\":", block);
	appendStringInfoString(&body, JsonbToCString(NULL, &records->root, VARSIZE(records)));
	appendStringInfoChar(&body, '}');
	d8_api("PATCH", psprintf("%s/data", d8_url_path(2, "Dataset", name)),
		   object_name(name), &body, D8_IDEMPOTENT);
	PG_RETURN_INT32((int32) n);
}

/*
 * download_block(name, start, count): GET /Dataset/{name}/data, one jsonb
 * per record, in dataset order, numbers as the service wrote them; a
 * record that is not an object is an ERROR, as in fetch_output.
 */
Datum
data8_download_block(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		start = PG_GETARG_INT64(1);
	int32		count = PG_GETARG_INT32(2);
	D8ResultSet *rs;
	D8Request	req;
	D8Response	resp;
	D8RecordReader reader;

	d8_check_dataset_name(name, "dataset");
	if (start < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start must be 1 or more"),
				 errdetail("The first record of a dataset is number 1.")));
	if (count < 1 || count > D8_BLOCK_RECORDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must be between 1 and %d", D8_BLOCK_RECORDS)));

	rs = d8_result_set_begin(fcinfo);
	req.method = "GET";
	req.path = psprintf("%s/data?start=" INT64_FORMAT "&count=%d",
						d8_url_path(2, "Dataset", name), start, count);
	req.object = object_name(name);
	req.body = NULL;
	req.flags = D8_IDEMPOTENT;
	d8_http_perform(d8_profile_active(), &req, &resp);
	d8_http_check(&req, &resp);
	d8_http_check_json(&req, &resp);

	d8_records_begin(&reader, resp.body.data, resp.body.len,
					 psprintf("GET %s", req.path), start);
	while (d8_records_next(&reader))
		d8_result_set_add_record(rs, &reader);
	d8_records_end(&reader);
	PG_RETURN_NULL();
}
