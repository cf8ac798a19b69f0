/*
 * token.h
 *	  The token layer: OAuth client-credentials tokens of a profile, fetched
 *	  through the transport, cached per backend, and the credentials hook
 *	  that gives them to the transport.
 */
#ifndef DATA8_TOKEN_H
#define DATA8_TOKEN_H

#include "postgres.h"

#include "profile.h"
#include "transport.h"

extern char *d8_token_header(D8Profile *profile, uint64 *generation);
extern void d8_token_invalidate(D8Profile *profile, uint64 generation);
extern void d8_token_auth(D8Profile *profile, D8Auth *auth);

#endif							/* DATA8_TOKEN_H */
