/*
 * request.h
 *	  The request layer: every call to Data8 goes through here.  It sends
 *	  with the active profile's token (a new one once after a 401), knows
 *	  which requests are idempotent, reads an object back after a 409 that
 *	  its own retry met, and raises the error an answer means (answer.h).
 */
#ifndef DATA8_REQUEST_H
#define DATA8_REQUEST_H

#include "postgres.h"
#include "lib/stringinfo.h"

#include "answer.h"
#include "json.h"
#include "profile.h"
#include "transport.h"

extern void d8_http_perform(D8Profile *profile, D8Request *req, D8Response *resp);
extern D8Pipeline *d8_data_pipeline_begin(void);
extern D8Json *d8_api(const char *method, char *path, const char *object,
					  StringInfo body, int flags);
extern D8Json *d8_api_create(char *path, const char *object, StringInfo body,
							 char *recheck_path);
extern D8Json *d8_api_create_or_get(char *path, const char *object, StringInfo body,
									 char *recheck_path, bool *existed);
extern D8Json *d8_api_response_json(D8Request *req, D8Response *resp);

/*
 * Writes the whole object for a PUT into body: the caller's changes over
 * current (the object as read).  Returns the number of changes.
 */
typedef int (*D8UpdateBody) (void *arg, StringInfo body, D8Json *current);
extern D8Json *d8_api_update(char *path, const char *object, D8UpdateBody build, void *arg);

#endif							/* DATA8_REQUEST_H */
