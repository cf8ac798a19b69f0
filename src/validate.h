/*
 * validate.h
 *	  Checks of user input before anything is sent, and URL building from
 *	  validated or percent-encoded parts only.
 */
#ifndef DATA8_VALIDATE_H
#define DATA8_VALIDATE_H

#include "postgres.h"
#include "lib/stringinfo.h"

#define D8_MAX_NAME_LEN		100		/* dataset and column names */
#define D8_MAX_JOB_NAME_LEN 200

extern void d8_append_encoded(StringInfo buf, const char *s);
extern char *d8_url_path(int nsegments,...);
extern void d8_check_dataset_name(const char *name, const char *what);
extern void d8_check_job_name(const char *name);
extern void d8_check_not_empty(const char *value, const char *argname);

#endif							/* DATA8_VALIDATE_H */
