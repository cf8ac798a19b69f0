/*
 * validate.c
 *	  Input checks made before any request, and percent-encoding of URL parts.
 */
#include "data8.h"

#include <stdarg.h>

#include "validate.h"

/* Appends s percent-encoded (RFC 3986: all but unreserved characters). */
void
d8_append_encoded(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			appendStringInfoChar(buf, (char) c);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[c >> 4]);
			appendStringInfoChar(buf, hex[c & 15]);
		}
	}
}

/*
 * Builds "/seg1/seg2/..." with every segment percent-encoded, so no input
 * can add a segment, a query or a "..".
 */
char *
d8_url_path(int nsegments,...)
{
	StringInfoData buf;
	va_list		args;
	int			i;

	initStringInfo(&buf);
	va_start(args, nsegments);
	for (i = 0; i < nsegments; i++)
	{
		const char *seg = va_arg(args, const char *);

		if (seg[0] == '\0' || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
		{
			va_end(args);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid identifier \"%s\" for a Data8 URL", seg),
					 errdetail("Empty names, \".\" and \"..\" cannot name a Data8 object.")));
		}
		appendStringInfoChar(&buf, '/');
		d8_append_encoded(&buf, seg);
	}
	va_end(args);
	return buf.data;
}

/* Ensures name follows Data8's rule for dataset and column names. */
void
d8_check_dataset_name(const char *name, const char *what)
{
	const char *p;
	bool		ok = (name[0] >= 'a' && name[0] <= 'z');

	if (strlen(name) > D8_MAX_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("Data8 %s name is too long", what),
				 errdetail("The name has %zu bytes; at most %d are allowed.",
						   strlen(name), D8_MAX_NAME_LEN)));
	for (p = name; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid Data8 %s name \"%s\"", what, name),
				 errdetail("A name must start with a letter a-z and contain only a-z, 0-9 and _."),
				 strcmp(what, "column") == 0 ?
				 errhint("Alias the column in the query, e.g. \"SELECT \\\"Name\\\" AS name\".") :
				 errhint("Use lower-case letters, digits and underscores.")));
}

/* Ensures a job name is usable: no file-name specials, no control chars. */
void
d8_check_job_name(const char *name)
{
	const char *p;

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("Data8 job name must not be empty")));
	if (strlen(name) > D8_MAX_JOB_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("Data8 job name is too long"),
				 errdetail("The name has %zu bytes; at most %d are allowed.",
						   strlen(name), D8_MAX_JOB_NAME_LEN)));
	for (p = name; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c < 0x20 || c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid Data8 job name"),
					 errdetail("Byte %zu is the control character 0x%02x; job names cannot contain control characters.",
							   (size_t) (p - name) + 1, c)));
		if (strchr("/:*?\"<>|\\", c) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid Data8 job name \"%s\"", name),
					 errdetail("Job names cannot contain / : * ? \" < > | \\ or control characters."),
					 errhint("Use letters, digits, spaces, dashes and underscores.")));
	}
}

/* Ensures a required text argument is not empty. */
void
d8_check_not_empty(const char *value, const char *argname)
{
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must not be empty", argname)));
}
