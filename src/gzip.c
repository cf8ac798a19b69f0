/*
 * gzip.c
 *	  An answer's gzip body decoded in place (see gzip.h).
 *
 * curl's own decoding (zlib, streamed in 16 kB pieces copied into the body)
 * took about a third of the backend's time fetching pages at 0 ms latency;
 * libdeflate decodes a whole page 2.5 to 3.5 times faster.  The body is one
 * gzip member, as HTTP servers send it: its trailer gives the size, so the
 * output is allocated once; anything else (several members, data after
 * it, a size or checksum that does not match) is refused as corrupt.
 */
#include "data8.h"

#include <libdeflate.h>

#include "utils/memutils.h"

#include "gzip.h"

#define GZIP_MIN_SIZE	18		/* header (10) and trailer (8) */

/* The backend's decompressor, made at first use (malloc'd: kept till exit). */
static struct libdeflate_decompressor *decompressor = NULL;

/*
 * Replaces the gzip data in body with what it decodes to, if that is at
 * most limit bytes; on any failure body is left as it was.  The output goes
 * to spare's buffer when there is a spare (grown to fit), which then takes
 * body's old one; otherwise to new memory in the context that holds body.
 */
D8GunzipResult
d8_gunzip(StringInfo body, StringInfo spare, size_t limit)
{
	const unsigned char *in = (const unsigned char *) body->data;
	size_t		inlen = body->len;
	size_t		size;
	size_t		used = 0;
	size_t		got = 0;
	char	   *out;
	enum libdeflate_result rc;

	if (inlen == 0)
		return D8_GUNZIP_OK;	/* no body (a 204, say): nothing to decode */
	if (inlen < GZIP_MIN_SIZE)
		return D8_GUNZIP_CORRUPT;
	size = (size_t) in[inlen - 4] | (size_t) in[inlen - 3] << 8 |
		(size_t) in[inlen - 2] << 16 | (size_t) in[inlen - 1] << 24;
	if (size > limit)
		return D8_GUNZIP_TOO_LARGE;
	if (decompressor == NULL)
	{
		decompressor = libdeflate_alloc_decompressor();
		if (decompressor == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Could not make a gzip decompressor.")));
	}
	if (spare != NULL && (spare->data == NULL || (size_t) spare->maxlen < size + 1))
	{
		if (spare->data != NULL)
			pfree(spare->data);
		spare->data = NULL;		/* should the allocation fail */
		spare->maxlen = 0;
		spare->data = MemoryContextAllocHuge(GetMemoryChunkContext(body->data), size + 1);
		spare->maxlen = (int) size + 1;
	}
	out = spare ? spare->data : MemoryContextAllocHuge(GetMemoryChunkContext(body->data), size + 1);
	rc = libdeflate_gzip_decompress_ex(decompressor, in, inlen, out, size, &used, &got);
	if (rc != LIBDEFLATE_SUCCESS || used != inlen || got != size)
	{
		if (spare == NULL)
			pfree(out);
		return D8_GUNZIP_CORRUPT;
	}
	out[size] = '\0';
	if (spare != NULL)
	{
		int			maxlen = spare->maxlen;

		spare->data = body->data;
		spare->maxlen = body->maxlen;
		spare->len = 0;
		body->maxlen = maxlen;
	}
	else
	{
		pfree(body->data);
		body->maxlen = (int) size + 1;
	}
	body->data = out;
	body->len = (int) size;
	body->cursor = 0;
	return D8_GUNZIP_OK;
}
