/*
 * contract.h
 *	  The pinned mappings of the wire contract (DESIGN.md section 2), each
 *	  in one place.  SQL shows the same tables as data8.column_types and
 *	  data8.job_states; a regression test checks that they agree.
 */
#ifndef DATA8_CONTRACT_H
#define DATA8_CONTRACT_H

#include "postgres.h"

/* Column type codes of datasets */
#define D8_TYPE_STRING		0
#define D8_TYPE_INTEGER		1
#define D8_TYPE_DECIMAL		2
#define D8_TYPE_BOOLEAN		3
#define D8_TYPE_DATE		4
#define D8_TYPE_DATETIME	5
#define D8_NUM_TYPES		6

extern const char *const d8_column_type_names[D8_NUM_TYPES];
extern const char *const d8_job_state_names[];
extern const int d8_num_job_states;

extern int	d8_column_type_code(const char *name);
extern const char *d8_job_state_name(int64 status);

#endif							/* DATA8_CONTRACT_H */
