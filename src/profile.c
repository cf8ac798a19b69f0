/*
 * profile.c
 *	  Profiles: reading the active one from data8.profile (with its grant
 *	  checked and its secret read from a file when it names one), writing
 *	  one with data8.set_profile(), and the checks on its URLs.  The table
 *	  is readable by its owner only (it holds secrets), so it is read with
 *	  the owner's privileges, by d8_spi_as_owner, which the run machinery
 *	  also writes its tables with.
 */
#include "data8.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "profile.h"

/*
 * The extension owner: the owner of data8.profile, whose privileges read
 * it and write the run tables, and who uses every profile.
 */
Oid
d8_extension_owner(void)
{
	Oid			nsp = get_namespace_oid("data8", false);
	Oid			relid = get_relname_relid("profile", nsp);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table data8.profile does not exist"),
				 errhint("Is the data8 extension installed in this database?")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Runs sql (or plan) with the extension owner's rights: the profiles are
 * read, and the run tables written, by the extension only.  A restricted operation with
 * search_path pinned: nothing of the caller's (an operator in her schema,
 * a setting) can run with those rights.  Returns the SPI result code.
 */
int
d8_spi_as_owner(const char *sql, SPIPlanPtr plan, int nargs, Oid *argtypes,
				Datum *values, const char *nulls)
{
	Oid			saved_user;
	int			saved_sec;
	volatile int rc = 0;
	int			nest;

	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(d8_extension_owner(), saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nest = NewGUCNestLevel();
	PG_TRY();
	{
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (plan)
			rc = SPI_execute_plan(plan, values, nulls, false, 0);
		else
			rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
		AtEOXact_GUC(false, nest);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_sec);
	}
	PG_END_TRY();
	return rc;
}

static char *
spi_text(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static void
require_field(const char *value, const char *profile, const char *field)
{
	if (value == NULL || value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("data8 profile \"%s\" has no %s", profile, field),
				 errhint("Set it with data8.set_profile().")));
}

/*
 * The client secret kept in file path, read as the server: its first line,
 * without the line end.  Never shown: messages name the file only.
 */
static char *
secret_from_file(const char *path, const char *profile)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData buf;
	char		chunk[1024];
	size_t		n;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the client secret file of data8 profile \"%s\": %m",
						profile),
				 errhint("The file is read by the server, as the operating system user it runs as.")));
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && buf.len < 65536)
		appendBinaryStringInfo(&buf, chunk, n);
	explicit_bzero(chunk, sizeof(chunk));
	FreeFile(f);
	buf.len = strcspn(buf.data, "\r\n");
	buf.data[buf.len] = '\0';
	if (buf.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the client secret file of data8 profile \"%s\" is empty", profile)));
	return buf.data;
}

/*
 * Returns the profile named by data8.profile, read with the table owner's
 * privileges, if the current user may use it (the extension owner, or a
 * member of a role it was granted to); its URLs checked, its secret in
 * hand; in CurrentMemoryContext.
 */
D8Profile *
d8_profile_active(void)
{
	MemoryContext caller = CurrentMemoryContext;
	D8Profile  *profile = palloc0(sizeof(D8Profile));
	Oid			user = GetUserId();
	Oid			owner = d8_extension_owner();
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		args[2];
	bool		found = false;
	bool		granted = false;
	char	   *secret_file = NULL;

	if (d8_profile_name == NULL || d8_profile_name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("data8.profile is empty"),
				 errhint("SET data8.profile to the name of a row of data8.profiles.")));
	profile->name = pstrdup(d8_profile_name);
	args[0] = CStringGetTextDatum(profile->name);
	args[1] = ObjectIdGetDatum(user);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (d8_spi_as_owner("SELECT p.client_id, p.client_secret, p.api_url, p.token_url, p.scope,"
						" p.client_secret_file,"
						" EXISTS (SELECT 1 FROM data8.profile_grant g"
						"  WHERE g.profile OPERATOR(pg_catalog.=) p.name"
						"    AND pg_catalog.pg_has_role($2, g.grantee::pg_catalog.oid, 'USAGE'))"
						" FROM data8.profile p WHERE p.name OPERATOR(pg_catalog.=) $1",
						NULL, 2, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not read data8.profile");
	if (SPI_processed == 1)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);
		bool		isnull;

		found = true;
		profile->client_id = spi_text(1);
		profile->client_secret = spi_text(2);
		profile->api_url = spi_text(3);
		profile->token_url = spi_text(4);
		profile->scope = spi_text(5);
		secret_file = spi_text(6);
		granted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 7, &isnull));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("data8 profile \"%s\" does not exist", profile->name),
				 errhint("Create it with data8.set_profile('%s', client_id, client_secret), or SET data8.profile.",
						 profile->name)));
	if (!granted && !has_privs_of_role(user, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for data8 profile \"%s\"", profile->name),
				 errhint("The extension owner can grant it: SELECT data8.grant_profile('%s', '%s').",
						 profile->name, GetUserNameFromId(user, false))));
	if (secret_file != NULL)
		profile->client_secret = secret_from_file(secret_file, profile->name);
	require_field(profile->client_id, profile->name, "client_id");
	require_field(profile->client_secret, profile->name, "client_secret");
	require_field(profile->api_url, profile->name, "api_url");
	require_field(profile->token_url, profile->name, "token_url");
	d8_check_service_url(profile->api_url, "api_url");
	d8_check_service_url(profile->token_url, "token_url");
	/* no trailing slash: paths start with one */
	{
		size_t		n = strlen(profile->api_url);

		while (n > 0 && profile->api_url[n - 1] == '/')
			profile->api_url[--n] = '\0';
	}
	return profile;
}

static bool
host_is_loopback(const char *host, size_t len)
{
	if (len == 9 && pg_strncasecmp(host, "localhost", 9) == 0)
		return true;
	if (len == 5 && strncmp(host, "[::1]", 5) == 0)
		return true;
	if (len >= 7 && strncmp(host, "127.", 4) == 0)
	{
		size_t		i;

		for (i = 4; i < len; i++)
			if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
				return false;
		return true;
	}
	return false;
}

/*
 * Ensures a service URL is https, or http to a loopback address (the
 * simulator); no credentials, query or fragment in it.
 */
void
d8_check_service_url(const char *url, const char *field)
{
	const char *host;
	size_t		hostlen;
	bool		https = pg_strncasecmp(url, "https://", 8) == 0;
	bool		http = pg_strncasecmp(url, "http://", 7) == 0;

	if (!https && !http)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", field, url),
				 errdetail("A Data8 URL must start with https://.")));
	host = url + (https ? 8 : 7);
	hostlen = strcspn(host, "/?#");
	if (hostlen == 0 || memchr(host, '@', hostlen) != NULL ||
		strpbrk(url, "?# \t\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", field, url),
				 errdetail("A Data8 URL has a host and a path, and no user name, query or fragment.")));
	if (http)
	{
		/* host without port */
		size_t		n = hostlen;

		if (host[0] == '[')
			n = strcspn(host, "]") + 1;
		else
		{
			const char *colon = memchr(host, ':', hostlen);

			if (colon)
				n = colon - host;
		}
		if (!host_is_loopback(host, n))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", field, url),
					 errdetail("Plain http is allowed only to a loopback address (the simulator)."),
					 errhint("Use https:// for the Data8 service.")));
	}
}

PG_FUNCTION_INFO_V1(data8_check_service_url);

/* SQL: data8.check_service_url(url, field): the checks above, for set_profile. */
Datum
data8_check_service_url(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(1));

	d8_check_service_url(url, field);
	PG_RETURN_TEXT_P(PG_GETARG_TEXT_PP(0));
}

PG_FUNCTION_INFO_V1(data8_set_profile);

/*
 * Set while a transaction has called set_profile: its statements hold a
 * secret, so no error of theirs is logged with the statement text (even
 * one raised after set_profile returned, later in the same statement).
 */
static bool d8_secret_in_transaction = false;
static emit_log_hook_type prev_emit_log_hook = NULL;

/* emit_log_hook: keeps the statement of a transaction holding a secret out of the log. */
static void
hide_secret_statement(ErrorData *edata)
{
	if (d8_secret_in_transaction)
		edata->hide_stmt = true;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* At the end of a transaction its statements no longer hold a secret. */
static void
forget_secret_statement(XactEvent event, void *arg)
{
	d8_secret_in_transaction = false;
}

/* Installs the log hook and the transaction callback (from _PG_init). */
void
d8_profile_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = hide_secret_statement;
	RegisterXactCallback(forget_secret_statement, NULL);
}

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* Checks set_profile's arguments and writes the row. */
static void
set_profile(FunctionCallInfo fcinfo)
{
	char	   *name = text_arg(fcinfo, 0);
	char	   *client_id = text_arg(fcinfo, 1);
	char	   *secret = text_arg(fcinfo, 2);
	char	   *api_url = text_arg(fcinfo, 3);
	char	   *token_url = text_arg(fcinfo, 4);
	char	   *secret_file = text_arg(fcinfo, 6);
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[7];
	char		nulls[7];
	int			i;

	if (name == NULL || client_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name and client_id must not be NULL")));
	if ((secret == NULL) == (secret_file == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("give either client_secret or client_secret_file"),
				 errhint("client_secret_file => '/path' names a file the server reads the secret from.")));
	if (api_url)
		d8_check_service_url(api_url, "api_url");
	if (token_url)
		d8_check_service_url(token_url, "token_url");
	if (secret_file)
	{
		char	   *s;

		if (!is_absolute_path(secret_file))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("client_secret_file must be an absolute path")));
		/* fail now rather than at the first request; the secret is not kept */
		s = secret_from_file(secret_file, name);

		explicit_bzero(s, strlen(s));
		pfree(s);
	}
	for (i = 0; i < 7; i++)
	{
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO data8.profile AS p"
							  " (name, client_id, client_secret, api_url, token_url, scope, client_secret_file)"
							  " VALUES ($1, $2, $3,"
							  "  coalesce($4, 'https://api.data-8.co.uk'),"
							  "  coalesce($5, 'https://auth.data-8.co.uk/connect/token'),"
							  "  coalesce($6, 'BatchApi'), $7)"
							  " ON CONFLICT ON CONSTRAINT profile_pkey DO UPDATE"
							  " SET client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret,"
							  "  client_secret_file = EXCLUDED.client_secret_file,"
							  "  api_url = coalesce($4, p.api_url), token_url = coalesce($5, p.token_url),"
							  "  scope = coalesce($6, p.scope)",
							  7, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write data8.profile");
	SPI_finish();
	if (secret)
		explicit_bzero(secret, strlen(secret));
}

/*
 * SQL: data8.set_profile(name, client_id, client_secret, api_url, token_url,
 * scope, client_secret_file).  Whatever fails, the error is raised with
 * errhidestmt: the statement, which holds the secret, never reaches the
 * server log.
 */
Datum
data8_set_profile(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;

	d8_secret_in_transaction = true;
	PG_TRY();
	{
		set_profile(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		/* a constraint's DETAIL would show the row, secret included */
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
			edata->detail = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
