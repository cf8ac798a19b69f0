/*
 * gzip.h
 *	  Decoding an answer sent with Content-Encoding: gzip (libdeflate, in
 *	  one pass over the whole body).  Part of the transport: it knows
 *	  nothing of Data8.
 */
#ifndef DATA8_GZIP_H
#define DATA8_GZIP_H

#include "postgres.h"

#include "lib/stringinfo.h"

typedef enum D8GunzipResult
{
	D8_GUNZIP_OK,
	D8_GUNZIP_CORRUPT,			/* not one valid gzip member */
	D8_GUNZIP_TOO_LARGE			/* it would be over the size limit */
} D8GunzipResult;

extern D8GunzipResult d8_gunzip(StringInfo body, StringInfo spare, size_t limit);

#endif							/* DATA8_GZIP_H */
