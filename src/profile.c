/*
 * profile.c
 *	  Reading the active profile from data8.profile, and the checks on its
 *	  URLs.  The table is readable by its owner only (it holds secrets), so
 *	  it is read with the owner's privileges.
 */
#include "data8.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "profile.h"

/* Owner of data8.profile: the role whose privileges read it. */
static Oid
profile_table_owner(void)
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
 * Returns the profile named by data8.profile, read with the table owner's
 * privileges, its URLs checked, in CurrentMemoryContext.
 */
D8Profile *
d8_profile_active(void)
{
	MemoryContext caller = CurrentMemoryContext;
	D8Profile  *profile = palloc0(sizeof(D8Profile));
	Oid			saved_user;
	int			saved_sec;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	volatile bool found = false;

	if (d8_profile_name == NULL || d8_profile_name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("data8.profile is empty"),
				 errhint("SET data8.profile to the name of a row of data8.profiles.")));
	profile->name = pstrdup(d8_profile_name);
	args[0] = CStringGetTextDatum(profile->name);

	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(profile_table_owner(),
						   saved_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT client_id, client_secret, api_url, token_url, scope"
								  " FROM data8.profile WHERE name OPERATOR(pg_catalog.=) $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read data8.profile");
		if (SPI_processed == 1)
		{
			MemoryContext spi = MemoryContextSwitchTo(caller);

			found = true;
			profile->client_id = spi_text(1);
			profile->client_secret = spi_text(2);
			profile->api_url = spi_text(3);
			profile->token_url = spi_text(4);
			profile->scope = spi_text(5);
			MemoryContextSwitchTo(spi);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_sec);
	}
	PG_END_TRY();

	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("data8 profile \"%s\" does not exist", profile->name),
				 errhint("Create it with data8.set_profile('%s', client_id, client_secret), or SET data8.profile.",
						 profile->name)));
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
