/*
 * answer.c
 *	  The mapping of the service's answers to SQLSTATEs and messages (see
 *	  answer.h).
 */
#include "data8.h"

#include "answer.h"
#include "json.h"

/* The problem+json answer's title and detail, if the answer is one. */
static void
problem_detail(D8Response *resp, StringInfo detail, char **title)
{
	*title = NULL;
	if (resp->body.len == 0 || strstr(resp->content_type, "json") == NULL)
		return;
	d8_json_problem(d8_json_try_parse(resp->body.data, resp->body.len), detail, title);
}

/*
 * What the ERROR of an answer carries besides its message: the service's
 * own text (the problem+json title and detail) as internal detail, and the
 * request as context.
 */
#define ANSWER_DETAIL(req, title, detail) \
	(((title) || (detail)->len) ? \
	 errdetail_internal("%s%s%s", (title) ? (title) : "", \
						((title) && (detail)->len) ? "\n" : "", (detail)->data) : 0), \
	errcontext("Data8 request %s %s", (req)->method, (req)->path)

/* Raises the ERROR that an unsuccessful answer means: one per kind of answer. */
void
d8_http_raise(D8Request *req, D8Response *resp)
{
	StringInfoData detail;
	char	   *title = NULL;
	const char *object = req->object ? req->object : "the requested object";

	if (resp->status == 0)
	{
		if (resp->too_large)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("Data8 answer is too large"),
					 errdetail("Answers over %d bytes are refused.", D8_MAX_RESPONSE),
					 errcontext("Data8 request %s %s", req->method, req->path)));
		if (resp->undecodable)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("could not decode the Data8 answer"),
					 errdetail_internal("%s", resp->error),
					 errcontext("Data8 request %s %s", req->method, req->path)));
		if (resp->timed_out)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg_plural("Data8 request timed out after %d attempt",
								   "Data8 request timed out after %d attempts",
								   resp->attempts, resp->attempts),
					 errdetail_internal("%s", resp->error),
					 errhint("Raise data8.timeout or data8.max_retries."),
					 errcontext("Data8 request %s %s", req->method, req->path)));
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg_plural("could not reach the Data8 service after %d attempt",
							   "could not reach the Data8 service after %d attempts",
							   resp->attempts, resp->attempts),
				 errdetail_internal("%s", resp->error),
				 errhint("Check the profile's api_url and token_url, and data8.max_retries."),
				 errcontext("Data8 request %s %s", req->method, req->path)));
	}

	initStringInfo(&detail);
	problem_detail(resp, &detail, &title);

	switch (resp->status)
	{
		case 400:
		case 422:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Data8 rejected the request for %s", object),
					 ANSWER_DETAIL(req, title, &detail)));
			break;
		case 401:
		case 403:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("Data8 refused access to %s", object),
					 ANSWER_DETAIL(req, title, &detail),
					 errhint("Check the client credentials and scope of profile \"%s\".",
							 d8_profile_name)));
			break;
		case 404:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("%s does not exist in Data8", object),
					 ANSWER_DETAIL(req, title, &detail)));
			break;
		case 409:
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("%s already exists in Data8 or its name was used before", object),
					 ANSWER_DETAIL(req, title, &detail)));
			break;
		case 413:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("Data8 refused the request for %s as too large", object),
					 ANSWER_DETAIL(req, title, &detail)));
			break;
		case 429:
		case 500:
		case 502:
		case 503:
		case 504:
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg_plural("Data8 service unavailable (HTTP %ld) after %d attempt",
								   "Data8 service unavailable (HTTP %ld) after %d attempts",
								   resp->attempts, resp->status, resp->attempts),
					 ANSWER_DETAIL(req, title, &detail),
					 errhint("The service is overloaded or down; try again later or raise data8.max_retries.")));
			break;
		default:
			if (resp->status >= 300 && resp->status < 400)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("Data8 answered with a redirect (HTTP %ld), which is not followed",
								resp->status),
						 ANSWER_DETAIL(req, title, &detail)));
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("unexpected Data8 answer HTTP %ld for %s", resp->status, object),
					 ANSWER_DETAIL(req, title, &detail),
					 resp->status >= 500 ?
					 errhint("The service is overloaded or down; try again later or raise data8.max_retries.") : 0));
			break;
	}
	pg_unreachable();
}

/* Raises an ERROR unless the answer is a success. */
void
d8_http_check(D8Request *req, D8Response *resp)
{
	if (!d8_http_ok(resp))
		d8_http_raise(req, resp);
}

/*
 * Ensures an answer is JSON by its content type (when it has one): a
 * profile whose api_url points elsewhere gets a page of HTML, not a parse
 * error.
 */
void
d8_http_check_json(D8Request *req, D8Response *resp)
{
	if (resp->content_type[0] && strstr(resp->content_type, "json") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Data8 answered %s %s with %s, not JSON",
						req->method, req->path, resp->content_type),
				 errhint("Check the profile's api_url: it may not point at the Data8 API.")));
}
