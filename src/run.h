/*
 * run.h
 *	  Cleansing runs: what one sends and to whom it belongs (run.c), how
 *	  its output is applied to its table, row by row against the
 *	  fingerprints of what was sent (run_apply.c), and how both touch
 *	  tables (run_table.c).
 */
#ifndef DATA8_RUN_H
#define DATA8_RUN_H

#include "postgres.h"
#include "executor/spi.h"

/* A run as data8.runs holds it. */
typedef struct D8Run
{
	int64		id;
	Oid			target;
	char	   *key_column;
	int			ncols;
	char	  **columns;		/* table columns sent, the key first */
	char	  **fields;			/* the dataset field each is sent as */
	int			nmap;			/* column_map: table column -> field */
	char	  **map_columns;
	char	  **map_fields;
	char	   *output_name;
	char	   *job_name;
	char	   *input_dataset;
	char	   *owner;
	char	   *profile;
	bool		keep_datasets;
	int64		rows_sent;
} D8Run;

/* What applying a run's output did. */
typedef struct D8ApplyResult
{
	int64		updated;
	int64		unchanged;
	int64		conflicted;
	int64		deleted;
	int64		unexpected;
	int64		missing;
} D8ApplyResult;

/* run_table.c */
extern char *d8_run_select_list(D8Run *run);
extern char *d8_run_target_name(D8Run *run);
extern int	d8_run_pin(void);
extern void d8_run_unpin(int nest);

/* run_apply.c */
extern void d8_run_apply(D8Run *run, const char *output_dataset, D8ApplyResult *res);
extern uint64 d8_fingerprint(const char *record, int len);
extern void d8_run_check_not_applying(void);

#endif							/* DATA8_RUN_H */
