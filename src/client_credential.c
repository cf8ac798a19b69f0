/*
 * client_credential.c
 *	  SQL functions for the ClientCredential routes: client credentials and
 *	  their client secrets.  A generated secret is returned once, as the
 *	  result of create_client_secret(), and goes nowhere else.
 */
#include "data8.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "body.h"
#include "json.h"
#include "request.h"
#include "result.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(data8_client_credentials);
PG_FUNCTION_INFO_V1(data8_client_credential);
PG_FUNCTION_INFO_V1(data8_create_client_credential);
PG_FUNCTION_INFO_V1(data8_update_client_credential);
PG_FUNCTION_INFO_V1(data8_delete_client_credential);
PG_FUNCTION_INFO_V1(data8_client_secrets);
PG_FUNCTION_INFO_V1(data8_client_secret);
PG_FUNCTION_INFO_V1(data8_create_client_secret);
PG_FUNCTION_INFO_V1(data8_update_client_secret);
PG_FUNCTION_INFO_V1(data8_delete_client_secret);

/* data8.client_credential columns that differ from the JSON member names */
static const D8Field credential_fields[] = {
	{"client_id", "clientId"},
};

/* data8.client_secret and data8.new_client_secret columns */
static const D8Field secret_fields[] = {
	{"client_secret_id", "clientSecretId"},
	{"generated_secret", "generatedSecret"},
};

static char *
credential_object(const char *client_id)
{
	return psprintf("client credential \"%s\"", client_id);
}

static char *
secret_object(const char *client_id, int32 secret_id)
{
	return psprintf("client secret %d of client credential \"%s\"", secret_id, client_id);
}

/* The client_id argument argno: not NULL, not empty, printable. */
static char *
client_id_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *id;
	const unsigned char *p;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("client_id must not be NULL")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("client_id must not be empty")));
	for (p = (const unsigned char *) id; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Data8 client_id"),
					 errdetail("A client_id contains no spaces or control characters."),
					 errhint("Copy the client_id from data8.client_credentials().")));
	return id;
}

/* The secret_id argument argno: not NULL, not negative. */
static int32
secret_id_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		id;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("secret_id must not be NULL")));
	id = PG_GETARG_INT32(argno);
	if (id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret_id must not be negative"),
				 errhint("Find the ids with data8.client_secrets(client_id).")));
	return id;
}

static char *
secret_path(const char *client_id, int32 secret_id)
{
	return d8_url_path(4, "ClientCredential", client_id, "secrets",
					   psprintf("%d", secret_id));
}

/*
 * A data8.client_secret[] built from a JSON array of secret objects: each
 * element a composite value of the array's element type.
 */
static Datum
secret_array(D8Json *list, Oid arraytype)
{
	Oid			elemtype = get_element_type(arraytype);
	TupleDesc	tupdesc;
	AttInMetadata *attinmeta;
	size_t		n = d8_json_size(list);
	Datum	   *elems;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	size_t		i;

	if (!OidIsValid(elemtype))
		elog(ERROR, "type %u is not an array type", arraytype);
	tupdesc = lookup_rowtype_tupdesc_copy(elemtype, -1);
	tupdesc = BlessTupleDesc(tupdesc);
	attinmeta = TupleDescGetAttInMetadata(tupdesc);
	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		D8Json	   *obj = d8_json_at(list, i);
		char	  **values;

		if (!d8_json_is_object(obj))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("unexpected client secret in a Data8 answer"),
					 errdetail("Expected a JSON object.")));
		values = d8_json_row_cstrings(obj, tupdesc, secret_fields, lengthof(secret_fields));
		elems[i] = HeapTupleGetDatum(BuildTupleFromCStrings(attinmeta, values));
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_array(elems, (int) n, elemtype,
										   typlen, typbyval, typalign));
}

/*
 * A data8.client_credential tuple from a credential object: the scalar
 * columns from their members, secrets as data8.client_secret[] (NULL when
 * the answer has no list, as in GET /ClientCredential).
 */
static HeapTuple
credential_tuple(D8Json *obj, TupleDesc tupdesc, AttInMetadata *attinmeta)
{
	char	  **cstrings;
	HeapTuple	tuple;
	Datum	   *values;
	bool	   *nulls;
	int			i;

	if (!d8_json_is_object(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected client credential in a Data8 answer"),
				 errdetail("Expected a JSON object.")));
	cstrings = d8_json_row_cstrings(obj, tupdesc, credential_fields,
									lengthof(credential_fields));
	/* secrets are built apart below, as data8.client_secret[] */
	for (i = 0; i < tupdesc->natts; i++)
		if (strcmp(NameStr(TupleDescAttr(tupdesc, i)->attname), "secrets") == 0)
			cstrings[i] = NULL;
	tuple = BuildTupleFromCStrings(attinmeta, cstrings);

	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	heap_deform_tuple(tuple, tupdesc, values, nulls);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		D8Json	   *secrets;

		if (att->attisdropped || strcmp(NameStr(att->attname), "secrets") != 0)
			continue;
		secrets = d8_json_get(obj, "secrets");
		if (d8_json_is_array(secrets))
		{
			values[i] = secret_array(secrets, att->atttypid);
			nulls[i] = false;
		}
	}
	return heap_form_tuple(tupdesc, values, nulls);
}

/* One data8.client_credential result. */
static Datum
credential_row(FunctionCallInfo fcinfo, D8Json *obj)
{
	TupleDesc	tupdesc = d8_result_tupdesc(fcinfo);

	return HeapTupleGetDatum(credential_tuple(obj, tupdesc,
											  TupleDescGetAttInMetadata(tupdesc)));
}

/*
 * Ensures body is a secret's POST or PUT body {"clientSecretId",
 * "description", "expires"} from arguments descr_arg and expires_arg: a
 * NULL one left out, or with current (the secret as read, for a PUT) kept,
 * as is clientSecretId.  The service decides whether an expiry is in the
 * future (its clock counts).  Returns the number of non-NULL arguments.
 */
static int
secret_body(FunctionCallInfo fcinfo, StringInfo body, int descr_arg, int expires_arg,
			D8Json *current)
{
	int			n;

	appendStringInfoChar(body, '{');
	if (current)
		d8_json_append_kept(body, current, "clientSecretId");
	n = d8_body_text_arg(fcinfo, body, descr_arg, "description", current);
	if (!PG_ARGISNULL(expires_arg))
	{
		d8_json_append_member(body, "expires");
		d8_json_append_timestamp(body, PG_GETARG_TIMESTAMPTZ(expires_arg));
		n++;
	}
	else if (current)
		d8_json_append_kept(body, current, "expires");
	appendStringInfoChar(body, '}');
	return n;
}

/* Ensures body is the whole secret for update_client_secret's PUT (D8UpdateBody). */
static int
secret_update_body(void *arg, StringInfo body, D8Json *current)
{
	return secret_body((FunctionCallInfo) arg, body, 2, 3, current);
}

/*
 * Ensures body is the whole credential for update_client_credential's PUT
 * (D8UpdateBody): clientId and description; its secrets have routes of
 * their own and are not sent.
 */
static int
credential_update_body(void *arg, StringInfo body, D8Json *current)
{
	int			n;

	appendStringInfoChar(body, '{');
	d8_json_append_kept(body, current, "clientId");
	n = d8_body_text_arg((FunctionCallInfo) arg, body, 1, "description", current);
	appendStringInfoChar(body, '}');
	return n;
}

/* client_credentials(): GET /ClientCredential (secrets NULL in the list). */
Datum
data8_client_credentials(PG_FUNCTION_ARGS)
{
	D8ResultSet *rs = d8_result_set_begin(fcinfo);
	D8Json	   *root = d8_api("GET", "/ClientCredential", "the client credential list", NULL, 0);
	D8Json	   *list = d8_json_list(root, "items", "GET /ClientCredential");
	size_t		i;

	for (i = 0; i < d8_json_size(list); i++)
	{
		HeapTuple	tuple = credential_tuple(d8_json_at(list, i), rs->tupdesc, rs->attinmeta);

		tuplestore_puttuple(rs->store, tuple);
		heap_freetuple(tuple);
		rs->rows++;
	}
	PG_RETURN_NULL();
}

/* client_credential(client_id): GET /ClientCredential/{id}, with its secrets. */
Datum
data8_client_credential(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	D8Json	   *obj;

	obj = d8_api("GET", d8_url_path(2, "ClientCredential", id), credential_object(id), NULL, 0);
	return credential_row(fcinfo, obj);
}

/*
 * create_client_credential(description): POST /ClientCredential.  The
 * service generates the client_id, so the POST is never resent when its
 * outcome is unknown (that could create two credentials).
 */
Datum
data8_create_client_credential(PG_FUNCTION_ARGS)
{
	StringInfoData body;
	D8Json	   *obj;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	d8_body_text_arg(fcinfo, &body, 0, "description", NULL);
	appendStringInfoChar(&body, '}');
	obj = d8_api("POST", "/ClientCredential", "a new client credential", &body, 0);
	if (obj == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("Data8 created a client credential but did not return it"),
				 errhint("Find the new credential with data8.client_credentials().")));
	return credential_row(fcinfo, obj);
}

/*
 * update_client_credential(client_id, description): reads the credential,
 * PUTs it whole with the description changed (nothing is sent for a NULL
 * description), then returns the credential as it now is.
 */
Datum
data8_update_client_credential(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	D8Json	   *obj;

	obj = d8_api_update(d8_url_path(2, "ClientCredential", id), credential_object(id),
						credential_update_body, fcinfo);
	return credential_row(fcinfo, obj);
}

/* delete_client_credential(client_id): DELETE /ClientCredential/{id}. */
Datum
data8_delete_client_credential(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);

	d8_api("DELETE", d8_url_path(2, "ClientCredential", id), credential_object(id), NULL, 0);
	PG_RETURN_VOID();
}

/* client_secrets(client_id): GET /ClientCredential/{id}/secrets. */
Datum
data8_client_secrets(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	D8ResultSet *rs = d8_result_set_begin(fcinfo);
	char	   *path = d8_url_path(3, "ClientCredential", id, "secrets");
	D8Json	   *root = d8_api("GET", path, credential_object(id), NULL, 0);

	d8_result_set_add_list(rs, d8_json_list(root, "items", path),
						   secret_fields, lengthof(secret_fields));
	PG_RETURN_NULL();
}

/* client_secret(client_id, secret_id): GET .../secrets/{secretId}. */
Datum
data8_client_secret(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	int32		secret_id = secret_id_arg(fcinfo, 1);
	D8Json	   *obj;

	obj = d8_api("GET", secret_path(id, secret_id), secret_object(id, secret_id), NULL, 0);
	return d8_result_row(fcinfo, obj, secret_fields, lengthof(secret_fields));
}

/*
 * create_client_secret(client_id, description, expires): POST
 * .../secrets; returns the generated secret, this once.  The answer is
 * parsed here, not by the engine, so that no parse error can quote it, and
 * its buffer is wiped.  Never resent when the outcome is unknown.
 */
Datum
data8_create_client_secret(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	char	   *path = d8_url_path(3, "ClientCredential", id, "secrets");
	StringInfoData body;
	D8Request	req;
	D8Response	resp;
	D8Json	   *obj;
	Datum		result;

	initStringInfo(&body);
	secret_body(fcinfo, &body, 1, 2, NULL);

	req.method = "POST";
	req.path = path;
	req.object = credential_object(id);
	req.body = &body;
	req.flags = 0;
	d8_http_perform(d8_profile_active(), &req, &resp);
	d8_http_check(&req, &resp);

	obj = d8_json_try_parse(resp.body.data, resp.body.len);
	explicit_bzero(resp.body.data, resp.body.len);
	if (!d8_json_is_object(obj) ||
		d8_json_string(d8_json_get(obj, "generatedSecret")) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("unexpected Data8 answer to the creation of a client secret"),
				 errdetail("Expected a JSON object with a generatedSecret; the answer is not shown as it may hold a secret."),
				 errhint("A secret may have been created: check data8.client_secrets('%s') and delete one you cannot use.", id)));
	result = d8_result_row(fcinfo, obj, secret_fields, lengthof(secret_fields));
	return result;
}

/*
 * update_client_secret(client_id, secret_id, description, expires): reads
 * the secret, PUTs it whole with the non-NULL fields changed (nothing is
 * sent when both are NULL), then returns the secret as it now is.
 */
Datum
data8_update_client_secret(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	int32		secret_id = secret_id_arg(fcinfo, 1);
	StringInfoData checked;
	D8Json	   *obj;

	/* the arguments are checked before anything is sent */
	initStringInfo(&checked);
	secret_body(fcinfo, &checked, 2, 3, NULL);
	obj = d8_api_update(secret_path(id, secret_id), secret_object(id, secret_id),
						secret_update_body, fcinfo);
	return d8_result_row(fcinfo, obj, secret_fields, lengthof(secret_fields));
}

/* delete_client_secret(client_id, secret_id): DELETE .../secrets/{secretId}. */
Datum
data8_delete_client_secret(PG_FUNCTION_ARGS)
{
	char	   *id = client_id_arg(fcinfo, 0);
	int32		secret_id = secret_id_arg(fcinfo, 1);

	d8_api("DELETE", secret_path(id, secret_id), secret_object(id, secret_id), NULL, 0);
	PG_RETURN_VOID();
}
