/*
 * data8.h
 *	  Private header of the data8 extension: settings and small shared
 *	  definitions, grouped by the file that defines them.
 *
 * Each module has its own header (http.h, json.h, profile.h, util.h);
 * this one holds what every module needs.
 */
#ifndef DATA8_H
#define DATA8_H

#include "postgres.h"

#include "compat.h"

#ifndef DATA8_VERSION
#error "DATA8_VERSION must be defined by the Makefile (from data8.control)"
#endif

#define DATA8_USER_AGENT	"data8-postgresql/" DATA8_VERSION

/* Records per block (PATCH) and per page (GET data): the service's limit. */
#define D8_BLOCK_RECORDS	1000
/* Items per page of the list endpoints (GET /Dataset, GET /Job). */
#define D8_LIST_PAGE_SIZE	100
/* Most requests one pipeline keeps in flight (data8.*parallel_requests). */
#define D8_MAX_PARALLEL		64
/* Largest response body accepted from the service. */
#define D8_MAX_RESPONSE		(64 * 1024 * 1024)

/* data8.c: settings (GUCs) */
extern char *d8_profile_name;		/* data8.profile */
extern int	d8_timeout_ms;			/* data8.timeout */
extern int	d8_connect_timeout_ms;	/* data8.connect_timeout */
extern int	d8_max_retries;			/* data8.max_retries */
extern int	d8_parallel_requests;	/* data8.parallel_requests: 0 for auto */
extern int	d8_max_parallel_requests;	/* data8.max_parallel_requests */
extern int	d8_poll_interval_ms;	/* data8.poll_interval */
extern bool d8_progress;			/* data8.progress */

#endif							/* DATA8_H */
