/*
 * record.c
 *	  The record decoder (see record.h).
 */
#include "data8.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"

#include "record.h"

#define R_START		0
#define R_IN_ARRAY	1
#define R_DONE		2

static void
syntax_error(D8RecordReader *r, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid JSON in the Data8 answer to %s", r->what),
			 r->p < r->end ?
			 errdetail("Expected %s at byte %zu, found \"%c\".", expected,
					   (size_t) (r->p - r->buf), *r->p >= 0x20 && *r->p < 0x7f ? *r->p : '?') :
			 errdetail("Expected %s at byte %zu, found the end of the answer.", expected,
					   (size_t) (r->p - r->buf))));
}

static inline void
skip_ws(D8RecordReader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

static inline bool
next_is(D8RecordReader *r, char c)
{
	skip_ws(r);
	return r->p < r->end && *r->p == c;
}

static void
expect(D8RecordReader *r, char c, const char *what)
{
	if (!next_is(r, c))
		syntax_error(r, what);
	r->p++;
}

/*
 * The bytes a string can hold that need no check or change: printable
 * ASCII but the quote and the backslash.
 */
static const bool plain_byte[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20 */ 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	/* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x80 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0xA0 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0xB0 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0xC0 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0xD0 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0xE0 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0xF0 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/*
 * The first byte at or after p that is not plain_byte (or end).  On a
 * little-endian machine eight bytes are read at a time: the top bit of each
 * byte of m is set if that byte is a quote, a backslash, a control character
 * or above ASCII (the lowest such bit exactly; bits above it may be false).
 */
static inline const char *
skip_plain(const char *p, const char *end)
{
#ifndef WORDS_BIGENDIAN
#define BYTES(b) (UINT64CONST(0x0101010101010101) * (b))
	while (end - p >= 8)
	{
		uint64		x;
		uint64		quote;
		uint64		backslash;
		uint64		m;

		memcpy(&x, p, 8);
		quote = x ^ BYTES('"');
		backslash = x ^ BYTES('\\');
		m = (((quote - BYTES(1)) & ~quote) |
			 ((backslash - BYTES(1)) & ~backslash) |
			 ((x - BYTES(0x20)) & ~x) |
			 x) & BYTES(0x80);
		if (m)
			return p + pg_rightmost_one_pos64(m) / 8;
		p += 8;
	}
#undef BYTES
#endif
	while (p < end && plain_byte[(unsigned char) *p])
		p++;
	return p;
}

/*
 * Appends n bytes and a NUL to the scratch buffer; the NUL is kept (the
 * next value starts after it).
 */
static inline void
scratch_append(StringInfo s, const char *data, int n)
{
	if (s->len + n + 2 > s->maxlen)
		enlargeStringInfo(s, n + 1);
	memcpy(s->data + s->len, data, n);
	s->len += n;
	s->data[s->len++] = '\0';
	s->data[s->len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
read_hex4(D8RecordReader *r)
{
	int			v = 0;
	int			i;

	if (r->end - r->p < 4)
		syntax_error(r, "four hex digits");
	for (i = 0; i < 4; i++)
	{
		int			h = hexval(r->p[i]);

		if (h < 0)
			syntax_error(r, "a hex digit");
		v = v * 16 + h;
	}
	r->p += 4;
	return v;
}

/*
 * Parses a string at r->p into the scratch buffer, unescaped, in the
 * database encoding, NUL-terminated; returns its offset and sets *len.
 */
static int
parse_string(D8RecordReader *r, int *len)
{
	StringInfo	s = &r->scratch;
	int			off = s->len;
	const char *run;
	const char *q;
	unsigned char high = 0;		/* the OR of every byte: ASCII when < 0x80 */
	char	   *converted;

	if (r->p >= r->end || *r->p != '"')
		syntax_error(r, "a string");
	run = ++r->p;

	/* most strings are printable ASCII without escapes: copied in one go */
	q = skip_plain(r->p, r->end);
	if (q < r->end && *q == '"')
	{
		*len = q - run;
		scratch_append(s, run, *len);
		r->p = q + 1;
		return off;
	}
	r->p = q;					/* the bytes before q need no more checks */
	for (;;)
	{
		unsigned char c;

		if (r->p >= r->end)
			syntax_error(r, "the end of a string");
		c = (unsigned char) *r->p;
		if (c == '"')
			break;
		if (c < 0x20)
			syntax_error(r, "an escaped control character");
		high |= c;
		if (c != '\\')
		{
			r->p++;
			continue;
		}
		appendBinaryStringInfo(s, run, r->p - run);
		r->p++;
		if (r->p >= r->end)
			syntax_error(r, "an escape");
		switch (*r->p++)
		{
			case '"':
				appendStringInfoChar(s, '"');
				break;
			case '\\':
				appendStringInfoChar(s, '\\');
				break;
			case '/':
				appendStringInfoChar(s, '/');
				break;
			case 'b':
				appendStringInfoChar(s, '\b');
				break;
			case 'f':
				appendStringInfoChar(s, '\f');
				break;
			case 'n':
				appendStringInfoChar(s, '\n');
				break;
			case 'r':
				appendStringInfoChar(s, '\r');
				break;
			case 't':
				appendStringInfoChar(s, '\t');
				break;
			case 'u':
				{
					pg_wchar	cp = read_hex4(r);
					unsigned char utf8[8];

					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						int			lo;

						if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
							syntax_error(r, "a low surrogate");
						r->p += 2;
						lo = read_hex4(r);
						if (lo < 0xDC00 || lo > 0xDFFF)
							syntax_error(r, "a low surrogate");
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
						syntax_error(r, "a high surrogate first");
					if (cp == 0)
						ereport(ERROR,
								(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
								 errmsg("a value in the Data8 answer to %s holds a NUL character",
										r->what),
								 errdetail("\\u0000 cannot be stored in PostgreSQL text.")));
					unicode_to_utf8(cp, utf8);
					high |= utf8[0];
					appendBinaryStringInfo(s, (char *) utf8, pg_utf_mblen(utf8));
					break;
				}
			default:
				r->p--;
				syntax_error(r, "a valid escape");
		}
		run = r->p;
	}
	appendBinaryStringInfo(s, run, r->p - run);
	r->p++;						/* closing quote */

	/*
	 * UTF-8 from the wire: checked, and converted to the database's encoding.
	 * ASCII (no NUL can be here) is valid and the same in every server
	 * encoding.
	 */
	converted = (high & 0x80) ? pg_any_to_server(s->data + off, s->len - off, PG_UTF8)
		: s->data + off;
	if (converted != s->data + off)
	{
		s->len = off;
		appendStringInfoString(s, converted);
		pfree(converted);
	}
	*len = s->len - off;
	scratch_append(s, "", 0);
	return off;
}

/* JSON's digits (isdigit() may take more, by locale, and is a call) */
static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses a number, checking JSON's grammar; its text is kept as written. */
static int
parse_number(D8RecordReader *r, int *len)
{
	const char *start = r->p;
	int			off = r->scratch.len;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (r->p < r->end && *r->p >= '1' && *r->p <= '9')
		while (r->p < r->end && is_digit(*r->p))
			r->p++;
	else
		syntax_error(r, "a digit");
	if (r->p < r->end && *r->p == '.')
	{
		r->p++;
		if (r->p >= r->end || !is_digit(*r->p))
			syntax_error(r, "a digit after the decimal point");
		while (r->p < r->end && is_digit(*r->p))
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
	{
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || !is_digit(*r->p))
			syntax_error(r, "a digit in the exponent");
		while (r->p < r->end && is_digit(*r->p))
			r->p++;
	}
	*len = r->p - start;
	scratch_append(&r->scratch, start, *len);
	return off;
}

static bool
parse_literal(D8RecordReader *r, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (r->end - r->p) >= n && memcmp(r->p, word, n) == 0)
	{
		r->p += n;
		return true;
	}
	return false;
}

/*
 * Skips an object or array at r->p (checking brackets, strings and the
 * nesting depth, not every detail: its text goes to jsonb_in or a type's
 * input function, which check the rest).
 */
static void
skip_nested(D8RecordReader *r)
{
	char		stack[D8_RECORD_MAX_DEPTH];
	int			depth = 0;

	for (;;)
	{
		char		c;

		if (r->p >= r->end)
			syntax_error(r, "the end of a nested value");
		c = *r->p;
		if (c == '"')
		{
			int			len;
			int			save = r->scratch.len;

			(void) parse_string(r, &len);
			r->scratch.len = save;
			r->scratch.data[save] = '\0';
			continue;
		}
		r->p++;
		if (c == '{' || c == '[')
		{
			if (depth >= D8_RECORD_MAX_DEPTH)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("JSON in the Data8 answer to %s is nested too deeply", r->what),
						 errdetail("At most %d levels are accepted.", D8_RECORD_MAX_DEPTH)));
			stack[depth++] = (c == '{') ? '}' : ']';
		}
		else if (c == '}' || c == ']')
		{
			if (depth == 0 || stack[depth - 1] != c)
			{
				r->p--;
				syntax_error(r, "matching brackets");
			}
			if (--depth == 0)
				return;
		}
	}
}

/* Parses any value; fills v (type and text offset). */
static void
parse_value(D8RecordReader *r, D8RecordValue *v)
{
	skip_ws(r);
	v->textoff = -1;
	v->len = 0;
	if (r->p >= r->end)
		syntax_error(r, "a value");
	switch (*r->p)
	{
		case '"':
			v->type = D8V_STRING;
			v->textoff = parse_string(r, &v->len);
			break;
		case 't':
			if (!parse_literal(r, "true"))
				syntax_error(r, "true");
			v->type = D8V_TRUE;
			break;
		case 'f':
			if (!parse_literal(r, "false"))
				syntax_error(r, "false");
			v->type = D8V_FALSE;
			break;
		case 'n':
			if (!parse_literal(r, "null"))
				syntax_error(r, "null");
			v->type = D8V_NULL;
			break;
		case '{':
		case '[':
			{
				const char *start = r->p;

				skip_nested(r);
				v->type = D8V_RAW;
				v->textoff = r->scratch.len;
				v->len = r->p - start;
				appendBinaryStringInfo(&r->scratch, start, v->len);
				appendStringInfoChar(&r->scratch, '\0');
				break;
			}
		default:
			v->type = D8V_NUMBER;
			v->textoff = parse_number(r, &v->len);
			break;
	}
}

/*
 * Ensures a record is a JSON object: anything else at r->p (a valid value,
 * or invalid JSON) ends in an ERROR that names its kind and position.
 */
static void
check_record_is_object(D8RecordReader *r)
{
	D8RecordValue v;
	const char *kind;

	if (next_is(r, '{'))
		return;
	parse_value(r, &v);			/* invalid JSON is a syntax error */
	switch (v.type)
	{
		case D8V_STRING:
			kind = "a string";
			break;
		case D8V_NUMBER:
			kind = "a number";
			break;
		case D8V_TRUE:
		case D8V_FALSE:
			kind = "a boolean";
			break;
		case D8V_NULL:
			kind = "null";
			break;
		default:
			kind = "an array";
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("a record in the Data8 answer to %s is not a JSON object", r->what),
			 errdetail("Record " INT64_FORMAT " of the page starting at " INT64_FORMAT
					   " is %s, not an object.", r->index, r->first, kind)));
}

/*
 * Starts reading a page of records from buf (not copied: keep it alive);
 * first is the number of its first record in the dataset, for messages.
 */
void
d8_records_begin(D8RecordReader *r, const char *buf, size_t len, const char *what,
				 int64 first)
{
	memset(r, 0, sizeof(*r));
	r->buf = r->p = buf;
	r->end = buf + len;
	r->what = what;
	r->first = first;
	r->state = R_START;
	initStringInfo(&r->scratch);
	r->maxvalues = 16;
	r->values = palloc(sizeof(D8RecordValue) * r->maxvalues);
}

/* Skips the members of the wrapper object up to and after "records": [ */
static void
enter_wrapper(D8RecordReader *r)
{
	r->p++;						/* '{' */
	r->wrapped = true;
	if (next_is(r, '}'))
		syntax_error(r, "a \"records\" array");
	for (;;)
	{
		int			keylen;
		int			keyoff;
		D8RecordValue skip;

		skip_ws(r);
		resetStringInfo(&r->scratch);
		keyoff = parse_string(r, &keylen);
		expect(r, ':', "':'");
		if (strcmp(r->scratch.data + keyoff, "records") == 0 && next_is(r, '['))
		{
			r->p++;
			return;
		}
		parse_value(r, &skip);
		if (!next_is(r, ','))
			syntax_error(r, "a \"records\" array");
		r->p++;
	}
}

/* Skips what follows the array: the wrapper's other members, then the end. */
static void
finish(D8RecordReader *r)
{
	if (r->wrapped)
	{
		while (next_is(r, ','))
		{
			D8RecordValue skip;
			int			keylen;

			r->p++;
			skip_ws(r);
			(void) parse_string(r, &keylen);
			expect(r, ':', "':'");
			parse_value(r, &skip);
		}
		expect(r, '}', "'}'");
	}
	skip_ws(r);
	if (r->p != r->end)
		syntax_error(r, "the end of the answer");
	r->state = R_DONE;
}

/*
 * Reads the next record into r->values[0..nvalues-1] (and its raw text);
 * false at the end of the page.
 */
bool
d8_records_next(D8RecordReader *r)
{
	const char *start;
	int			i;

	if (r->state == R_DONE)
		return false;
	if (r->state == R_START)
	{
		skip_ws(r);
		if (r->p < r->end && *r->p == '[')
			r->p++;
		else if (r->p < r->end && *r->p == '{')
			enter_wrapper(r);
		else
			syntax_error(r, "a JSON array of records");
		r->state = R_IN_ARRAY;
		if (next_is(r, ']'))
		{
			r->p++;
			finish(r);
			return false;
		}
	}
	else
	{
		/* after a record: ',' and the next, or the end */
		skip_ws(r);
		if (next_is(r, ']'))
		{
			r->p++;
			finish(r);
			return false;
		}
		expect(r, ',', "',' or ']'");
	}

	CHECK_FOR_INTERRUPTS();
	resetStringInfo(&r->scratch);
	r->nvalues = 0;
	r->index++;
	check_record_is_object(r);
	skip_ws(r);
	start = r->p;
	expect(r, '{', "a record (a JSON object)");
	if (!next_is(r, '}'))
	{
		for (;;)
		{
			D8RecordValue *v;

			if (r->nvalues == r->maxvalues)
			{
				r->maxvalues *= 2;
				r->values = repalloc(r->values, sizeof(D8RecordValue) * r->maxvalues);
			}
			v = &r->values[r->nvalues++];
			skip_ws(r);
			v->keyoff = parse_string(r, &v->keylen);
			expect(r, ':', "':'");
			parse_value(r, v);
			if (next_is(r, ','))
			{
				r->p++;
				continue;
			}
			break;
		}
	}
	expect(r, '}', "',' or '}'");
	r->raw = start;
	r->rawlen = r->p - start;

	/* the scratch buffer is final now: offsets become pointers */
	for (i = 0; i < r->nvalues; i++)
	{
		D8RecordValue *v = &r->values[i];

		v->key = r->scratch.data + v->keyoff;
		v->text = v->textoff >= 0 ? r->scratch.data + v->textoff : NULL;
		if (v->type == D8V_TRUE)
		{
			v->text = "true";
			v->len = 4;
		}
		else if (v->type == D8V_FALSE)
		{
			v->text = "false";
			v->len = 5;
		}
	}
	return true;
}

/* Ensures the reader's buffers are freed. */
void
d8_records_end(D8RecordReader *r)
{
	pfree(r->scratch.data);
	pfree(r->values);
}
