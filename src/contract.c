/*
 * contract.c
 *	  Column type codes and job status codes of the Data8 wire contract.
 */
#include "data8.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "contract.h"
#include "result.h"

/* Index = the code the service uses. */
const char *const d8_column_type_names[D8_NUM_TYPES] = {
	"string", "integer", "decimal", "boolean", "date", "datetime"
};

const char *const d8_job_state_names[] = {
	"queued", "running", "completed", "failed", "cancelled"
};
const int	d8_num_job_states = lengthof(d8_job_state_names);

/* The code of a type name, or -1. */
int
d8_column_type_code(const char *name)
{
	int			i;

	for (i = 0; i < D8_NUM_TYPES; i++)
		if (pg_strcasecmp(name, d8_column_type_names[i]) == 0)
			return i;
	return -1;
}

/* The state name of a job status code; "unknown" for a code we do not know. */
const char *
d8_job_state_name(int64 status)
{
	if (status >= 0 && status < d8_num_job_states)
		return d8_job_state_names[status];
	return "unknown";
}

PG_FUNCTION_INFO_V1(data8_contract_codes);

/*
 * SQL: data8.contract_codes() -> (kind, code, name): the mappings above, so
 * a test can compare them with the SQL lookup tables.
 */
Datum
data8_contract_codes(PG_FUNCTION_ARGS)
{
	D8ResultSet *rs = d8_result_set_begin(fcinfo);
	int			i;

	for (i = 0; i < D8_NUM_TYPES + d8_num_job_states; i++)
	{
		bool		column = i < D8_NUM_TYPES;
		int			code = column ? i : i - D8_NUM_TYPES;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(column ? "column_type" : "job_state");
		values[1] = Int32GetDatum(code);
		values[2] = CStringGetTextDatum(column ? d8_column_type_names[code]
										: d8_job_state_names[code]);
		tuplestore_putvalues(rs->store, rs->tupdesc, values, nulls);
	}
	PG_RETURN_VOID();
}
