/*
 * json.c
 *	  JSON for the extension: parsing answers with jansson (allocating in
 *	  CurrentMemoryContext) and writing request bodies as plain text.
 *
 * This file must not include utils/builtins.h or utils/fmgrprotos.h:
 * both declare json_object(), which jansson.h declares too.
 */
#include "postgres.h"

#include <jansson.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"

#include "json.h"

/* jansson's allocator: palloc in the current context, huge allowed. */
static void *
d8_json_alloc(size_t size)
{
	return MemoryContextAllocExtended(CurrentMemoryContext, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
d8_json_free(void *ptr)
{
	if (ptr)
		pfree(ptr);
}

/* Makes jansson allocate with palloc, so an ERROR frees parsed trees. */
void
d8_json_init(void)
{
	json_set_alloc_funcs(d8_json_alloc, d8_json_free);
}

/* Parses a response body; an ERROR names what was being read. */
D8Json *
d8_json_parse(const char *buf, size_t len, const char *what)
{
	json_error_t err;
	json_t	   *root;

	root = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid JSON in the Data8 answer to %s", what),
				 errdetail_internal("%s at line %d, column %d.", err.text,
									err.line, err.column)));
	return root;
}

/* Parses a body that may not be JSON at all: NULL when it is not. */
D8Json *
d8_json_try_parse(const char *buf, size_t len)
{
	return json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

D8Json *
d8_json_get(D8Json *obj, const char *key)
{
	if (obj == NULL || !json_is_object(obj))
		return NULL;
	return json_object_get(obj, key);
}

bool
d8_json_is_object(D8Json *v)
{
	return v != NULL && json_is_object(v);
}

bool
d8_json_is_array(D8Json *v)
{
	return v != NULL && json_is_array(v);
}

bool
d8_json_is_null(D8Json *v)
{
	return v == NULL || json_is_null(v);
}

size_t
d8_json_size(D8Json *array)
{
	return json_is_array(array) ? json_array_size(array) : 0;
}

D8Json *
d8_json_at(D8Json *array, size_t i)
{
	return json_array_get(array, i);
}

/*
 * Returns the array of a list answer: the body itself when it is an array,
 * or its member "wrapper" ("items", "records") when it is an object.
 */
D8Json *
d8_json_list(D8Json *root, const char *wrapper, const char *what)
{
	if (json_is_array(root))
		return root;
	if (json_is_object(root))
	{
		json_t	   *inner = json_object_get(root, wrapper);

		if (inner && json_is_array(inner))
			return inner;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("unexpected Data8 answer to %s", what),
			 errdetail("Expected a JSON array or an object with an array \"%s\".",
					   wrapper)));
	return NULL;				/* keep compiler quiet */
}

bool
d8_json_int(D8Json *v, int64 *out)
{
	if (v == NULL)
		return false;
	if (json_is_integer(v))
	{
		*out = (int64) json_integer_value(v);
		return true;
	}
	if (json_is_real(v))
	{
		double		d = json_real_value(v);

		if (d == floor(d) && fabs(d) < 9.2e18)
		{
			*out = (int64) d;
			return true;
		}
	}
	return false;
}

bool
d8_json_number(D8Json *v, double *out)
{
	if (v == NULL || !json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

bool
d8_json_bool(D8Json *v, bool *out)
{
	if (v == NULL || !json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

const char *
d8_json_string(D8Json *v)
{
	return (v && json_is_string(v)) ? json_string_value(v) : NULL;
}

/* Returns the first key of an object (and its value), or NULL. */
const char *
d8_json_first_key(D8Json *obj, D8Json **value)
{
	void	   *it;

	if (obj == NULL || !json_is_object(obj))
		return NULL;
	it = json_object_iter(obj);
	if (it == NULL)
		return NULL;
	if (value)
		*value = json_object_iter_value(it);
	return json_object_iter_key(it);
}

void
d8_json_iter_init(D8JsonIter *it, D8Json *obj)
{
	it->obj = obj;
	it->pos = (obj && json_is_object(obj)) ? json_object_iter(obj) : NULL;
}

bool
d8_json_iter_next(D8JsonIter *it, const char **key, D8Json **value)
{
	if (it->pos == NULL)
		return false;
	*key = json_object_iter_key(it->pos);
	*value = json_object_iter_value(it->pos);
	it->pos = json_object_iter_next(it->obj, it->pos);
	return true;
}

/*
 * Reads an RFC 7807 problem (or an OAuth error): *title is its title (or
 * error code) unless its detail says more; detail gets the detail, or the
 * validation errors as "field: message" lines.
 */
void
d8_json_problem(D8Json *root, StringInfo detail, char **title)
{
	json_t	   *errors;
	const char *s;
	const char *field;
	json_t	   *msgs;

	*title = NULL;
	if (root == NULL || !json_is_object(root))
		return;
	errors = json_object_get(root, "errors");
	if ((s = d8_json_string(json_object_get(root, "title"))) != NULL)
		*title = pstrdup(s);
	else if ((s = d8_json_string(json_object_get(root, "error"))) != NULL)
		*title = pstrdup(s);
	/* the detail of a validation error only points at the errors below */
	if (d8_json_first_key(errors, NULL) == NULL &&
		(s = d8_json_string(json_object_get(root, "detail"))) != NULL)
	{
		appendStringInfoString(detail, s);
		*title = NULL;
	}
	if (errors == NULL || !json_is_object(errors))
		return;
	json_object_foreach(errors, field, msgs)
	{
		size_t		i;
		json_t	   *m;

		if (json_is_array(msgs))
			json_array_foreach(msgs, i, m)
				appendStringInfo(detail, "%s%s: %s", detail->len ? "\n" : "",
								 field, d8_json_string(m) ? d8_json_string(m) : "invalid");
		else
			appendStringInfo(detail, "%s%s: %s", detail->len ? "\n" : "",
							 field, d8_json_string(msgs) ? d8_json_string(msgs) : "invalid");
	}
}

/* Compact JSON text of any value. */
char *
d8_json_dump(D8Json *v)
{
	size_t		flags = JSON_COMPACT | JSON_ENCODE_ANY;
	char	   *s;

	/* \u escapes keep non-ASCII text intact in any database encoding */
	if (GetDatabaseEncoding() != PG_UTF8)
		flags |= JSON_ENSURE_ASCII;
	s = json_dumps(v, flags);

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not serialise a JSON value")));
	return s;
}

/*
 * Text of a scalar as a type input function wants it: strings as they are,
 * numbers printed exactly, booleans as true/false, NULL for null; arrays
 * and objects as JSON text.
 */
char *
d8_json_text(D8Json *v)
{
	if (v == NULL || json_is_null(v))
		return NULL;
	switch (json_typeof(v))
	{
		case JSON_STRING:
			{
				const char *s = json_string_value(v);
				size_t		len = json_string_length(v);
				char	   *server;

				/* JSON_ALLOW_NUL lets \u0000 in, which text cannot hold */
				if (memchr(s, '\0', len) != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
							 errmsg("a value in a Data8 answer holds a NUL character"),
							 errdetail("\\u0000 cannot be stored in PostgreSQL text.")));
				/* UTF-8 from the wire, in the database's encoding */
				server = pg_any_to_server(s, (int) len, PG_UTF8);
				return server != s ? server : pnstrdup(s, len);
			}
		case JSON_INTEGER:
			return psprintf(INT64_FORMAT, (int64) json_integer_value(v));
		case JSON_REAL:
			{
				/* the shortest text that reads back as the same double */
				char	   *buf = palloc(DOUBLE_SHORTEST_DECIMAL_LEN);

				double_to_shortest_decimal_buf(json_real_value(v), buf);
				return buf;
			}
		case JSON_TRUE:
			return pstrdup("true");
		case JSON_FALSE:
			return pstrdup("false");
		default:
			return d8_json_dump(v);
	}
}

/* Appends one element of an array literal, quoted for array_in. */
static void
append_array_element(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '"');
}

/* A JSON array as an array literal ('{"a","b"}') for array_in. */
static char *
array_literal(json_t *arr)
{
	StringInfoData buf;
	size_t		i;
	json_t	   *item;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	json_array_foreach(arr, i, item)
	{
		char	   *s = d8_json_text(item);

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		if (s == NULL)
			appendStringInfoString(&buf, "NULL");
		else
			append_array_element(&buf, s);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Converts a JSON object to the C strings of a row of tupdesc, for
 * BuildTupleFromCStrings: each attribute takes the member named by fields
 * (or, when not listed, the member of its own name); arrays go to array
 * attributes as array literals, anything to json/jsonb as JSON text.
 */
char **
d8_json_row_cstrings(D8Json *obj, TupleDesc tupdesc,
					 const D8Field *fields, int nfields)
{
	char	  **values = palloc0(sizeof(char *) * tupdesc->natts);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *key = NameStr(att->attname);
		json_t	   *v;
		int			f;

		if (att->attisdropped)
			continue;
		for (f = 0; f < nfields; f++)
			if (strcmp(fields[f].attname, key) == 0)
			{
				key = fields[f].key;
				break;
			}
		v = json_object_get(obj, key);
		if (v == NULL || json_is_null(v))
			continue;
		if (att->atttypid == JSONBOID || att->atttypid == JSONOID)
			values[i] = d8_json_dump(v);
		else if (json_is_array(v) && OidIsValid(get_element_type(att->atttypid)))
			values[i] = array_literal(v);
		else
			values[i] = d8_json_text(v);
	}
	return values;
}

/*
 * Appends s as a JSON string literal.  The text is converted to UTF-8 when
 * the database uses another encoding.
 */
void
d8_json_append_string(StringInfo buf, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	const unsigned char *end;
	const unsigned char *run;
	char	   *utf8 = NULL;

	if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
	{
		utf8 = (char *) pg_do_encoding_conversion((unsigned char *) s, len,
												  GetDatabaseEncoding(), PG_UTF8);
		if (utf8 != s)
		{
			s = utf8;
			len = strlen(utf8);
		}
		else
			utf8 = NULL;
	}

	p = (const unsigned char *) s;
	end = p + len;
	enlargeStringInfo(buf, len + 2);
	buf->data[buf->len++] = '"';
	run = p;
	for (; p < end; p++)
	{
		unsigned char c = *p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (p > run)
			appendBinaryStringInfo(buf, (const char *) run, p - run);
		run = p + 1;
		switch (c)
		{
			case '"':
				appendBinaryStringInfo(buf, "\\\"", 2);
				break;
			case '\\':
				appendBinaryStringInfo(buf, "\\\\", 2);
				break;
			case '\n':
				appendBinaryStringInfo(buf, "\\n", 2);
				break;
			case '\r':
				appendBinaryStringInfo(buf, "\\r", 2);
				break;
			case '\t':
				appendBinaryStringInfo(buf, "\\t", 2);
				break;
			default:
				{
					char		esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

					appendBinaryStringInfo(buf, esc, 6);
				}
		}
	}
	if (p > run)
		appendBinaryStringInfo(buf, (const char *) run, p - run);
	appendStringInfoChar(buf, '"');
	if (utf8)
		pfree(utf8);
}

void
d8_json_append_cstring(StringInfo buf, const char *s)
{
	d8_json_append_string(buf, s, strlen(s));
}

/*
 * Appends "key": to an object body being written (after a comma unless it
 * is the first member: the body then holds just "{").
 */
void
d8_json_append_member(StringInfo body, const char *key)
{
	if (body->len > 1)
		appendStringInfoChar(body, ',');
	d8_json_append_cstring(body, key);
	appendStringInfoChar(body, ':');
}

/*
 * Appends "key": with the member's value in current (an object as read), so
 * that a PUT keeps it; nothing when current has no such member.
 */
void
d8_json_append_kept(StringInfo body, D8Json *current, const char *key)
{
	json_t	   *v = json_object_get(current, key);

	if (v == NULL)
		return;
	d8_json_append_member(body, key);
	appendStringInfoString(body, d8_json_dump(v));
}

/* Appends a timestamp with time zone as an ISO 8601 UTC string ("...Z"). */
void
d8_json_append_timestamp(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts) || timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for Data8"),
				 errhint("Data8 accepts finite timestamps only.")));
	if (tm.tm_year < 1 || tm.tm_year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for Data8"),
				 errdetail("Year %d is outside 1 to 9999.", tm.tm_year)));
	if (fsec != 0)
		appendStringInfo(buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"",
						 tm.tm_year, tm.tm_mon, tm.tm_mday,
						 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
	else
		appendStringInfo(buf, "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"",
						 tm.tm_year, tm.tm_mon, tm.tm_mday,
						 tm.tm_hour, tm.tm_min, tm.tm_sec);
}
