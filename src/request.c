/*
 * request.c
 *	  The request layer (see request.h): Data8 calls with the active
 *	  profile's token, the idempotency rules, and the read-backs.
 */
#include "data8.h"

#include "request.h"
#include "token.h"
#include "window.h"

/* Performs one request for profile with its token; the answer may be any status. */
void
d8_http_perform(D8Profile *profile, D8Request *req, D8Response *resp)
{
	D8Auth		auth;

	d8_token_auth(profile, &auth);
	d8_transport_perform(profile->api_url, &auth, req, resp);
}

/* Starts the data path's pipeline: the active profile, data8.parallel_requests. */
D8Pipeline *
d8_data_pipeline_begin(void)
{
	D8Profile  *profile = d8_profile_active();
	D8Auth		auth;

	d8_token_auth(profile, &auth);
	return d8_pipeline_begin(profile->api_url, &auth, d8_window_fixed(), d8_window_capacity());
}

/* Parses a successful answer; NULL when it has no body. */
D8Json *
d8_api_response_json(D8Request *req, D8Response *resp)
{
	if (resp->body.len == 0)
		return NULL;
	d8_http_check_json(req, resp);
	return d8_json_parse(resp->body.data, resp->body.len,
						 psprintf("%s %s", req->method, req->path));
}

/*
 * Calls the API with the active profile: an ERROR for anything but a
 * success; the parsed answer (or NULL for an empty one) otherwise.
 * GET, PUT and DELETE are idempotent; flags may add D8_IDEMPOTENT.
 */
D8Json *
d8_api(const char *method, char *path, const char *object,
	   StringInfo body, int flags)
{
	D8Request	req;
	D8Response	resp;
	D8Profile  *profile = d8_profile_active();

	req.method = method;
	req.path = path;
	req.object = object;
	req.body = body;
	req.flags = flags;
	if (strcmp(method, "GET") == 0 || strcmp(method, "PUT") == 0 ||
		strcmp(method, "DELETE") == 0)
		req.flags |= D8_IDEMPOTENT;

	d8_http_perform(profile, &req, &resp);
	/* a DELETE whose first answer was lost did its work */
	if (resp.status == 404 && resp.ambiguous && strcmp(method, "DELETE") == 0)
		return NULL;
	d8_http_check(&req, &resp);
	return d8_api_response_json(&req, &resp);
}

/*
 * POSTs an object whose name the client chose (a dataset, a job), so that
 * it can be retried even when an attempt's outcome is unknown.  A 409 is
 * taken as "it exists" when exists_ok, or when it follows such an attempt
 * (the first attempt took effect): the object is then read back from
 * recheck_path, and *existed (if given) says so.
 */
static D8Json *
api_create(char *path, const char *object, StringInfo body,
		   char *recheck_path, bool exists_ok, bool *existed)
{
	D8Request	req;
	D8Response	resp;
	D8Profile  *profile = d8_profile_active();

	req.method = "POST";
	req.path = path;
	req.object = object;
	req.body = body;
	req.flags = D8_RETRY_CREATE;

	d8_http_perform(profile, &req, &resp);
	if (existed)
		*existed = false;
	if (resp.status == 409 && (resp.ambiguous || exists_ok))
	{
		/* with exists_ok, the caller checks what is there either way */
		if (existed)
			*existed = true;
		return d8_api("GET", recheck_path, object, NULL, 0);
	}
	d8_http_check(&req, &resp);
	return d8_api_response_json(&req, &resp);
}

/* Creates a client-named object; 409 is an ERROR unless our own retry met it. */
D8Json *
d8_api_create(char *path, const char *object, StringInfo body,
			  char *recheck_path)
{
	return api_create(path, object, body, recheck_path, false, NULL);
}

/* Creates a client-named object, or reads it back when it exists already. */
D8Json *
d8_api_create_or_get(char *path, const char *object, StringInfo body,
					 char *recheck_path, bool *existed)
{
	return api_create(path, object, body, recheck_path, true, existed);
}

/*
 * Updates an object without clearing what the caller did not name: reads it
 * (GET path), lets build write the whole object into a body with the
 * caller's changes overlaid on what was read, PUTs it and reads it back.
 * When build reports no change, nothing is sent and the object is returned
 * as read.
 */
D8Json *
d8_api_update(char *path, const char *object, D8UpdateBody build, void *arg)
{
	D8Json	   *current = d8_api("GET", path, object, NULL, 0);
	StringInfoData body;

	if (!d8_json_is_object(current))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer for %s", object),
				 errdetail("Expected a JSON object.")));
	initStringInfo(&body);
	if (build(arg, &body, current) == 0)
		return current;
	d8_api("PUT", path, object, &body, 0);
	return d8_api("GET", path, object, NULL, 0);
}
