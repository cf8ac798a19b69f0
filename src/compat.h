/*
 * compat.h
 *	  What differs between the supported PostgreSQL versions (13 to 18),
 *	  in one place, so the rest of the code is written for one API.
 */
#ifndef DATA8_COMPAT_H
#define DATA8_COMPAT_H

#include "postgres.h"

/* wait events have their own header since 14 */
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#else
#include "pgstat.h"
#endif

/* 16 moved the varlena macros (VARDATA_ANY, VARSIZE_ANY_EXHDR...) out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * 18 replaced pg_attribute_noreturn() (after the declarator) with
 * pg_noreturn (before the declaration, C11's _Noreturn).  GCC and Clang
 * take the attribute in front as well, so write pg_noreturn everywhere.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/* multiranges came in 14; on 13 no type has this typtype */
#if PG_VERSION_NUM < 140000
#define TYPTYPE_MULTIRANGE		'm'
#endif

/* 15 renamed EmitWarningsOnPlaceholders */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix)	EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * A named wait event for pg_stat_activity: 17 registers custom ones
 * (shown as Extension / the name); before, every extension's wait is
 * Extension / Extension.  Call once per backend and keep the result.
 */
#if PG_VERSION_NUM >= 170000
#define D8_WAIT_EVENT_NEW(name)	WaitEventExtensionNew(name)
#else
#define D8_WAIT_EVENT_NEW(name)	PG_WAIT_EXTENSION
#endif

/* 15 starts the next transaction in SPI_commit() itself; before, the caller did */
#if PG_VERSION_NUM >= 150000
#define D8_SPI_START_TRANSACTION()	((void) 0)
#else
#define D8_SPI_START_TRANSACTION()	SPI_start_transaction()
#endif

#endif							/* DATA8_COMPAT_H */
