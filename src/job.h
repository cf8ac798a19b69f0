/*
 * job.h
 *	  What other modules use of the Job routes (job.c).
 */
#ifndef DATA8_JOB_H
#define DATA8_JOB_H

#include "postgres.h"

#include "json.h"

extern char *d8_job_failure_reason(D8Json *job, int64 status);

#endif							/* DATA8_JOB_H */
