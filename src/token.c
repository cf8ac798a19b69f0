/*
 * token.c
 *	  OAuth2 client-credentials tokens, cached per profile for the life of
 *	  the backend until shortly before they expire.
 *
 * A token is never written to a message, a log line or a result; the
 * request body that carries the client secret is wiped after use.
 */
#include "data8.h"

#include "common/hashfn.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "answer.h"
#include "json.h"
#include "token.h"
#include "validate.h"

#define D8_TOKEN_MARGIN_MS	30000	/* refresh this long before expiry */

typedef struct D8Token
{
	struct D8Token *next;
	char	   *profile;
	char	   *client_id;
	char	   *token_url;
	char	   *scope;
	uint32		secret_hash;	/* a changed secret means a new token */
	char	   *access_token;
	TimestampTz refresh_at;
	uint64		generation;
} D8Token;

static D8Token *d8_tokens = NULL;
static uint64 d8_token_generation = 0;

static bool
same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static uint32
secret_hash(const char *secret)
{
	return hash_bytes((const unsigned char *) secret, strlen(secret));
}

static D8Token *
token_entry(D8Profile *profile)
{
	D8Token    *t;
	MemoryContext old;

	for (t = d8_tokens; t; t = t->next)
		if (same(t->profile, profile->name) && same(t->client_id, profile->client_id) &&
			same(t->token_url, profile->token_url) && same(t->scope, profile->scope))
			return t;
	old = MemoryContextSwitchTo(TopMemoryContext);
	t = palloc0(sizeof(D8Token));
	t->profile = pstrdup(profile->name);
	t->client_id = pstrdup(profile->client_id);
	t->token_url = pstrdup(profile->token_url);
	t->scope = profile->scope ? pstrdup(profile->scope) : NULL;
	t->next = d8_tokens;
	d8_tokens = t;
	MemoryContextSwitchTo(old);
	return t;
}

static void
token_forget(D8Token *t)
{
	if (t->access_token)
	{
		explicit_bzero(t->access_token, strlen(t->access_token));
		pfree(t->access_token);
		t->access_token = NULL;
	}
}

static void
append_form(StringInfo buf, const char *name, const char *value)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, '&');
	appendStringInfoString(buf, name);
	appendStringInfoChar(buf, '=');
	d8_append_encoded(buf, value);
}

/* Reports a refused token request without any of the server's text. */
static void
token_refused(D8Profile *profile, D8Response *resp)
{
	const char *code = NULL;

	if (resp->body.len > 0 && resp->body.len < 4096)
	{
		D8Json	   *root = d8_json_try_parse(resp->body.data, resp->body.len);

		code = d8_json_string(d8_json_get(root, "error"));
		/* only OAuth error codes are shown: short, lower case, no secrets */
		if (code && strspn(code, "abcdefghijklmnopqrstuvwxyz_") != strlen(code))
			code = NULL;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("Data8 refused the client credentials of profile \"%s\"",
					profile->name),
			 errdetail("The token server answered HTTP %ld%s%s%s.", resp->status,
					   code ? " (" : "", code ? code : "", code ? ")" : ""),
			 errhint("Check client_id, client_secret and scope with data8.set_profile().")));
}

/* Fetches a new token for profile into t. */
static void
token_fetch(D8Profile *profile, D8Token *t)
{
	StringInfoData form;
	D8Request	req;
	D8Response	resp;
	D8Json	   *root;
	const char *access;
	int64		expires_in = 3600;
	int64		margin;
	MemoryContext old;

	initStringInfo(&form);
	append_form(&form, "grant_type", "client_credentials");
	append_form(&form, "client_id", profile->client_id);
	append_form(&form, "client_secret", profile->client_secret);
	if (profile->scope && profile->scope[0])
		append_form(&form, "scope", profile->scope);

	req.method = "POST";
	req.path = profile->token_url;
	req.object = "the token";
	req.body = &form;
	req.flags = D8_FORM | D8_ABSOLUTE_URL | D8_IDEMPOTENT;

	PG_TRY();
	{
		d8_transport_perform(profile->api_url, NULL, &req, &resp);
	}
	PG_FINALLY();
	{
		explicit_bzero(form.data, form.len);
	}
	PG_END_TRY();

	if (resp.status == 400 || resp.status == 401 || resp.status == 403)
		token_refused(profile, &resp);
	if (!d8_http_ok(&resp))
		d8_http_raise(&req, &resp);

	root = d8_json_parse(resp.body.data, resp.body.len, "the token request");
	access = d8_json_string(d8_json_get(root, "access_token"));
	if (access == NULL || access[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Data8 token answer has no access_token")));
	(void) d8_json_int(d8_json_get(root, "expires_in"), &expires_in);
	if (expires_in <= 0)
		expires_in = 60;

	token_forget(t);
	old = MemoryContextSwitchTo(TopMemoryContext);
	t->access_token = pstrdup(access);
	MemoryContextSwitchTo(old);
	explicit_bzero(resp.body.data, resp.body.len);

	/* refresh 30 s early, or at 4/5 of a short lifetime */
	margin = Min((int64) D8_TOKEN_MARGIN_MS, expires_in * 1000 / 5);
	t->refresh_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												expires_in * 1000 - margin);
	t->secret_hash = secret_hash(profile->client_secret);
	t->generation = ++d8_token_generation;
}

/*
 * Returns the "Authorization: Bearer ..." header line for profile, getting
 * a token when none is cached or it is about to expire.  *generation tells
 * d8_token_invalidate which token a 401 was for.
 */
char *
d8_token_header(D8Profile *profile, uint64 *generation)
{
	D8Token    *t = token_entry(profile);

	if (t->access_token == NULL || GetCurrentTimestamp() >= t->refresh_at ||
		t->secret_hash != secret_hash(profile->client_secret))
		token_fetch(profile, t);
	*generation = t->generation;
	return psprintf("Authorization: Bearer %s", t->access_token);
}

/* Forgets profile's token after a 401, unless a newer one replaced it. */
void
d8_token_invalidate(D8Profile *profile, uint64 generation)
{
	D8Token    *t = token_entry(profile);

	if (t->generation == generation)
		token_forget(t);
}

/* The transport's credentials hook: the header line (D8Auth.header). */
static char *
auth_header(void *arg, uint64 *generation)
{
	return d8_token_header((D8Profile *) arg, generation);
}

/* The transport's credentials hook: a 401 came (D8Auth.refused). */
static void
auth_refused(void *arg, uint64 generation)
{
	d8_token_invalidate((D8Profile *) arg, generation);
}

/* Ensures auth gives the transport profile's bearer token. */
void
d8_token_auth(D8Profile *profile, D8Auth *auth)
{
	auth->header = auth_header;
	auth->refused = auth_refused;
	auth->arg = profile;
}
