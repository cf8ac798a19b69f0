/*
 * fuzz_block.c
 *	  libFuzzer harness for the simulator's PATCH block readers
 *	  (test/sim/block.c): the fast path against the full path.
 *
 * The input is a PATCH /Dataset/{name}/data body, optionally preceded by a
 * line "#TYPES\n" choosing the dataset's columns: one column per byte (at
 * most 8), of type byte % 6 ('0'..'5' are the type codes), named name, qty,
 * price, active, born, seen, c6, c7 in that order.  Without it the columns
 * are the benchmark's six: name 0, qty 1, price 2, active 3, born 4, seen 5.
 *
 * Both readers run on the same bytes and columns.  Whenever the fast path
 * accepts a body, the full path must accept it too (valid JSON, no error)
 * and produce the same block byte for byte (number, record count, offsets,
 * data with its terminating NUL) and the same request-log fields.
 */
#include "sim.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_block: check failed at line %d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#define MAX_COLS 8

static char *names[MAX_COLS] = {"name", "qty", "price", "active", "born", "seen", "c6", "c7"};

/* Strips the "#TYPES\n" line off *data; returns the number of columns set in cols. */
static int
columns_of(const uint8_t **data, size_t *size, struct column *cols)
{
	static const int bench[] = {COL_STRING, COL_INTEGER, COL_DECIMAL, COL_BOOLEAN, COL_DATE, COL_DATETIME};
	const uint8_t *nl;
	int			nc = 0;

	if (*size > 0 && (*data)[0] == '#' && (nl = memchr(*data, '\n', *size)) != NULL)
	{
		for (const uint8_t *p = *data + 1; p < nl && nc < MAX_COLS; p++, nc++)
		{
			cols[nc].name = names[nc];
			cols[nc].type = *p % 6;
		}
		*size -= (size_t) (nl + 1 - *data);
		*data = nl + 1;
	}
	if (nc == 0)
		for (nc = 0; nc < 6; nc++)
		{
			cols[nc].name = names[nc];
			cols[nc].type = bench[nc];
		}
	return nc;
}

/* The full path as ds_patch runs it on an incomplete input dataset:
 * returns 1 with the block and the log fields when it stores the body. */
static int
full_path(const char *body, size_t n, const struct column *cols, int nc,
		  struct block *blk, long *log_block, long *log_records, int *nerr)
{
	struct block_full f;
	struct perr errs[BLOCK_MAX_ERRS];

	*nerr = -1;
	memset(blk, 0, sizeof *blk);
	if (!block_full_parse(&f, body, n))
	{
		block_full_free(&f);
		return 0;
	}
	*log_block = f.log_block;
	*log_records = f.log_records;
	*nerr = 0;
	block_full_check(&f, errs, nerr);
	if (*nerr == 0)
		block_full_records(&f, cols, nc, errs, nerr, blk);
	block_full_free(&f);
	return *nerr == 0;
}

/* The two blocks are the same, byte for byte. */
static void
same_block(const struct block *a, const struct block *b)
{
	CHECK(a->number == b->number);
	CHECK(a->n == b->n);
	CHECK(a->n >= 1 && a->n <= 1000);
	CHECK(memcmp(a->off, b->off, sizeof(size_t) * (size_t) (a->n + 1)) == 0);
	CHECK(a->off[0] == 0);
	CHECK(memcmp(a->data, b->data, a->off[a->n] + 1) == 0);
	CHECK(a->data[a->off[a->n]] == '\0');
}

static void
free_block(struct block *b)
{
	free(b->data);
	free(b->off);
}

/* Runs both readers on one body; aborts when the fast path accepts what the
 * full path does not store the same way.  Returns whether the fast path
 * accepted; verbose: prints what each did. */
static int
differential(const char *body, size_t size, const struct column *cols, int nc, int verbose)
{
	struct block fast = {0}, full;
	long		log_block = LONG_MIN, log_records = LONG_MIN;
	int			nerr;
	int			fast_ok = block_fast(body, size, cols, nc, &fast);
	int			full_ok = full_path(body, size, cols, nc, &full, &log_block, &log_records, &nerr);

	if (verbose)
		fprintf(stderr, "fast %s; full %s\n", fast_ok ? "accepted" : "declined",
				full_ok ? "accepted" : nerr < 0 ? "rejected: not JSON" : "rejected");
	if (fast_ok)
	{
		CHECK(full_ok);
		same_block(&fast, &full);
		CHECK(log_block == fast.number);
		CHECK(log_records == fast.n);
		free_block(&fast);
	}
	if (full_ok)
		free_block(&full);
	return fast_ok;
}

/* Valid blocks the fast path must take (else it would be a slow path). */
static const char *const must_accept[] = {
	("{\"blockNumber\": 0, \"records\": [{\"name\": \"Customer 1 c4ca4238a0\", \"qty\": 1, \"price\": 1.37, "
	 "\"active\": false, \"born\": \"1950-01-02\", \"seen\": \"2020-01-01T00:00:01.000123Z\"}, "
	 "{\"name\": null, \"qty\": -0, \"price\": null, \"active\": true, \"born\": \"2024-02-29\", \"seen\": null}]}"),
	(" {\"records\":[{},{\"seen\":\"2024-05-01T10:20:30Z\",\"name\":\"a\\\"b\\\\c\\n\\r\\t\\b\\f "
	 "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}],\n\t\"blockNumber\" : 2147483647 }\r\n"),
	("{\"blockNumber\":7,\"records\":[{\"price\":1e-7,\"qty\":9223372036854775807},"
	 "{\"price\":-12345678901234567890.123456789E+2}]}"),
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct column cols[MAX_COLS];
	const uint8_t *none = NULL;
	size_t		zero = 0;
	int			nc = columns_of(&none, &zero, cols);

	(void) argc;
	(void) argv;
	for (size_t i = 0; i < sizeof must_accept / sizeof must_accept[0]; i++)
		if (!differential(must_accept[i], strlen(must_accept[i]), cols, nc, 0))
		{
			fprintf(stderr, "fuzz_block: the fast path declines a valid block: %s\n", must_accept[i]);
			abort();
		}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct column cols[MAX_COLS];
	int			nc = columns_of(&data, &size, cols);

	differential((const char *) data, size, cols, nc, getenv("FUZZ_VERBOSE") != NULL);
	return 0;
}
