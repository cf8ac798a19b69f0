# data8: PGXS build.  The version lives in data8.control only.
EXTENSION   = data8
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = data8
OBJS        = $(patsubst %.c,%.o,$(wildcard src/*.c))
# The current version's install script is built from sql/install/; the
# scripts of released versions and the upgrade scripts between them are kept
# as they shipped (sql/data8--0.1.0.sql, sql/data8--0.1.0--0.2.0.sql, ...).
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
EXTRA_CLEAN = $(DATA_built)

# Regression tests: sql/NAME.sql against expected/NAME.out.  The simulator
# must be running (see test/run-tests.sh); `make test` does all of it.
REGRESS      ?= $(shell cat test/regress-schedule)
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -DDATA8_VERSION=\"$(EXTVERSION)\" -Isrc -Wall -Wextra -Werror \
              -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -lcurl -ljansson -ldeflate

EXTRA_CLEAN += src/depend.mk src/depend.mk.tmp

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Which headers each object (and LLVM bitcode file) includes, so that a
# changed struct rebuilds every file that uses it: Debian's PGXS has no
# autodepend.  Remade when a source or header changes.
src/depend.mk: $(wildcard src/*.c src/*.h)
	$(CC) $(CPPFLAGS) -MM -MP $(wildcard src/*.c) > $@.tmp
	sed 's|^\([a-z_0-9]*\)\.o:|src/\1.o src/\1.bc:|' $@.tmp > $@ && rm -f $@.tmp
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
-include src/depend.mk
endif

# The install script is assembled from one file per concern, in name order.
sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

# PGXN's META.json takes its version from data8.control.  It is committed
# (PGXN bundles are made from the committed tree): after a version change,
# `make META.json` and commit it; test/deb-smoke.sh fails while it is stale.
META.json: META.json.in $(EXTENSION).control
	sed 's/@VERSION@/$(EXTVERSION)/g' $< > $@

.PHONY: sim test demo deps bench memcheck memcheck-quick memcheck-cancel fuzz test-versions
sim:
	$(MAKE) -C test/sim

deps:
	bash test/install-deps.sh

test:
	bash test/run-tests.sh

# every supported PostgreSQL version (13 15 17 18): the build with -Werror,
# the clean pg_regress pass and pg_cron; versions built or fetched into
# ${XDG_CACHE_HOME:-~/.cache}/data8/pg (test/pg-versions.sh)
test-versions:
	bash test/test-versions.sh

demo:
	bash test/demo.sh

bench:
	bash test/bench/run.sh

# every server process under valgrind over the regression suite and the
# fault subset (slow, on demand: about 20 minutes); see test/memcheck
memcheck: install sim
	bash test/memcheck/valgrind.sh full

# a bounded subset under valgrind (run by make test): about a minute
memcheck-quick: install sim
	bash test/memcheck/valgrind.sh quick

# 10,000 cancelled requests in one session: memory and sockets stay flat
memcheck-cancel: install sim
	bash test/memcheck/cancel_loop.sh

# the fuzzers, 10 minutes each (make test runs them 20 s each)
fuzz:
	$(MAKE) -C test/fuzz long

# Debian packages, postgresql-NN-data8 for every installed
# postgresql-server-dev-NN, built with pg_buildext in a scratch copy of the
# tree; the .deb files land in deb/ (or DEB_OUT)
.PHONY: deb test-deb
deb:
	bash test/deb-build.sh

# builds the package, installs it into PostgreSQL 15 and smoke-tests it in a
# throwaway cluster, then puts this tree's build back (a stage of make test)
test-deb:
	bash test/deb-smoke.sh
