/*
 * json.h
 *	  The extension's only door to jansson.
 *
 * jansson.h declares json_object(), which clashes with PostgreSQL's
 * fmgrprotos.h, so jansson is included by json.c alone; other files see
 * parsed values through the opaque D8Json type below.  jansson allocates in
 * CurrentMemoryContext (palloc), so an ERROR never leaks a parsed tree.
 */
#ifndef DATA8_JSON_H
#define DATA8_JSON_H

#include "postgres.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/timestamp.h"

struct json_t;
typedef struct json_t D8Json;

/* Maps an attribute of a result type to the key of a JSON object. */
typedef struct D8Field
{
	const char *attname;		/* column of the SQL composite type */
	const char *key;			/* member of the JSON object */
} D8Field;

extern void d8_json_init(void);

/* Parsing and access (json.c) */
extern D8Json *d8_json_parse(const char *buf, size_t len, const char *what);
extern D8Json *d8_json_try_parse(const char *buf, size_t len);
extern D8Json *d8_json_get(D8Json *obj, const char *key);
extern bool d8_json_is_object(D8Json *v);
extern bool d8_json_is_array(D8Json *v);
extern bool d8_json_is_null(D8Json *v);
extern size_t d8_json_size(D8Json *array);
extern D8Json *d8_json_at(D8Json *array, size_t i);
extern D8Json *d8_json_list(D8Json *root, const char *wrapper, const char *what);
extern char *d8_json_text(D8Json *v);
extern void d8_json_problem(D8Json *root, StringInfo detail, char **title);
extern char *d8_json_dump(D8Json *v);
extern bool d8_json_int(D8Json *v, int64 *out);
extern bool d8_json_number(D8Json *v, double *out);
extern bool d8_json_bool(D8Json *v, bool *out);
extern const char *d8_json_string(D8Json *v);
extern const char *d8_json_first_key(D8Json *obj, D8Json **value);

/* Object iteration, in the object's order. */
typedef struct D8JsonIter
{
	D8Json	   *obj;
	void	   *pos;
} D8JsonIter;
extern void d8_json_iter_init(D8JsonIter *it, D8Json *obj);
extern bool d8_json_iter_next(D8JsonIter *it, const char **key, D8Json **value);

/* Conversion of an object to a row of a composite type. */
extern char **d8_json_row_cstrings(D8Json *obj, TupleDesc tupdesc,
								   const D8Field *fields, int nfields);

/* Writing JSON text (no tree): a body is built into a StringInfo. */
extern void d8_json_append_string(StringInfo buf, const char *s, size_t len);
extern void d8_json_append_cstring(StringInfo buf, const char *s);
extern void d8_json_append_member(StringInfo body, const char *key);
extern void d8_json_append_kept(StringInfo body, D8Json *current, const char *key);
extern void d8_json_append_timestamp(StringInfo buf, TimestampTz ts);

#endif							/* DATA8_JSON_H */
