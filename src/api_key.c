/*
 * api_key.c
 *	  SQL functions for the ApiKey routes: list, get, create, update and
 *	  delete keys, and the allowed domains, IP networks and services of a key.
 */
#include "data8.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "body.h"
#include "json.h"
#include "request.h"
#include "result.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(data8_api_keys);
PG_FUNCTION_INFO_V1(data8_api_key);
PG_FUNCTION_INFO_V1(data8_create_api_key);
PG_FUNCTION_INFO_V1(data8_update_api_key);
PG_FUNCTION_INFO_V1(data8_delete_api_key);
PG_FUNCTION_INFO_V1(data8_api_key_allowed_domains);
PG_FUNCTION_INFO_V1(data8_add_api_key_allowed_domain);
PG_FUNCTION_INFO_V1(data8_remove_api_key_allowed_domain);
PG_FUNCTION_INFO_V1(data8_api_key_allowed_ips);
PG_FUNCTION_INFO_V1(data8_add_api_key_allowed_ip);
PG_FUNCTION_INFO_V1(data8_remove_api_key_allowed_ip);
PG_FUNCTION_INFO_V1(data8_api_key_allowed_services);
PG_FUNCTION_INFO_V1(data8_add_api_key_allowed_service);
PG_FUNCTION_INFO_V1(data8_remove_api_key_allowed_service);

#define D8_MAX_DOMAIN_LEN	253
#define D8_MAX_LABEL_LEN	63

/* data8.api_key columns that differ from the JSON member names */
static const D8Field api_key_fields[] = {
	{"expires_on", "expiresOn"},
	{"max_requests_per_ip_per_day", "maxRequestsPerIPPerDay"},
	{"is_client_key", "isClientKey"},
	{"allowed_domains", "allowedDomains"},
	{"allowed_ips", "allowedIPs"},
	{"allowed_services", "allowedServices"},
};

/* The three lists of restrictions of a key, as the routes name them. */
typedef enum KeyList
{
	LIST_DOMAINS,
	LIST_IPS,
	LIST_SERVICES
} KeyList;

static const char *const list_route[] = {"allowedDomains", "allowedIPs", "allowedServices"};

static char *
key_object(const char *key)
{
	return psprintf("API key \"%s\"", key);
}

/*
 * Ensures key can name an API key: not empty, only A-Z a-z 0-9 _ -.  The
 * longest key the service accepts is its own rule and is left to it.
 */
static void
check_key(const char *key)
{
	const char *p;

	if (key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Data8 API key must not be empty")));
	for (p = key; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Data8 API key \"%s\"", key),
					 errdetail("An API key contains only the letters A-Z and a-z, digits, \"_\" and \"-\".")));
}

/* The key argument argno: not NULL, valid. */
static char *
key_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *key;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key must not be NULL")));
	key = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	check_key(key);
	return key;
}

/*
 * Returns domain in lower case once it is a host name (labels of 1 to 63
 * letters, digits and inner hyphens, 253 characters at most), optionally
 * starting with "*." for all its subdomains.
 */
static char *
check_domain(const char *domain)
{
	char	   *lower = pstrdup(domain);
	char	   *p = lower;
	int			label = 0;
	bool		ok = true;
	char	   *q;

	for (q = lower; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q += 'a' - 'A';
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || strlen(p) > D8_MAX_DOMAIN_LEN)
		ok = false;
	for (q = p; ok; q++)
	{
		if (*q == '.' || *q == '\0')
		{
			/* end of a label: not empty, no hyphen at either end */
			if (label == 0 || label > D8_MAX_LABEL_LEN || q[-1] == '-' || q[-label] == '-')
				ok = false;
			label = 0;
			if (*q == '\0')
				break;
		}
		else if ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')
			label++;
		else
			ok = false;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid domain name \"%s\"", domain),
				 errdetail("A domain is a host name of dot-separated labels of 1 to 63 letters, digits and inner hyphens, at most 253 characters, optionally starting with \"*.\"."),
				 errhint("Give the host name only, without scheme, port or path, e.g. \"www.example.com\" or \"*.example.com\".")));
	return lower;
}

/* Ensures service is a service name: letters, digits, "_", "." and "-". */
static void
check_service(const char *service)
{
	const char *p;

	if (service[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Data8 service name must not be empty")));
	for (p = service; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Data8 service name \"%s\"", service),
					 errdetail("A service name contains only the letters A-Z and a-z, digits, \"_\", \".\" and \"-\"."),
					 errhint("Use the name of a Data8 service, e.g. \"AddressCapture\".")));
}

/*
 * Ensures body holds the key object of a POST or PUT from arguments 1 to 5
 * (description, username, expires_on, max_requests_per_ip_per_day,
 * is_client_key), key (may be NULL) first.  A NULL argument is left out,
 * or, given current (the key as read, for a PUT), keeps its current value.
 * Returns the number of non-NULL arguments.
 */
static int
key_body(FunctionCallInfo fcinfo, StringInfo body, const char *key, D8Json *current)
{
	static const char *const members[] = {
		NULL, "description", "username", "expiresOn", "maxRequestsPerIPPerDay", "isClientKey"
	};
	int			n = 0;
	int			argno;

	appendStringInfoChar(body, '{');
	if (key)
	{
		d8_json_append_member(body, "key");
		d8_json_append_cstring(body, key);
	}
	n += d8_body_text_arg(fcinfo, body, 1, "description", current);
	n += d8_body_text_arg(fcinfo, body, 2, "username", current);
	for (argno = 3; argno < lengthof(members); argno++)
	{
		if (PG_ARGISNULL(argno))
		{
			if (current)
				d8_json_append_kept(body, current, members[argno]);
			continue;
		}
		n++;
		d8_json_append_member(body, members[argno]);
		switch (argno)
		{
			case 3:
				d8_json_append_timestamp(body, PG_GETARG_TIMESTAMPTZ(argno));
				break;
			case 4:
				if (PG_GETARG_INT32(argno) < 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("max_requests_per_ip_per_day must not be negative")));
				appendStringInfo(body, "%d", PG_GETARG_INT32(argno));
				break;
			case 5:
				appendStringInfoString(body, PG_GETARG_BOOL(argno) ? "true" : "false");
				break;
		}
	}
	appendStringInfoChar(body, '}');
	return n;
}

/* Ensures body is the whole key for update_api_key's PUT (D8UpdateBody). */
static int
key_update_body(void *arg, StringInfo body, D8Json *current)
{
	FunctionCallInfo fcinfo = (FunctionCallInfo) arg;

	return key_body(fcinfo, body, text_to_cstring(PG_GETARG_TEXT_PP(0)), current);
}

/*
 * The cidr of an allowedIPs entry: the entry itself when it is valid cidr,
 * else (host bits set, as in "10.1.2.3/16") the network of the inet value
 * it is, so that one such entry never fails the whole list.
 */
static Datum
ip_entry(const char *entry, const char *what)
{
	if (entry == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer to %s", what),
				 errdetail("Expected a JSON array of strings.")));
	return DirectFunctionCall1(network_network,
							   DirectFunctionCall1(inet_in, CStringGetDatum(entry)));
}

/*
 * The C strings of a data8.api_key row from a key object (D8RowStrings):
 * allowed_ips holds the cidr of each entry (see ip_entry).
 */
static char **
key_cstrings(D8Json *obj, TupleDesc tupdesc)
{
	char	  **values = d8_json_row_cstrings(obj, tupdesc, api_key_fields,
											  lengthof(api_key_fields));
	D8Json	   *ips = d8_json_get(obj, "allowedIPs");
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		StringInfoData literal;
		size_t		k;

		if (TupleDescAttr(tupdesc, i)->attisdropped ||
			strcmp(NameStr(TupleDescAttr(tupdesc, i)->attname), "allowed_ips") != 0 ||
			!d8_json_is_array(ips))
			continue;
		initStringInfo(&literal);
		appendStringInfoChar(&literal, '{');
		for (k = 0; k < d8_json_size(ips); k++)
			appendStringInfo(&literal, "%s%s", k ? "," : "",
							 DatumGetCString(DirectFunctionCall1(cidr_out,
																 ip_entry(d8_json_string(d8_json_at(ips, k)),
																		  "an API key"))));
		appendStringInfoChar(&literal, '}');
		values[i] = literal.data;
	}
	return values;
}

/* One data8.api_key value from a key object. */
static Datum
key_row(FunctionCallInfo fcinfo, D8Json *obj)
{
	TupleDesc	tupdesc = d8_result_tupdesc(fcinfo);

	if (!d8_json_is_object(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected Data8 answer for an API key"),
				 errdetail("Expected a JSON object.")));
	return HeapTupleGetDatum(BuildTupleFromCStrings(TupleDescGetAttInMetadata(tupdesc),
													key_cstrings(obj, tupdesc)));
}

/* api_keys(): GET /ApiKey, one row per key of the account. */
Datum
data8_api_keys(PG_FUNCTION_ARGS)
{
	D8ResultSet *rs = d8_result_set_begin(fcinfo);
	D8Json	   *root = d8_api("GET", "/ApiKey", "the API key list", NULL, 0);

	rs->row_strings = key_cstrings;
	d8_result_set_add_list(rs, d8_json_list(root, "items", "GET /ApiKey"), NULL, 0);
	PG_RETURN_NULL();
}

/* api_key(key): GET /ApiKey/{key}. */
Datum
data8_api_key(PG_FUNCTION_ARGS)
{
	char	   *key = key_arg(fcinfo, 0);

	return key_row(fcinfo, d8_api("GET", d8_url_path(2, "ApiKey", key), key_object(key), NULL, 0));
}

/*
 * create_api_key(key, description, username, expires_on,
 * max_requests_per_ip_per_day, is_client_key): POST /ApiKey.  A key the
 * caller chose is created with a recheck (a retry that meets 409 after an
 * attempt of unknown outcome reads the key back); a generated one is sent
 * once, as a retry could create a second key.
 */
Datum
data8_create_api_key(PG_FUNCTION_ARGS)
{
	char	   *key = NULL;
	StringInfoData body;
	D8Json	   *obj;

	if (!PG_ARGISNULL(0))
		key = key_arg(fcinfo, 0);
	initStringInfo(&body);
	key_body(fcinfo, &body, key, NULL);

	if (key)
	{
		obj = d8_api_create("/ApiKey", key_object(key), &body,
							d8_url_path(2, "ApiKey", key));
		if (obj == NULL)
			obj = d8_api("GET", d8_url_path(2, "ApiKey", key), key_object(key), NULL, 0);
	}
	else
	{
		obj = d8_api("POST", "/ApiKey", "a new API key", &body, 0);
		if (obj == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Data8 created an API key but did not return it"),
					 errhint("Find the new key with data8.api_keys().")));
	}
	return key_row(fcinfo, obj);
}

/*
 * update_api_key(key, description, username, expires_on,
 * max_requests_per_ip_per_day, is_client_key): reads the key, PUTs the
 * whole key with the non-NULL fields changed (nothing is sent when all are
 * NULL), then returns the key as it now is.
 */
Datum
data8_update_api_key(PG_FUNCTION_ARGS)
{
	char	   *key = key_arg(fcinfo, 0);
	StringInfoData checked;
	D8Json	   *obj;

	/* the arguments are checked before anything is sent */
	initStringInfo(&checked);
	key_body(fcinfo, &checked, NULL, NULL);
	obj = d8_api_update(d8_url_path(2, "ApiKey", key), key_object(key),
						key_update_body, fcinfo);
	return key_row(fcinfo, obj);
}

/* delete_api_key(key): DELETE /ApiKey/{key}. */
Datum
data8_delete_api_key(PG_FUNCTION_ARGS)
{
	char	   *key = key_arg(fcinfo, 0);

	d8_api("DELETE", d8_url_path(2, "ApiKey", key), key_object(key), NULL, 0);
	PG_RETURN_VOID();
}

/*
 * GET /ApiKey/{key}/<list>: one row per string of the list, converted with
 * the input function of the result column (text), or for IP networks to the
 * cidr of each entry (see ip_entry).
 */
static Datum
list_rows(FunctionCallInfo fcinfo, KeyList list)
{
	char	   *key = key_arg(fcinfo, 0);
	D8ResultSet *rs = d8_result_set_begin(fcinfo);
	char	   *path = psprintf("%s/%s", d8_url_path(2, "ApiKey", key), list_route[list]);
	D8Json	   *root = d8_api("GET", path, key_object(key), NULL, 0);
	D8Json	   *items = d8_json_list(root, "items", path);
	Oid			typinput;
	Oid			typioparam;
	FmgrInfo	flinfo;
	size_t		i;

	getTypeInputInfo(TupleDescAttr(rs->tupdesc, 0)->atttypid, &typinput, &typioparam);
	fmgr_info(typinput, &flinfo);
	for (i = 0; i < d8_json_size(items); i++)
	{
		const char *s = d8_json_string(d8_json_at(items, i));
		Datum		value;
		bool		isnull = false;

		if (list == LIST_IPS)
		{
			value = ip_entry(s, psprintf("GET %s", path));
			tuplestore_putvalues(rs->store, rs->tupdesc, &value, &isnull);
			continue;
		}
		if (s == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("unexpected Data8 answer to GET %s", path),
					 errdetail("Expected a JSON array of strings.")));
		value = InputFunctionCall(&flinfo, (char *) s, typioparam, -1);
		tuplestore_putvalues(rs->store, rs->tupdesc, &value, &isnull);
	}
	PG_RETURN_NULL();
}

/*
 * The object a list change names in messages: a PUT (add) can only miss
 * the key; a DELETE (remove) misses the entry or the key.
 */
static char *
change_object(const char *method, const char *key, const char *what)
{
	if (strcmp(method, "PUT") == 0)
		return key_object(key);
	return psprintf("%s of API key \"%s\"", what, key);
}

/*
 * PUT (add) or DELETE (remove) /ApiKey/{key}/<list>/{item} for a domain or
 * a service list, the item from argument 1, checked (a domain also
 * lower-cased) first.
 */
static void
item_change(FunctionCallInfo fcinfo, const char *method, KeyList list)
{
	char	   *key = key_arg(fcinfo, 0);
	char	   *item = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *what;
	char	   *path;

	Assert(list == LIST_DOMAINS || list == LIST_SERVICES);
	if (list == LIST_DOMAINS)
	{
		item = check_domain(item);
		what = psprintf("allowed domain \"%s\"", item);
	}
	else
	{
		check_service(item);
		what = psprintf("allowed service \"%s\"", item);
	}
	path = psprintf("%s/%s%s", d8_url_path(2, "ApiKey", key),
					list_route[list], d8_url_path(1, item));
	d8_api(method, path, change_object(method, key, what), NULL, 0);
}

/* api_key_allowed_domains(key): GET /ApiKey/{key}/allowedDomains. */
Datum
data8_api_key_allowed_domains(PG_FUNCTION_ARGS)
{
	return list_rows(fcinfo, LIST_DOMAINS);
}

/* add_api_key_allowed_domain(key, domain): PUT .../allowedDomains/{domain}. */
Datum
data8_add_api_key_allowed_domain(PG_FUNCTION_ARGS)
{
	item_change(fcinfo, "PUT", LIST_DOMAINS);
	PG_RETURN_VOID();
}

/* remove_api_key_allowed_domain(key, domain): DELETE .../allowedDomains/{domain}. */
Datum
data8_remove_api_key_allowed_domain(PG_FUNCTION_ARGS)
{
	item_change(fcinfo, "DELETE", LIST_DOMAINS);
	PG_RETURN_VOID();
}

/* api_key_allowed_ips(key): GET /ApiKey/{key}/allowedIPs, as cidr. */
Datum
data8_api_key_allowed_ips(PG_FUNCTION_ARGS)
{
	return list_rows(fcinfo, LIST_IPS);
}

/*
 * DELETE /ApiKey/{key}/allowedIPs/{network}/{prefix}, the network address
 * and prefix length taken from a cidr (which has no host bits).
 */
static void
ip_change(FunctionCallInfo fcinfo, const char *method)
{
	char	   *key = key_arg(fcinfo, 0);
	inet	   *net = PG_GETARG_INET_PP(1);
	char	   *address = text_to_cstring(DatumGetTextPP(DirectFunctionCall1(network_host,
																			 InetPGetDatum(net))));
	char	   *prefix = psprintf("%d", (int) ip_bits(net));
	char	   *path;

	path = psprintf("%s/%s%s", d8_url_path(2, "ApiKey", key),
					list_route[LIST_IPS], d8_url_path(2, address, prefix));
	d8_api(method, path,
		   change_object(method, key, psprintf("allowed IP network %s/%s", address, prefix)),
		   NULL, 0);
}

/*
 * add_api_key_allowed_ip(key, network): POST .../allowedIPs with the
 * network as a CIDR string, the reference's body form: no address goes in
 * the path (an IPv6 address would put colons there).  Adding a listed
 * network is no error, so the request is retried like a PUT.
 */
Datum
data8_add_api_key_allowed_ip(PG_FUNCTION_ARGS)
{
	char	   *key = key_arg(fcinfo, 0);
	char	   *network = DatumGetCString(DirectFunctionCall1(cidr_out,
															  InetPGetDatum(PG_GETARG_INET_PP(1))));
	StringInfoData body;

	initStringInfo(&body);
	d8_json_append_cstring(&body, network);
	d8_api("POST", psprintf("%s/%s", d8_url_path(2, "ApiKey", key), list_route[LIST_IPS]),
		   key_object(key), &body, D8_IDEMPOTENT);
	PG_RETURN_VOID();
}

/* remove_api_key_allowed_ip(key, network): DELETE .../allowedIPs/{network}/{prefix}. */
Datum
data8_remove_api_key_allowed_ip(PG_FUNCTION_ARGS)
{
	ip_change(fcinfo, "DELETE");
	PG_RETURN_VOID();
}

/* api_key_allowed_services(key): GET /ApiKey/{key}/allowedServices. */
Datum
data8_api_key_allowed_services(PG_FUNCTION_ARGS)
{
	return list_rows(fcinfo, LIST_SERVICES);
}

/* add_api_key_allowed_service(key, service): PUT .../allowedServices/{service}. */
Datum
data8_add_api_key_allowed_service(PG_FUNCTION_ARGS)
{
	item_change(fcinfo, "PUT", LIST_SERVICES);
	PG_RETURN_VOID();
}

/* remove_api_key_allowed_service(key, service): DELETE .../allowedServices/{service}. */
Datum
data8_remove_api_key_allowed_service(PG_FUNCTION_ARGS)
{
	item_change(fcinfo, "DELETE", LIST_SERVICES);
	PG_RETURN_VOID();
}
