/*
 * encode.c
 *	  The record encoder: how each SQL type travels to Data8 (its type code
 *	  and its JSON form), and a row written as one record with no JSON tree.
 */
#include "data8.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "contract.h"
#include "encode.h"
#include "json.h"
#include "validate.h"

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

static D8ValueEncoding
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
value_error(D8EncodeColumn *col, int64 row, const char *why)
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
encode_value(D8EncodeColumn *col, Datum d, StringInfo buf, int64 row)
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
					value_error(col, row, psprintf("%s is not a number JSON can carry.", s));
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
					value_error(col, row, "Infinite dates cannot be sent.");
				j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
				if (y < 1 || y > 9999)
					value_error(col, row, "Data8 dates are in years 1 to 9999.");
				appendStringInfo(buf, "\"%04d-%02d-%02d\"", y, m, dd);
				break;
			}
		case ENC_TIMESTAMP:
			{
				Timestamp	ts = DatumGetTimestamp(d);

				if (TIMESTAMP_NOT_FINITE(ts))
					value_error(col, row, "Infinite timestamps cannot be sent.");
				d8_json_append_timestamp(buf, ts);
				break;
			}
		case ENC_OUTPUT:
			d8_json_append_cstring(buf, OutputFunctionCall(&col->out, d));
			break;
	}
}

/*
 * An encoder for the first natts columns of tupdesc: each name a valid
 * dataset column name, used once, of a type Data8 can hold.
 */
D8Encoder *
d8_encoder_begin(TupleDesc tupdesc, int natts)
{
	D8Encoder  *enc = palloc0(sizeof(D8Encoder));
	int			i;

	enc->cols = palloc0(sizeof(D8EncodeColumn) * Max(natts, 1));
	for (i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		D8EncodeColumn *col = &enc->cols[enc->ncols];
		StringInfoData key;
		Oid			outfn;
		bool		varlena;
		int			j;

		if (att->attisdropped)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the query's result has dropped columns")));
		col->name = pstrdup(NameStr(att->attname));
		d8_check_dataset_name(col->name, "column");
		for (j = 0; j < enc->ncols; j++)
			if (strcmp(enc->cols[j].name, col->name) == 0)
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
		enc->ncols++;
	}
	if (enc->ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query returns no columns")));
	if (enc->ncols > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a dataset can have at most 1000 columns")));
	return enc;
}

/*
 * Appends one row as a record: {"col": value, ...}, NULLs left out (a
 * missing key means null).  row numbers the row in messages.
 */
void
d8_encode_record(D8Encoder *enc, Datum *values, bool *nulls, StringInfo buf,
				 int64 row)
{
	bool		first = true;
	int			i;

	appendStringInfoChar(buf, '{');
	for (i = 0; i < enc->ncols; i++)
	{
		D8EncodeColumn *col = &enc->cols[i];

		if (nulls[i])
			continue;
		if (!first)
			appendStringInfoChar(buf, ',');
		first = false;
		appendBinaryStringInfo(buf, col->key, col->keylen);
		encode_value(col, values[i], buf, row);
	}
	appendStringInfoChar(buf, '}');
}

/* Appends {"col": code, ...} of the encoder's columns. */
void
d8_encoder_append_types(D8Encoder *enc, StringInfo buf)
{
	int			i;

	appendStringInfoChar(buf, '{');
	for (i = 0; i < enc->ncols; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendBinaryStringInfo(buf, enc->cols[i].key, enc->cols[i].keylen);
		appendStringInfo(buf, "%d", enc->cols[i].code);
	}
	appendStringInfoChar(buf, '}');
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
