/*
 * fuzz_records.c
 *	  libFuzzer harness for the record decoder (src/record.c).
 *
 * The input is a page body.  It is read with d8_records_begin/next until
 * false or an ERROR, touching every key, value and raw record text and
 * checking the decoder's promises (NUL-terminated texts of the stated
 * length, raw text inside the buffer and bracketed by {}).  When the whole
 * page is accepted, is in the array form and holds only flat scalar values,
 * jansson (through d8_json_parse) must read the same records.
 */
#include "postgres.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "record.h"
#include "shim.h"

extern void json_object_seed(size_t seed);

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_records: check failed at line %d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* Touches every byte of [p, p + len] (the NUL included). */
static volatile unsigned sink;
static void
touch(const char *p, size_t len)
{
	unsigned	h = 0;
	size_t		i;

	for (i = 0; i <= len; i++)
		h = h * 31 + (unsigned char) p[i];
	sink += h;
}

#define MAX_KEPT 64

/* One record's values, copied for the comparison with jansson. */
typedef struct Kept
{
	int			nvalues;
	bool		dupkeys;
	char	  **keys;
	D8ValueType *types;
	char	  **texts;
} Kept;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object_seed(0x5eed);
	d8_json_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *) data;
	D8RecordReader r;
	Kept	   *kept = NULL;
	volatile int nkept = 0;
	volatile bool comparable = true;
	volatile long nrecords = 0;
	int			failed;

	failed = FUZZ_TRY({
		kept = palloc0(sizeof(Kept) * MAX_KEPT);
		d8_records_begin(&r, buf, size, "GET /fuzz", 1);
		while (d8_records_next(&r))
		{
			int			i;

			nrecords++;
			CHECK(r.raw >= buf && r.rawlen >= 2 && r.raw + r.rawlen <= buf + size);
			CHECK(r.raw[0] == '{' && r.raw[r.rawlen - 1] == '}');
			CHECK(r.nvalues >= 0 && r.nvalues <= r.maxvalues);
			for (i = 0; i < r.nvalues; i++)
			{
				D8RecordValue *v = &r.values[i];

				CHECK(v->key != NULL && v->keylen >= 0);
				touch(v->key, v->keylen);
				CHECK(v->key[v->keylen] == '\0' && strlen(v->key) == (size_t) v->keylen);
				switch (v->type)
				{
					case D8V_NULL:
						CHECK(v->text == NULL);
						break;
					case D8V_STRING:
					case D8V_NUMBER:
					case D8V_TRUE:
					case D8V_FALSE:
						CHECK(v->text != NULL && v->len >= 0);
						touch(v->text, v->len);
						/* \u0000 is refused, so no value holds a NUL */
						CHECK(v->text[v->len] == '\0' && strlen(v->text) == (size_t) v->len);
						if (v->type == D8V_NUMBER)
							CHECK(v->len > 0 && (v->text[0] == '-' || isdigit((unsigned char) v->text[0])));
						break;
					case D8V_RAW:
						CHECK(v->text != NULL && v->len >= 2);
						touch(v->text, v->len);
						CHECK(v->text[v->len] == '\0');
						CHECK((v->text[0] == '{' && v->text[v->len - 1] == '}') ||
							  (v->text[0] == '[' && v->text[v->len - 1] == ']'));
						comparable = false;
						break;
					default:
						CHECK(!"unknown value type");
				}
			}
			/* keep a copy for the comparison with jansson */
			if (nkept < MAX_KEPT)
			{
				Kept	   *k = &kept[nkept++];
				int			j;

				k->nvalues = r.nvalues;
				k->keys = palloc(sizeof(char *) * (r.nvalues + 1));
				k->types = palloc(sizeof(D8ValueType) * (r.nvalues + 1));
				k->texts = palloc(sizeof(char *) * (r.nvalues + 1));
				for (i = 0; i < r.nvalues; i++)
				{
					k->keys[i] = pstrdup(r.values[i].key);
					k->types[i] = r.values[i].type;
					k->texts[i] = r.values[i].text ? pstrdup(r.values[i].text) : NULL;
					for (j = 0; j < i; j++)
						if (strcmp(k->keys[j], k->keys[i]) == 0)
							k->dupkeys = true;
				}
			}
			else
				comparable = false;
		}
		/* once done, it stays done */
		CHECK(!d8_records_next(&r));
		if (r.wrapped)
			comparable = false;
		d8_records_end(&r);
	});

	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, failed ? "ERROR after %ld records: %s (%s)\n" : "%ld records%s%s\n",
				nrecords, failed ? fuzz_last_error.message : "",
				failed ? fuzz_last_error.detail : "");
	if (failed)
	{
		/* every ERROR says what it was reading */
		CHECK(fuzz_last_error.elevel >= ERROR);
		CHECK(fuzz_last_error.message[0] != '\0');
		CHECK(strstr(fuzz_last_error.message, "GET /fuzz") != NULL ||
			  strstr(fuzz_last_error.message, "invalid byte sequence") != NULL);
	}
	else if (comparable)
	{
		/* the page is valid JSON: jansson agrees on every flat record */
		D8Json	   *root = NULL;
		int			jfailed;

		jfailed = FUZZ_TRY(root = d8_json_parse(buf, size, "GET /fuzz"));
		if (jfailed)
		{
			/* jansson refuses numbers a double cannot hold; the decoder keeps their text */
			if (strstr(fuzz_last_error.detail, "too big") == NULL &&
				strstr(fuzz_last_error.detail, "overflow") == NULL)
			{
				fprintf(stderr, "decoder accepted what jansson refuses: %s\n",
						fuzz_last_error.detail);
				abort();
			}
		}
		else
		{
			int			i;

			CHECK(d8_json_is_array(root));
			CHECK(d8_json_size(root) == (size_t) nrecords);
			for (i = 0; i < nkept; i++)
			{
				D8Json	   *obj = d8_json_at(root, i);
				Kept	   *k = &kept[i];
				int			j;

				CHECK(d8_json_is_object(obj));
				if (k->dupkeys)
					continue;
				for (j = 0; j < k->nvalues; j++)
				{
					D8Json	   *v = d8_json_get(obj, k->keys[j]);

					CHECK(v != NULL);
					switch (k->types[j])
					{
						case D8V_NULL:
							CHECK(d8_json_is_null(v));
							break;
						case D8V_STRING:
							CHECK(d8_json_string(v) != NULL);
							CHECK(strcmp(d8_json_string(v), k->texts[j]) == 0);
							break;
						case D8V_NUMBER:
							{
								double		d;
								char	   *end;

								CHECK(d8_json_number(v, &d));
								CHECK(strtod(k->texts[j], &end) == d && *end == '\0');
								break;
							}
						case D8V_TRUE:
						case D8V_FALSE:
							{
								bool		b;

								CHECK(d8_json_bool(v, &b));
								CHECK(b == (k->types[j] == D8V_TRUE));
								break;
							}
						default:
							CHECK(!"unexpected type");
					}
				}
			}
		}
	}
	fuzz_reset_memory();
	CHECK(fuzz_live_chunks() == 0);
	return 0;
}
