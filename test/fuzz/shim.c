/*
 * shim.c
 *	  The backend symbols that src/record.c and src/json.c need, for running
 *	  them outside the server under libFuzzer.
 *
 * Memory: every palloc'd chunk is a malloc'd block on a list, so that the
 * harness frees everything of an input at its end (as a memory context
 * reset does) and AddressSanitizer sees each chunk's bounds.  ereport:
 * errstart accepts every level; errfinish siglongjmps to the harness for
 * ERROR and above.  The database encoding is UTF-8.  StringInfo, psprintf,
 * the UTF-8 helpers and the shortest-decimal printer come from the frontend
 * libpgcommon.a (they call the palloc below).
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shim.h"

/* postgres.h maps these to pgport's; the harness wants libc's (ASan sees them) */
#undef vsnprintf
#undef snprintf

sigjmp_buf *fuzz_error_jmp = NULL;
FuzzError	fuzz_last_error;

/* ---------- memory ---------- */

#define CHUNK_MAGIC 0x6438636875686bULL

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	uint64		magic;
} Chunk;						/* 32 bytes: keeps MAXALIGN of the payload */

static Chunk chunks = {&chunks, &chunks, 0, 0};
static long nchunks = 0;

MemoryContext CurrentMemoryContext = NULL;
volatile sig_atomic_t InterruptPending = false;

static void
alloc_error(size_t size)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg_internal("invalid memory alloc request size %zu", size)));
}

static void *
chunk_alloc(size_t size, int flags)
{
	Chunk	   *c;

	if (!(flags & MCXT_ALLOC_HUGE) ? !AllocSizeIsValid(size) : !AllocHugeSizeIsValid(size))
		alloc_error(size);
	c = malloc(sizeof(Chunk) + size);
	if (c == NULL)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	}
	c->size = size;
	c->magic = CHUNK_MAGIC;
	c->next = chunks.next;
	c->prev = &chunks;
	chunks.next->prev = c;
	chunks.next = c;
	nchunks++;
	if (flags & MCXT_ALLOC_ZERO)
		memset(c + 1, 0, size);
	return c + 1;
}

static Chunk *
chunk_of(void *ptr)
{
	Chunk	   *c = ((Chunk *) ptr) - 1;

	if (c->magic != CHUNK_MAGIC)
	{
		fprintf(stderr, "shim: pfree/repalloc of a pointer not from palloc: %p\n", ptr);
		abort();
	}
	return c;
}

void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	return chunk_alloc(size, flags);
}

void *
palloc(Size size)
{
	return chunk_alloc(size, 0);
}

void *
palloc0(Size size)
{
	return chunk_alloc(size, MCXT_ALLOC_ZERO);
}

void *
palloc_extended(Size size, int flags)
{
	return chunk_alloc(size, flags);
}

void
pfree(void *ptr)
{
	Chunk	   *c = chunk_of(ptr);

	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->magic = 0;
	nchunks--;
	free(c);
}

void *
repalloc(void *ptr, Size size)
{
	Chunk	   *c = chunk_of(ptr);
	void	   *n;

	if (!AllocSizeIsValid(size))
		alloc_error(size);
	n = palloc(size);
	memcpy(n, ptr, Min(size, c->size));
	pfree(ptr);
	return n;
}

char *
pstrdup(const char *in)
{
	return pnstrdup(in, strlen(in));
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

void
fuzz_reset_memory(void)
{
	while (chunks.next != &chunks)
		pfree(chunks.next + 1);
}

long
fuzz_live_chunks(void)
{
	return nchunks;
}

/* ---------- ereport ---------- */

static int	cur_elevel;

bool
errstart(int elevel, const char *domain)
{
	cur_elevel = elevel;
	memset(&fuzz_last_error, 0, sizeof(fuzz_last_error));
	fuzz_last_error.elevel = elevel;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (fuzz_last_error.message[0] == '\0')
	{
		fprintf(stderr, "shim: ereport at %s:%d without a message\n", filename, lineno);
		abort();
	}
	if (cur_elevel < ERROR)
		return;
	if (fuzz_error_jmp == NULL)
	{
		fprintf(stderr, "shim: ERROR outside FUZZ_TRY at %s:%d: %s\n",
				filename, lineno, fuzz_last_error.message);
		abort();
	}
	siglongjmp(*fuzz_error_jmp, 1);
}

int
errcode(int sqlerrcode)
{
	fuzz_last_error.sqlerrcode = sqlerrcode;
	return 0;
}

#define FORMAT_INTO(field, fmt) \
	do { \
		va_list		ap; \
		va_start(ap, fmt); \
		vsnprintf(fuzz_last_error.field, sizeof(fuzz_last_error.field), fmt, ap); \
		va_end(ap); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(detail, fmt);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	FORMAT_INTO(detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	FORMAT_INTO(hint, fmt);
	return 0;
}

void
ProcessInterrupts(void)
{
	InterruptPending = false;
}

/* ---------- encoding: a UTF-8 database ---------- */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

/* As the backend's: validates (the database is UTF-8), never converts. */
char *
pg_any_to_server(const char *s, int len, int encoding)
{
	int			oklen;

	if (len <= 0)
		return unconstify(char *, s);
	if (encoding != PG_UTF8 && encoding != PG_SQL_ASCII)
	{
		fprintf(stderr, "shim: pg_any_to_server from encoding %d\n", encoding);
		abort();
	}
	oklen = pg_encoding_verifymbstr(PG_UTF8, s, len);
	if (oklen != len)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid byte sequence for encoding \"UTF8\": 0x%02x",
						(unsigned char) s[oklen])));
	return unconstify(char *, s);
}

/* Only reached for a non-UTF-8 database, which the shim is not. */
unsigned char *
pg_do_encoding_conversion(unsigned char *src, int len, int src_encoding,
						  int dest_encoding)
{
	if (src_encoding == dest_encoding || len <= 0)
		return src;
	fprintf(stderr, "shim: pg_do_encoding_conversion %d -> %d\n", src_encoding, dest_encoding);
	abort();
}

/* ---------- catalog and datetime ---------- */

/* The array types the harness uses: text[] and int8[]. */
Oid
get_element_type(Oid typid)
{
	if (typid == TEXTARRAYOID)
		return TEXTOID;
	if (typid == INT8ARRAYOID)
		return INT8OID;
	return InvalidOid;
}

/* Not used by the parsers (d8_json_append_timestamp is not fuzzed). */
int
timestamp2tm(Timestamp dt, int *tzp, struct pg_tm *tm, fsec_t *fsec,
			 const char **tzn, pg_tz *attimezone)
{
	fprintf(stderr, "shim: timestamp2tm is not available\n");
	abort();
}
