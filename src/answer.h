/*
 * answer.h
 *	  The error mapping: what an unsuccessful answer of the service means,
 *	  as one ERROR per kind of answer (SQLSTATE, message, hint), the
 *	  service's own text only as internal detail.
 */
#ifndef DATA8_ANSWER_H
#define DATA8_ANSWER_H

#include "postgres.h"

#include "transport.h"

pg_noreturn extern void d8_http_raise(D8Request *req, D8Response *resp);
extern void d8_http_check(D8Request *req, D8Response *resp);
extern void d8_http_check_json(D8Request *req, D8Response *resp);

#endif							/* DATA8_ANSWER_H */
