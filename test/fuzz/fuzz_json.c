/*
 * fuzz_json.c
 *	  libFuzzer harness for the JSON answer parsing of src/json.c.
 *
 * The input is an answer body.  d8_json_parse reads it (or raises its
 * ERROR); the tree is walked with every accessor of json.h (iteration,
 * get, first key, text, int, number, bool, string, dump); each string and
 * key is written back with d8_json_append_string and must read back equal;
 * numbers printed by d8_json_text must read back as the same double; objects
 * go through d8_json_row_cstrings with a made-up row type; problem+json
 * bodies are read with d8_json_problem (as answer.c does for every error
 * answer); last, d8_json_list with both wrappers.
 */
#include "postgres.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"

#include "json.h"
#include "shim.h"

extern void json_object_seed(size_t seed);

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_json: check failed at line %d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static volatile unsigned sink;
static TupleDesc row_type;

static void
touch(const char *s)
{
	unsigned	h = 0;

	for (; *s; s++)
		h = h * 31 + (unsigned char) *s;
	sink += h;
}

/* s, written as a JSON string literal, reads back as s. */
static void
round_trip(const char *s)
{
	StringInfoData buf;
	D8Json	   *back;

	initStringInfo(&buf);
	d8_json_append_cstring(&buf, s);
	back = d8_json_try_parse(buf.data, buf.len);
	CHECK(back != NULL);
	CHECK(d8_json_string(back) != NULL);
	CHECK(strcmp(d8_json_string(back), s) == 0);
	pfree(buf.data);
}

/*
 * d8_json_text(v), or NULL with *refused set when it raises the ERROR
 * for a NUL character in a string (which text cannot hold).
 */
static char *
text_of(D8Json *v, bool *refused)
{
	char	   *volatile text = NULL;

	*refused = false;
	if (FUZZ_TRY(text = d8_json_text(v)))
	{
		CHECK(fuzz_last_error.sqlerrcode == ERRCODE_UNTRANSLATABLE_CHARACTER);
		CHECK(d8_json_string(v) != NULL);
		*refused = true;
	}
	return text;
}

static void
walk(D8Json *v, int depth)
{
	bool		refused;
	char	   *text = text_of(v, &refused);
	int64		i64;
	double		d;
	bool		b;
	const char *s;

	CHECK(depth < 10000);
	if (d8_json_is_null(v))
		CHECK(text == NULL);
	else
		CHECK(text != NULL || refused);
	if (text)
		touch(text);

	if ((s = d8_json_string(v)) != NULL)
	{
		touch(s);
		round_trip(s);
	}
	if (d8_json_number(v, &d))
	{
		char	   *end;

		/* the text of a number reads back as the same value */
		CHECK(isfinite(d));
		CHECK(strtod(text, &end) == d && *end == '\0');
		if (d8_json_int(v, &i64))
			CHECK((double) i64 == d || fabs(d) >= 9.0e15);
	}
	else
		CHECK(!d8_json_int(v, &i64));
	if (d8_json_bool(v, &b))
		CHECK(strcmp(text, b ? "true" : "false") == 0);

	if (d8_json_is_array(v))
	{
		size_t		n = d8_json_size(v);
		size_t		i;

		for (i = 0; i < n; i++)
			walk(d8_json_at(v, i), depth + 1);
		CHECK(d8_json_at(v, n) == NULL);
	}
	else
		CHECK(d8_json_size(v) == 0);

	if (d8_json_is_object(v))
	{
		D8JsonIter	it;
		const char *key;
		D8Json	   *value;
		D8Json	   *first_value = NULL;
		const char *first = d8_json_first_key(v, &first_value);
		bool		at_first = true;

		d8_json_iter_init(&it, v);
		while (d8_json_iter_next(&it, &key, &value))
		{
			if (at_first)
				CHECK(first != NULL && strcmp(first, key) == 0 && first_value == value);
			at_first = false;
			touch(key);
			round_trip(key);
			CHECK(d8_json_get(v, key) == value);
			walk(value, depth + 1);
		}
		if (at_first)
			CHECK(first == NULL);
	}
	else
	{
		CHECK(d8_json_get(v, "a") == NULL);
		CHECK(d8_json_first_key(v, NULL) == NULL);
	}
	if (text)
		pfree(text);
}

/* A row type with one column of each kind d8_json_row_cstrings handles. */
static TupleDesc
make_row_type(void)
{
	static const struct
	{
		const char *name;
		Oid			type;
		bool		dropped;
	}			cols[] = {
		{"name", TEXTOID, false},
		{"id", INT8OID, false},
		{"score", FLOAT8OID, false},
		{"ok", BOOLOID, false},
		{"tags", TEXTARRAYOID, false},
		{"counts", INT8ARRAYOID, false},
		{"meta", JSONBOID, false},
		{"doc", JSONOID, false},
		{"gone", TEXTOID, true},
		{"created", TIMESTAMPTZOID, false},
	};
	int			n = lengthof(cols);
	TupleDesc	t = calloc(1, offsetof(struct TupleDescData, attrs) +
						   n * sizeof(FormData_pg_attribute));
	int			i;

	t->natts = n;
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute a = TupleDescAttr(t, i);

		strlcpy(NameStr(a->attname), cols[i].name, NAMEDATALEN);
		a->atttypid = cols[i].type;
		a->attisdropped = cols[i].dropped;
		a->attnum = i + 1;
	}
	return t;
}

static const D8Field row_fields[] = {
	{"name", "displayName"},
	{"created", "createdAt"},
	{"meta", "metadata"},
};

static void
convert_rows(D8Json *v)
{
	size_t		i;

	if (d8_json_is_object(v))
	{
		char	  **values = d8_json_row_cstrings(v, row_type, row_fields,
												  lengthof(row_fields));
		int			j;

		CHECK(values[8] == NULL);	/* dropped */
		for (j = 0; j < row_type->natts; j++)
			if (values[j])
				touch(values[j]);
	}
	if (d8_json_is_array(v))
		for (i = 0; i < d8_json_size(v); i++)
			convert_rows(d8_json_at(v, i));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object_seed(0x5eed);
	d8_json_init();
	row_type = make_row_type();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *) data;
	D8Json	   *volatile root = NULL;
	int			failed;

	failed = FUZZ_TRY(root = d8_json_parse(buf, size, "GET /fuzz"));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, failed ? "ERROR: %s (%s)\n" : "parsed%s%s\n",
				failed ? fuzz_last_error.message : "",
				failed ? fuzz_last_error.detail : "");
	if (failed)
	{
		CHECK(fuzz_last_error.elevel >= ERROR);
		CHECK(strstr(fuzz_last_error.message, "GET /fuzz") != NULL);
		/* try_parse agrees */
		CHECK(d8_json_try_parse(buf, size) == NULL);
	}
	else
	{
		StringInfoData detail;
		char	   *title;
		char	   *dump;
		D8Json	   *again;

		CHECK(root != NULL);
		CHECK(FUZZ_TRY(walk(root, 0)) == 0);

		/* the compact dump reads back to the same dump */
		dump = d8_json_dump(root);
		again = d8_json_try_parse(dump, strlen(dump));
		CHECK(again != NULL);
		CHECK(strcmp(d8_json_dump(again), dump) == 0);

		initStringInfo(&detail);
		d8_json_problem(root, &detail, &title);
		touch(detail.data);
		if (title)
			touch(title);

		if (FUZZ_TRY(convert_rows(root)))
			CHECK(fuzz_last_error.sqlerrcode == ERRCODE_UNTRANSLATABLE_CHARACTER);

		/* a list: the array itself or the wrapper's array; else an ERROR */
		if (FUZZ_TRY(walk(d8_json_list(root, "items", "GET /fuzz"), 0)))
			CHECK(fuzz_last_error.sqlerrcode == ERRCODE_INVALID_TEXT_REPRESENTATION &&
				  !d8_json_is_array(root));
		if (FUZZ_TRY(walk(d8_json_list(root, "records", "GET /fuzz"), 0)))
			CHECK(!d8_json_is_array(d8_json_get(root, "records")));
	}
	fuzz_reset_memory();
	CHECK(fuzz_live_chunks() == 0);
	return 0;
}
