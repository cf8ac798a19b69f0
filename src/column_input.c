/*
 * column_input.c
 *	  Record values as Datums of a column's type (see column_input.h).
 */
#include "data8.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "column_input.h"
#include "json.h"

static inline int
digits(const char *s, int n)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The days since 2000-01-01 of "YYYY-MM-DD" at s; false if not that form. */
static bool
parse_iso_date(const char *s, int *days)
{
	int			y = digits(s, 4);
	int			m = digits(s + 5, 2);
	int			d = digits(s + 8, 2);

	if (y < 1 || s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 ||
		d > day_tab[isleap(y)][m - 1])
		return false;
	*days = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	return true;
}

/* The integer "[-]digits" (at most 18) at s within [min, max]; false if not that form. */
static bool
parse_integer(const char *s, int len, int64 min, int64 max, int64 *out)
{
	bool		neg = (len > 0 && s[0] == '-');
	int			i = neg ? 1 : 0;
	int64		v = 0;

	if (i == len || len - i > 18)
		return false;
	for (; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return *out >= min && *out <= max;
}

#if PG_VERSION_NUM >= 150000
/*
 * The numeric "[-]digits[.digits]" (no exponent) at s as numeric_in would
 * make it: the same value and display scale (the digits after the point as
 * written), so the same Datum; false if not that form.  Integers of up to
 * 18 digits; fractions of up to 15 digits whose scale is not a multiple of
 * 4: int64_div_fast_to_numeric was wrong for scales of 0 and multiples of
 * 4 and when its multiplication overflowed, in minor releases before the
 * fix (upstream b2d4792), and the server loaded may be one of them.
 */
static bool
parse_decimal(const char *s, int len, Datum *out)
{
	bool		neg = (len > 0 && s[0] == '-');
	int			i = neg ? 1 : 0;
	int			ndigits = 0;
	int			scale = -1;		/* digits after the point, once one is seen */
	int64		v = 0;

	for (; i < len; i++)
	{
		if (s[i] == '.' && scale < 0 && ndigits > 0)
		{
			scale = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++ndigits > 18)
			return false;
		v = v * 10 + (s[i] - '0');
		if (scale >= 0)
			scale++;
	}
	if (ndigits == 0 || scale == 0)
		return false;
	if (scale < 0)
		*out = NumericGetDatum(int64_to_numeric(neg ? -v : v));
	else if (ndigits <= 15 && scale % 4 != 0)
		*out = NumericGetDatum(int64_div_fast_to_numeric(neg ? -v : v, scale));
	else
		return false;
	return true;
}
#endif

/*
 * The value of v when it is in the form Data8 sends (and the extension
 * uploads); false to leave it to the type's input function.  Equal to what
 * date_in, timestamp(tz)_in, textin, int4in, int8in, boolin and numeric_in
 * would give for these forms.
 */
static bool
fast_value(D8FastInput kind, const D8RecordValue *v, Datum *out)
{
	const char *s = v->text;
	int			len = v->len;
	int			days;
	int64		n;

	switch (kind)
	{
		case FAST_NONE:
			return false;
		case FAST_TEXT:
			if (v->type != D8V_STRING)
				return false;
			*out = PointerGetDatum(cstring_to_text_with_len(s, len));
			return true;
		case FAST_INT4:
		case FAST_INT8:
			if (v->type != D8V_NUMBER ||
				!parse_integer(s, len, kind == FAST_INT4 ? PG_INT32_MIN : -PG_INT64_MAX,
							   kind == FAST_INT4 ? PG_INT32_MAX : PG_INT64_MAX, &n))
				return false;
			*out = kind == FAST_INT4 ? Int32GetDatum((int32) n) : Int64GetDatum(n);
			return true;
		case FAST_BOOL:
			if (v->type != D8V_TRUE && v->type != D8V_FALSE)
				return false;
			*out = BoolGetDatum(v->type == D8V_TRUE);
			return true;
		case FAST_NUMERIC:
#if PG_VERSION_NUM >= 150000
			return v->type == D8V_NUMBER && parse_decimal(s, len, out);
#else
			return false;
#endif
		case FAST_DATE:
		case FAST_TIMESTAMP:
			if (v->type != D8V_STRING)
				return false;
			break;
	}

	if (kind == FAST_DATE)
	{
		if (len != 10 || !parse_iso_date(s, &days))
			return false;
		*out = DateADTGetDatum(days);
		return true;
	}
	else
	{
		int			h,
					mi,
					sec;
		int64		usec = 0;
		int			p = 19;

		/* YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z */
		if (len < 20 || s[len - 1] != 'Z' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
			!parse_iso_date(s, &days))
			return false;
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		sec = digits(s + 17, 2);
		if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
			return false;
		if (s[p] == '.')
		{
			int			n = 0;

			for (p++; p < len - 1; p++, n++)
			{
				if (s[p] < '0' || s[p] > '9' || n >= 6)
					return false;
				usec = usec * 10 + (s[p] - '0');
			}
			if (n == 0)
				return false;
			for (; n < 6; n++)
				usec *= 10;
		}
		if (p != len - 1)
			return false;
		*out = TimestampTzGetDatum((int64) days * USECS_PER_DAY +
								   ((int64) ((h * 60 + mi) * 60 + sec)) * USECS_PER_SEC + usec);
		return true;
	}
}

/* Readies the conversion of values to a column of type typid (typmod). */
void
d8_column_input_init(D8ColumnInput *ci, Oid typid, int32 typmod)
{
	Oid			infn;
	Oid			base = getBaseType(typid);

	getTypeInputInfo(typid, &infn, &ci->ioparam);
	fmgr_info(infn, &ci->in);
	ci->typmod = typmod;
	ci->json = (base == JSONOID || base == JSONBOID);
	if (typid == DATEOID)
		ci->fast = FAST_DATE;
	else if (typid == TEXTOID)
		ci->fast = FAST_TEXT;
	else if (typid == INT4OID)
		ci->fast = FAST_INT4;
	else if (typid == INT8OID)
		ci->fast = FAST_INT8;
	else if (typid == BOOLOID)
		ci->fast = FAST_BOOL;
	else if (typid == NUMERICOID && typmod < 0)
		ci->fast = FAST_NUMERIC;
	else if ((typid == TIMESTAMPTZOID || typid == TIMESTAMPOID) && typmod < 0)
		ci->fast = FAST_TIMESTAMP;
	else
		ci->fast = FAST_NONE;
}

/*
 * The value v (NULL, or a JSON null, for a missing value: the input
 * function still sees it, for domains and their NOT NULL) as a Datum of the
 * column; a JSON string given to a json column stays a JSON string.
 * scratch is work space.
 */
Datum
d8_column_input(D8ColumnInput *ci, const D8RecordValue *v, StringInfo scratch)
{
	Datum		d;

	if (v == NULL || v->text == NULL)
		return InputFunctionCall(&ci->in, NULL, ci->ioparam, ci->typmod);
	if (fast_value(ci->fast, v, &d))
		return d;
	if (ci->json && v->type == D8V_STRING)
	{
		resetStringInfo(scratch);
		d8_json_append_string(scratch, v->text, v->len);
		return InputFunctionCall(&ci->in, scratch->data, ci->ioparam, ci->typmod);
	}
	return InputFunctionCall(&ci->in, (char *) v->text, ci->ioparam, ci->typmod);
}
