/*
 * profile.h
 *	  Profiles (rows of data8.profile); their tokens are token.h's.
 */
#ifndef DATA8_PROFILE_H
#define DATA8_PROFILE_H

#include "postgres.h"

#include "executor/spi.h"

typedef struct D8Profile
{
	char	   *name;
	char	   *client_id;
	char	   *client_secret;
	char	   *api_url;		/* without trailing slash */
	char	   *token_url;
	char	   *scope;
} D8Profile;

/* profile.c */
extern void d8_profile_init(void);
extern Oid	d8_extension_owner(void);
extern int	d8_spi_as_owner(const char *sql, SPIPlanPtr plan, int nargs,
							Oid *argtypes, Datum *values, const char *nulls);
extern D8Profile *d8_profile_active(void);
extern void d8_check_service_url(const char *url, const char *field);

#endif							/* DATA8_PROFILE_H */
