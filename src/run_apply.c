/*
 * run_apply.c
 *	  Applying a run's output to its table, a page of 1,000 records at a
 *	  time: a row is updated only when its current values still have the
 *	  fingerprint of what was sent.  Rows edited since are left as they are
 *	  (conflicted), rows deleted since are not brought back (deleted),
 *	  output records whose key was not sent are never applied (unexpected),
 *	  and rows sent that the output lacks are reported (missing).
 *
 * Each fingerprint is taken (deleted) as its record is applied, so a key
 * that comes twice is applied once; whatever is left at the end was
 * missing from the output.  Memory is per page, whatever the row count.
 */
#include "data8.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "storage/itemptr.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "column_input.h"
#include "encode.h"
#include "json.h"
#include "profile.h"
#include "record.h"
#include "run.h"
#include "stream.h"

#define SLOTS		(2 * D8_BLOCK_RECORDS + 48)	/* per-page key table */
#define SAMPLE_KEYS 5

enum
{
	KIND_CONFLICTED,
	KIND_DELETED,
	KIND_UNEXPECTED,
	NKINDS
};

/* One output record of the page at hand. */
typedef struct PageRecord
{
	char	   *key;			/* normalized key text, NULL when absent */
	Datum		keyval;
	int			slot;			/* its key's slot, -1 without key */
} PageRecord;

/* What is known of one key of the page. */
typedef struct KeySlot
{
	const char *key;
	bool		sent;			/* a fingerprint was taken for it */
	uint64		stored;
	bool		current;		/* the row is still there */
	bool		twice;			/* more than one row has the key now */
	ItemPointerData ctid;		/* the version read */
	bool		candidate;		/* to be written, once locked and checked again */
	uint64		now;
	Datum	   *values;			/* its current values of the set columns */
	bool	   *nulls;
	int			record;			/* the first record with this key */
} KeySlot;

typedef struct Apply
{
	D8Run	   *run;
	D8ApplyResult *res;
	MemoryContext cxt;			/* lives as long as the apply */
	char	   *target;
	/* the key */
	Oid			keytype;
	int32		keytypmod;
	FmgrInfo	key_in;
	FmgrInfo	key_out;
	Oid			key_ioparam;
	int16		key_len;
	bool		key_byval;
	char		key_align;
	/* the columns the output sets */
	int			nset;
	char	  **set_columns;
	char	  **set_fields;
	Oid		   *set_types;
	int32	   *set_typmods;
	D8ColumnInput *set_input;
	int16	   *set_len;
	bool	   *set_byval;
	char	   *set_align;
	/* the page at hand */
	MemoryContext page_cxt;
	int			n;
	PageRecord *records;
	Datum	   *values;			/* [record * nset + column] */
	bool	   *nulls;
	KeySlot		slots[SLOTS];
	StringInfoData scratch;
	/* statements */
	SPIPlanPtr	take_plan;
	SPIPlanPtr	read_plan;		/* the rows, unlocked */
	SPIPlanPtr	lock_plan;		/* the rows about to change, locked */
	SPIPlanPtr	update_plan;
	D8Encoder  *enc;
	/* a few keys of each kind, for the WARNINGs */
	StringInfoData sample[NKINDS];
	int			nsample[NKINDS];
} Apply;

/* An apply is running in this backend (its table's triggers may call us). */
static bool d8_applying = false;

/* Ensures no run is submitted or applied from inside an apply. */
void
d8_run_check_not_applying(void)
{
	if (d8_applying)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a data8 run cannot be started or synced while another is being applied"),
				 errhint("A trigger on a cleansed table must not call data8 cleansing routines.")));
}

/* The fingerprint of a record as encoded for Data8. */
uint64
d8_fingerprint(const char *record, int len)
{
	return hash_bytes_extended((const unsigned char *) record, len, 0);
}

/* The slot of key in the page's table: its own, or the empty one for it. */
static int
key_slot(Apply *a, const char *key)
{
	uint32		h = hash_bytes((const unsigned char *) key, strlen(key));
	int			i = h % SLOTS;

	while (a->slots[i].key != NULL && strcmp(a->slots[i].key, key) != 0)
		i = (i + 1) % SLOTS;
	return i;
}

static void
note_key(Apply *a, int kind, const char *key)
{
	if (a->nsample[kind] >= SAMPLE_KEYS)
		return;
	if (a->nsample[kind]++ > 0)
		appendStringInfoString(&a->sample[kind], ", ");
	appendStringInfoString(&a->sample[kind], key);
}

/* The index of the set column fed by field, or -1. */
static int
set_index(Apply *a, const char *field)
{
	int			i;

	for (i = 0; i < a->nset; i++)
		if (strcmp(a->set_fields[i], field) == 0)
			return i;
	return -1;
}

/* Keeps one output record of the page: its key, and its values as Datums. */
static void
apply_record(void *arg, D8RecordReader *record, int64 recno)
{
	Apply	   *a = (Apply *) arg;
	MemoryContext old = MemoryContextSwitchTo(a->page_cxt);
	PageRecord *r = &a->records[a->n];
	Datum	   *values = &a->values[a->n * a->nset];
	bool	   *nulls = &a->nulls[a->n * a->nset];
	int			i;

	r->key = NULL;
	r->slot = -1;
	for (i = 0; i < a->nset; i++)
		nulls[i] = true;
	for (i = 0; i < record->nvalues; i++)
	{
		D8RecordValue *v = &record->values[i];
		int			c;

		if (strcmp(v->key, a->run->fields[0]) == 0)
		{
			if (v->text == NULL)
				continue;
			r->keyval = InputFunctionCall(&a->key_in, (char *) v->text,
										  a->key_ioparam, a->keytypmod);
			r->key = OutputFunctionCall(&a->key_out, r->keyval);
			continue;
		}
		c = set_index(a, v->key);
		if (c < 0 || v->text == NULL)
			continue;
		nulls[c] = false;
		values[c] = d8_column_input(&a->set_input[c], v, &a->scratch);
	}
	/* domains and NOT NULL see the missing values too */
	for (i = 0; i < a->nset; i++)
		if (nulls[i])
			values[i] = d8_column_input(&a->set_input[i], NULL, NULL);
	a->n++;
	MemoryContextSwitchTo(old);
}

/* An array of the key type from the keys of the records of kind wanted. */
static Datum
key_array(Apply *a, bool (*wanted) (Apply *a, int rec), int *count)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(a->n, 1));
	int			n = 0;
	int			i;

	for (i = 0; i < a->n; i++)
		if (wanted(a, i))
			elems[n++] = a->records[i].keyval;
	*count = n;
	return PointerGetDatum(construct_array(elems, n, a->keytype, a->key_len,
										   a->key_byval, a->key_align));
}

static bool
first_sent(Apply *a, int rec)
{
	PageRecord *r = &a->records[rec];

	return r->slot >= 0 && a->slots[r->slot].sent && a->slots[r->slot].record == rec;
}

static bool
is_candidate(Apply *a, int rec)
{
	PageRecord *r = &a->records[rec];

	return r->slot >= 0 && a->slots[r->slot].candidate && a->slots[r->slot].record == rec;
}

/* Takes the fingerprints of the page's keys from data8.run_rows. */
static void
take_fingerprints(Apply *a)
{
	Datum		args[2];
	Datum	   *texts = palloc(sizeof(Datum) * Max(a->n, 1));
	int			n = 0;
	uint64		i;

	for (i = 0; i < (uint64) a->n; i++)
	{
		PageRecord *r = &a->records[i];
		KeySlot    *s;

		if (r->key == NULL)
			continue;
		r->slot = key_slot(a, r->key);
		s = &a->slots[r->slot];
		if (s->key == NULL)
		{
			s->key = r->key;
			s->record = (int) i;
			texts[n++] = CStringGetTextDatum(r->key);
		}
	}
	if (n == 0)
		return;
	args[0] = Int64GetDatum(a->run->id);
	args[1] = PointerGetDatum(construct_array(texts, n, TEXTOID, -1, false, TYPALIGN_INT));
	if (d8_spi_as_owner(NULL, a->take_plan, 2, NULL, args, NULL) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not take the run's fingerprints");
	/* SPI returns to its own context: back to the page's */
	MemoryContextSwitchTo(a->page_cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		char	   *key = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1, &isnull));
		KeySlot    *s = &a->slots[key_slot(a, key)];

		if (s->key == NULL)
			continue;			/* cannot happen: only the page's keys are taken */
		s->sent = true;
		s->stored = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Reads the page's rows whose fingerprint was taken (or, with lock, locks
 * those about to change) and notes, for each, the fingerprint of its
 * current values, its current set columns and its row version.
 */
static void
read_current_rows(Apply *a, bool lock)
{
	Datum		args[1];
	int			n;
	uint64		i;
	int			c;

	args[0] = key_array(a, lock ? is_candidate : first_sent, &n);
	if (n == 0)
		return;
	for (i = 0; lock && i < (uint64) a->n; i++)
		if (is_candidate(a, (int) i))
		{
			KeySlot    *s = &a->slots[a->records[i].slot];

			s->current = false;
			s->twice = false;
		}
	if (SPI_execute_plan(lock ? a->lock_plan : a->read_plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the rows to update");
	if (a->enc == NULL)
	{
		MemoryContextSwitchTo(a->cxt);
		a->enc = d8_encoder_begin(SPI_tuptable->tupdesc, a->run->ncols);
	}
	MemoryContextSwitchTo(a->page_cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			natts = desc->natts;
		Datum	   *values = palloc(sizeof(Datum) * natts);
		bool	   *nulls = palloc(sizeof(bool) * natts);
		KeySlot    *s;
		char	   *key;

		heap_deform_tuple(tup, desc, values, nulls);
		key = OutputFunctionCall(&a->key_out, values[0]);
		s = &a->slots[key_slot(a, key)];
		if (s->key == NULL)
			continue;			/* cannot happen: only the page's keys are read */
		if (s->current)
		{
			/* the key is no longer unique: which row was sent is unknown */
			s->twice = true;
			continue;
		}
		resetStringInfo(&a->scratch);
		d8_encode_record(a->enc, values, nulls, &a->scratch, 0);
		s->current = true;
		ItemPointerCopy((ItemPointer) DatumGetPointer(values[natts - 1]), &s->ctid);
		s->now = d8_fingerprint(a->scratch.data, a->scratch.len);
		s->values = palloc(sizeof(Datum) * Max(a->nset, 1));
		s->nulls = palloc(sizeof(bool) * Max(a->nset, 1));
		for (c = 0; c < a->nset; c++)
		{
			int			att = a->run->ncols + c;

			s->nulls[c] = nulls[att];
			s->values[c] = nulls[att] ? (Datum) 0 :
				datumCopy(values[att], a->set_byval[c], a->set_len[c]);
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Whether two values of a column are the same bytes (varlenas by content). */
static bool
same_value(Apply *a, int c, Datum x, Datum y)
{
	if (a->set_len[c] == -1)
	{
		struct varlena *vx = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(x));
		struct varlena *vy = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(y));

		return VARSIZE_ANY_EXHDR(vx) == VARSIZE_ANY_EXHDR(vy) &&
			memcmp(VARDATA_ANY(vx), VARDATA_ANY(vy), VARSIZE_ANY_EXHDR(vx)) == 0;
	}
	return datumIsEqual(x, y, a->set_byval[c], a->set_len[c]);
}

/* Whether the record's values equal the row's (binary equality). */
static bool
unchanged(Apply *a, int rec, KeySlot *s)
{
	Datum	   *values = &a->values[rec * a->nset];
	bool	   *nulls = &a->nulls[rec * a->nset];
	int			c;

	for (c = 0; c < a->nset; c++)
	{
		if (nulls[c] != s->nulls[c])
			return false;
		if (!nulls[c] && !same_value(a, c, values[c], s->values[c]))
			return false;
	}
	return true;
}

/* Classifies the page's records and updates the rows that may be. */
static void
apply_page(void *arg)
{
	Apply	   *a = (Apply *) arg;
	MemoryContext old = MemoryContextSwitchTo(a->page_cxt);
	Datum	   *keys = palloc(sizeof(Datum) * Max(a->n, 1));
	Datum	   *tids = palloc(sizeof(Datum) * Max(a->n, 1));
	Datum	  **cols = palloc(sizeof(Datum *) * Max(a->nset, 1));
	bool	  **colnulls = palloc(sizeof(bool *) * Max(a->nset, 1));
	Datum	   *args = palloc(sizeof(Datum) * (a->nset + 2));
	int			nupdate = 0;
	int			i;
	int			c;
	int			pass;

	take_fingerprints(a);
	read_current_rows(a, false);
	for (c = 0; c < a->nset; c++)
	{
		cols[c] = palloc(sizeof(Datum) * Max(a->n, 1));
		colnulls[c] = palloc(sizeof(bool) * Max(a->n, 1));
	}
	/* twice: unlocked, then the rows about to change locked and checked again */
	for (pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
			read_current_rows(a, true);
		for (i = 0; i < a->n; i++)
		{
			PageRecord *r = &a->records[i];
			KeySlot    *s = r->slot >= 0 ? &a->slots[r->slot] : NULL;

			if (pass == 1 && !is_candidate(a, i))
				continue;
			if (s != NULL)
				s->candidate = false;
			if (s == NULL || !s->sent || s->record != i)
			{
				/* a key never sent, or already applied from an earlier record */
				a->res->unexpected++;
				note_key(a, KIND_UNEXPECTED, r->key ? r->key : "(none)");
			}
			else if (!s->current)
			{
				a->res->deleted++;
				note_key(a, KIND_DELETED, r->key);
			}
			else if (s->twice || s->now != s->stored)
			{
				a->res->conflicted++;
				note_key(a, KIND_CONFLICTED, r->key);
			}
			else if (unchanged(a, i, s))
				a->res->unchanged++;
			else if (pass == 0)
				s->candidate = true;
			else
			{
				keys[nupdate] = r->keyval;
				tids[nupdate] = PointerGetDatum(&s->ctid);
				for (c = 0; c < a->nset; c++)
				{
					cols[c][nupdate] = a->values[i * a->nset + c];
					colnulls[c][nupdate] = a->nulls[i * a->nset + c];
				}
				nupdate++;
			}
		}
	}
	if (nupdate > 0)
	{
		int			dims[1] = {nupdate};
		int			lbs[1] = {1};

		args[0] = PointerGetDatum(construct_array(keys, nupdate, a->keytype, a->key_len,
												  a->key_byval, a->key_align));
		args[1] = PointerGetDatum(construct_array(tids, nupdate, TIDOID, sizeof(ItemPointerData),
												  false, TYPALIGN_SHORT));
		for (c = 0; c < a->nset; c++)
			args[c + 2] = PointerGetDatum(construct_md_array(cols[c], colnulls[c], 1, dims, lbs,
															 a->set_types[c], a->set_len[c],
															 a->set_byval[c], a->set_align[c]));
		if (SPI_execute_plan(a->update_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update the rows");
		MemoryContextSwitchTo(a->page_cxt);
		/* the rows are locked since they were checked: all are written */
		a->res->updated += SPI_processed;
		a->res->conflicted += nupdate - SPI_processed;
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(a->page_cxt);
	memset(a->slots, 0, sizeof(a->slots));
	a->n = 0;
}

/* Whether the run sent table column column. */
static bool
sent_column(D8Run *run, const char *column)
{
	int			i;

	for (i = 0; i < run->ncols; i++)
		if (strcmp(run->columns[i], column) == 0)
			return true;
	return false;
}

/* The table column an output field goes to, or NULL. */
static char *
column_for_field(Apply *a, const char *field)
{
	D8Run	   *run = a->run;
	int			i;

	for (i = 0; i < run->nmap; i++)
		if (strcmp(run->map_fields[i], field) == 0)
			return run->map_columns[i];
	return pstrdup(field);
}

/*
 * The columns the output sets: each output field but the key's that names
 * (through column_map, or by name) a column of the table that is neither
 * the key nor generated.
 */
static void
set_columns(Apply *a, D8Json *columns)
{
	D8JsonIter	it;
	const char *field;
	D8Json	   *v;
	int			max = 0;

	d8_json_iter_init(&it, columns);
	while (d8_json_iter_next(&it, &field, &v))
		max++;
	a->set_columns = palloc0(sizeof(char *) * Max(max, 1));
	a->set_fields = palloc0(sizeof(char *) * Max(max, 1));
	a->set_types = palloc0(sizeof(Oid) * Max(max, 1));
	a->set_typmods = palloc0(sizeof(int32) * Max(max, 1));
	a->set_input = palloc0(sizeof(D8ColumnInput) * Max(max, 1));
	a->set_len = palloc0(sizeof(int16) * Max(max, 1));
	a->set_byval = palloc0(sizeof(bool) * Max(max, 1));
	a->set_align = palloc0(sizeof(char) * Max(max, 1));

	d8_json_iter_init(&it, columns);
	while (d8_json_iter_next(&it, &field, &v))
	{
		char	   *column = column_for_field(a, field);
		AttrNumber	attnum;
		Oid			coll;
		int			c = a->nset;

		if (strcmp(field, a->run->fields[0]) == 0 ||
			strcmp(column, a->run->key_column) == 0)
			continue;
		/* only what was sent (and fingerprinted) is ever written */
		if (!sent_column(a->run, column))
			continue;
		attnum = get_attnum(a->run->target, column);
		if (attnum <= 0 || get_attgenerated(a->run->target, attnum) != '\0')
			continue;
		a->set_columns[c] = column;
		a->set_fields[c] = pstrdup(field);
		get_atttypetypmodcoll(a->run->target, attnum, &a->set_types[c], &a->set_typmods[c], &coll);
		d8_column_input_init(&a->set_input[c], a->set_types[c], a->set_typmods[c]);
		get_typlenbyvalalign(a->set_types[c], &a->set_len[c], &a->set_byval[c], &a->set_align[c]);
		a->nset++;
	}
}

/* Prepares the three statements of a page. */
static void
prepare_statements(Apply *a)
{
	D8Run	   *run = a->run;
	StringInfoData sql;
	Oid			types[2] = {INT8OID, TEXTARRAYOID};
	Oid		   *utypes = palloc(sizeof(Oid) * (a->nset + 2));
	Oid			keyarray = get_array_type(a->keytype);
	int			c;

	if (!OidIsValid(keyarray))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("key column \"%s\" of type %s has no array type",
						run->key_column, format_type_be(a->keytype))));
	/*
	 * One index probe per key, whatever the statistics say: "key = ANY ($2)"
	 * on the second column of the primary key lets the planner scan the whole
	 * run for each page (quadratic), which it did after autovacuum analyzed
	 * the table between runs.
	 */
	a->take_plan = SPI_prepare("DELETE FROM data8.run_rows"
							   " WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
							   "   SELECT f.ctid FROM pg_catalog.unnest($2) AS k(key),"
							   "     LATERAL (SELECT ctid FROM data8.run_rows"
							   "               WHERE run_id OPERATOR(pg_catalog.=) $1"
							   "                 AND key OPERATOR(pg_catalog.=) k.key OFFSET 0) f))"
							   " RETURNING key, fingerprint", 2, types);
	if (a->take_plan == NULL)
		elog(ERROR, "could not prepare: %s", SPI_result_code_string(SPI_result));

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s", d8_run_select_list(run));
	for (c = 0; c < a->nset; c++)
		appendStringInfo(&sql, ", %s", quote_identifier(a->set_columns[c]));
	appendStringInfo(&sql, ", ctid FROM %s WHERE %s OPERATOR(pg_catalog.=) ANY ($1)",
					 a->target, quote_identifier(run->key_column));
	a->read_plan = SPI_prepare(sql.data, 1, &keyarray);
	if (a->read_plan == NULL)
		elog(ERROR, "could not prepare: %s", SPI_result_code_string(SPI_result));
	appendStringInfoString(&sql, " FOR UPDATE");
	a->lock_plan = SPI_prepare(sql.data, 1, &keyarray);
	if (a->lock_plan == NULL)
		elog(ERROR, "could not prepare: %s", SPI_result_code_string(SPI_result));

	if (a->nset == 0)
		return;
	resetStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s AS t SET (", a->target);
	for (c = 0; c < a->nset; c++)
		appendStringInfo(&sql, "%s%s", c ? ", " : "", quote_identifier(a->set_columns[c]));
	appendStringInfoString(&sql, ") = ROW(");
	for (c = 0; c < a->nset; c++)
		appendStringInfo(&sql, "%su.v%d", c ? ", " : "", c);
	appendStringInfoString(&sql, ") FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)");
	for (c = 0; c < a->nset; c++)
		appendStringInfo(&sql, ", pg_catalog.unnest($%d)", c + 3);
	appendStringInfoString(&sql, ") AS u(k, tid");
	for (c = 0; c < a->nset; c++)
		appendStringInfo(&sql, ", v%d", c);
	/* the version read, or nothing: an edit since is never overwritten */
	appendStringInfo(&sql, ") WHERE t.%s OPERATOR(pg_catalog.=) u.k AND t.ctid OPERATOR(pg_catalog.=) u.tid",
					 quote_identifier(run->key_column));
	utypes[0] = keyarray;
	utypes[1] = TIDARRAYOID;
	for (c = 0; c < a->nset; c++)
	{
		utypes[c + 2] = get_array_type(a->set_types[c]);
		if (!OidIsValid(utypes[c + 2]))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot be updated from Data8",
							a->set_columns[c], format_type_be(a->set_types[c]))));
	}
	a->update_plan = SPI_prepare(sql.data, a->nset + 2, utypes);
	if (a->update_plan == NULL)
		elog(ERROR, "could not prepare: %s", SPI_result_code_string(SPI_result));
}

/* The rows sent that no output record matched: counted, sampled, dropped. */
static void
count_missing(Apply *a)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(a->run->id)};
	bool		isnull;
	Datum		d;

	if (d8_spi_as_owner("SELECT pg_catalog.count(*),"
						" (SELECT pg_catalog.string_agg(k, ', ') FROM"
						"   (SELECT key AS k FROM data8.run_rows WHERE run_id OPERATOR(pg_catalog.=) $1"
						"     ORDER BY key LIMIT 5) s)"
						" FROM data8.run_rows WHERE run_id OPERATOR(pg_catalog.=) $1",
						NULL, 1, types, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not count the rows missing from the output");
	a->res->missing = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												  1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	a->sample[NKINDS - 1].len = 0;
	if (a->res->missing > 0)
	{
		char	   *keys = isnull ? "" : TextDatumGetCString(d);

		ereport(WARNING,
				(errmsg_plural("data8: " INT64_FORMAT " of the " INT64_FORMAT " rows sent by run "
							   INT64_FORMAT " is missing from the output",
							   "data8: " INT64_FORMAT " of the " INT64_FORMAT " rows sent by run "
							   INT64_FORMAT " are missing from the output",
							   a->res->missing, a->res->missing, a->run->rows_sent, a->run->id),
				 errdetail("Missing keys include: %s.", keys),
				 errhint("These rows were not updated. The workflow may have changed or dropped their keys.")));
	}
	if (d8_spi_as_owner("DELETE FROM data8.run_rows WHERE run_id OPERATOR(pg_catalog.=) $1",
						NULL, 1, types, args, NULL) != SPI_OK_DELETE)
		elog(ERROR, "could not drop the run's fingerprints");
}

/* A WARNING naming a few keys of each kind of row that was not applied. */
static void
warn_kinds(Apply *a)
{
	D8ApplyResult *res = a->res;
	int64		id = a->run->id;

	if (res->conflicted > 0)
		ereport(WARNING,
				(errmsg_plural("data8: " INT64_FORMAT " row of run " INT64_FORMAT
							   " was changed after it was sent and was left as it is",
							   "data8: " INT64_FORMAT " rows of run " INT64_FORMAT
							   " were changed after they were sent and were left as they are",
							   res->conflicted, res->conflicted, id),
				 errdetail("Their keys include: %s.", a->sample[KIND_CONFLICTED].data),
				 errhint("Cleanse them again to cleanse their new values.")));
	if (res->deleted > 0)
		ereport(WARNING,
				(errmsg_plural("data8: " INT64_FORMAT " row of run " INT64_FORMAT
							   " was deleted after it was sent and was not brought back",
							   "data8: " INT64_FORMAT " rows of run " INT64_FORMAT
							   " were deleted after they were sent and were not brought back",
							   res->deleted, res->deleted, id),
				 errdetail("Their keys include: %s.", a->sample[KIND_DELETED].data)));
	if (res->unexpected > 0)
		ereport(WARNING,
				(errmsg_plural("data8: " INT64_FORMAT " output row of run " INT64_FORMAT
							   " has a key that was not sent, or came twice, and was not applied",
							   "data8: " INT64_FORMAT " output rows of run " INT64_FORMAT
							   " have a key that was not sent, or came twice, and were not applied",
							   res->unexpected, res->unexpected, id),
				 errdetail("Their keys include: %s.", a->sample[KIND_UNEXPECTED].data),
				 errhint("The workflow may change keys; only rows sent are ever updated.")));
}

/* Error context: which run is being applied. */
static void
apply_error_context(void *arg)
{
	Apply	   *a = (Apply *) arg;

	errcontext("applying the output of data8 run " INT64_FORMAT " to %s", a->run->id, a->target);
}

/*
 * Applies output dataset output_dataset of run to its table, with the
 * current user's rights, and counts what became of each row in *res.
 */
void
d8_run_apply(D8Run *run, const char *output_dataset, D8ApplyResult *res)
{
	Apply	   *a = palloc0(sizeof(Apply));
	D8Json	   *columns;
	int64		total;
	AttrNumber	keyatt;
	Oid			coll;
	Oid			infn;
	Oid			outfn;
	bool		varlena;
	ErrorContextCallback errcb;
	int			k;
	int			nest;

	memset(res, 0, sizeof(*res));
	a->run = run;
	a->res = res;
	a->target = d8_run_target_name(run);
	errcb.callback = apply_error_context;
	errcb.arg = a;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	columns = d8_fetch_dataset_columns(output_dataset, &total);
	if (d8_json_get(columns, run->fields[0]) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("output dataset \"%s\" has no key column \"%s\"", output_dataset,
						run->fields[0]),
				 errhint("The workflow must return the key column to match rows.")));
	keyatt = get_attnum(run->target, run->key_column);
	if (keyatt <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s does not exist", run->key_column, a->target)));
	get_atttypetypmodcoll(run->target, keyatt, &a->keytype, &a->keytypmod, &coll);
	getTypeInputInfo(a->keytype, &infn, &a->key_ioparam);
	fmgr_info(infn, &a->key_in);
	getTypeOutputInfo(a->keytype, &outfn, &varlena);
	fmgr_info(outfn, &a->key_out);
	get_typlenbyvalalign(a->keytype, &a->key_len, &a->key_byval, &a->key_align);
	set_columns(a, columns);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	a->cxt = CurrentMemoryContext;
	prepare_statements(a);
	MemoryContextSwitchTo(a->cxt);
	a->page_cxt = AllocSetContextCreate(a->cxt, "data8 apply page",
										ALLOCSET_DEFAULT_SIZES);
	a->records = palloc(sizeof(PageRecord) * D8_BLOCK_RECORDS);
	a->values = palloc(sizeof(Datum) * D8_BLOCK_RECORDS * Max(a->nset, 1));
	a->nulls = palloc(sizeof(bool) * D8_BLOCK_RECORDS * Max(a->nset, 1));
	initStringInfo(&a->scratch);
	for (k = 0; k < NKINDS; k++)
		initStringInfo(&a->sample[k]);

	nest = d8_run_pin();
	d8_applying = true;
	PG_TRY();
	{
		d8_fetch_records(output_dataset, total, apply_record, apply_page, a);
		count_missing(a);
	}
	PG_FINALLY();
	{
		d8_applying = false;
	}
	PG_END_TRY();
	d8_run_unpin(nest);
	warn_kinds(a);
	SPI_finish();
	error_context_stack = errcb.previous;
}
