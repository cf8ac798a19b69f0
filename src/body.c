/*
 * body.c
 *	  Request bodies from SQL function arguments (see body.h).
 */
#include "data8.h"

#include "utils/builtins.h"

#include "body.h"

/*
 * Ensures body has member "member" from text argument argno when it is not
 * NULL; a NULL argument is left out, or, given current (the object as
 * read, for a PUT), keeps its current value.  Returns 1 for a non-NULL
 * argument, else 0.
 */
int
d8_body_text_arg(FunctionCallInfo fcinfo, StringInfo body, int argno,
				 const char *member, D8Json *current)
{
	if (PG_ARGISNULL(argno))
	{
		if (current)
			d8_json_append_kept(body, current, member);
		return 0;
	}
	d8_json_append_member(body, member);
	d8_json_append_cstring(body, text_to_cstring(PG_GETARG_TEXT_PP(argno)));
	return 1;
}
