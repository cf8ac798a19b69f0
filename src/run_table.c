/*
 * run_table.c
 *	  How the run machinery touches a run's target table: the settings
 *	  pinned while rows are written out, and the target by name and select
 *	  list.  (The run tables are written with the extension owner's rights
 *	  through profile.c's d8_spi_as_owner.)  Used by run.c (sending) and
 *	  run_apply.c (applying).
 */
#include "data8.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "run.h"

/*
 * Pins the settings that change how values are written (floats, dates,
 * intervals, bytea), so that a row's fingerprint is the same at send and
 * at apply whatever the sessions set.  Returns the level to pass to
 * d8_run_unpin().
 */
int
d8_run_pin(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("extra_float_digits", "1", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("DateStyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("IntervalStyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/* Puts back what d8_run_pin() and anything since (a trigger's SET) changed. */
void
d8_run_unpin(int nest)
{
	AtEOXact_GUC(false, nest);
}

/* The run's table, schema-qualified and quoted. */
char *
d8_run_target_name(D8Run *run)
{
	char	   *rel = get_rel_name(run->target);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the table of data8 run " INT64_FORMAT " no longer exists", run->id)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(run->target)), rel);
}

/*
 * "col AS field, ..." of the columns a run sends, the key first: the same
 * list reads the rows to send and, at apply time, the rows to compare.
 */
char *
d8_run_select_list(D8Run *run)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < run->ncols; i++)
		appendStringInfo(&buf, "%s%s AS %s", i ? ", " : "",
						 quote_identifier(run->columns[i]), quote_identifier(run->fields[i]));
	return buf.data;
}
