/*
 * body.h
 *	  Request bodies from SQL function arguments: the members shared by the
 *	  routes' POST and whole-object PUT bodies.
 */
#ifndef DATA8_BODY_H
#define DATA8_BODY_H

#include "postgres.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

#include "json.h"

extern int	d8_body_text_arg(FunctionCallInfo fcinfo, StringInfo body, int argno,
							 const char *member, D8Json *current);

#endif							/* DATA8_BODY_H */
