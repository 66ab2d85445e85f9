# pg_loyalty: loyalty and promotion engine for PostgreSQL (PGXS build)

EXTENSION   = pg_loyalty
# Every version, oldest first; the last one is the default and must match
# default_version in pg_loyalty.control. Cutting a release: doc/upgrade.md.
VERSIONS    = 0.1 0.2
EXTVERSION  = $(lastword $(VERSIONS))
RELEASED    = $(filter-out $(EXTVERSION),$(VERSIONS))
MODULE_big  = pg_loyalty
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script of the current version is assembled from one source file
# per concern. Released versions keep their frozen install script
# (src/sql/released/, installed as is). Each upgrade step FROM--TO is
# assembled from src/sql/upgrade/TO/*.sql in name order.
SQL_SOURCES  = $(sort $(wildcard src/sql/*.sql))
RELEASED_SQL = $(patsubst %,src/sql/released/$(EXTENSION)--%.sql,$(RELEASED))
UPGRADE_STEPS = $(join $(RELEASED),$(addprefix --,$(wordlist 2,$(words $(VERSIONS)),$(VERSIONS))))
UPGRADE_SQL  = $(patsubst %,$(EXTENSION)--%.sql,$(UPGRADE_STEPS))
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_SQL)
DATA         = $(RELEASED_SQL)

# pg_regress suites: sql/NAME.sql with expected/NAME.out, run in name order.
REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=test/regress.conf

# Isolation specs: test/specs/NAME.spec with test/expected/NAME.out.
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --temp-instance=./tmp_check_iso \
                 --temp-config=test/isolation.conf --load-extension=pg_loyalty

WERROR      ?= -Werror
PG_CPPFLAGS  = -I$(srcdir)/src -Wall -Wextra -Wno-unused-parameter \
               -Wno-missing-field-initializers -Wno-sign-compare $(WERROR)
EXTRA_CLEAN  = test/results .test $(wildcard $(EXTENSION)--*.sql)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild every object when any header changes.
$(OBJS): $(wildcard src/*.h)

CONTROL_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" $(EXTENSION).control)
ifneq ($(CONTROL_VERSION),$(EXTVERSION))
$(error $(EXTENSION).control has default_version = '$(CONTROL_VERSION)' but VERSIONS in the Makefile ends with $(EXTVERSION))
endif
ifneq ($(words $(wildcard $(RELEASED_SQL))),$(words $(RELEASED)))
$(error released version without its frozen install script: $(filter-out $(wildcard $(RELEASED_SQL)),$(RELEASED_SQL)))
endif

# (the directories are prerequisites too: adding or removing a file rebuilds)
$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) src/sql
	cat $(filter %.sql,$^) > $@

# pg_loyalty--FROM--TO.sql: a guard line, then src/sql/upgrade/TO/*.sql in name order.
define upgrade_rule
$(EXTENSION)--$(1).sql: $$(sort $$(wildcard src/sql/upgrade/$(2)/*.sql)) $$(wildcard src/sql/upgrade/$(2))
	{ printf '%s\n' '-- pg_loyalty upgrade $(subst --, to ,$(1)), assembled from src/sql/upgrade/$(2)/*.sql in name order.' \
	         '\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE" to load this file. \quit'; \
	  cat /dev/null $$(filter %.sql,$$^); } > $$@
endef
$(foreach s,$(UPGRADE_STEPS),$(eval $(call upgrade_rule,$(s),$(lastword $(subst --, ,$(s))))))

.PHONY: test demo bench crash-test worker fuzz soak check-regress check-isolation

# Everything, from a fresh machine: packages, build, install, all suites.
test:
	bash test/run_tests.sh

# A throwaway cluster with a small demo shop.
demo:
	bash test/demo.sh

# Benchmarks (pgbench), written to bench/RESULTS.md.
bench:
	bash bench/run.sh

# kill -9 of the server under load; nothing committed is lost, nothing twice.
crash-test:
	bash test/crash_test.sh

# The notification delivery worker (libpq), see doc/tiers.md.
worker:
	$(MAKE) -C src/worker PG_CONFIG=$(PG_CONFIG)

# libFuzzer targets for the input parsers (clang-14); FUZZ_SECONDS per target (default 60)
fuzz:
	$(MAKE) -C test/fuzz run PG_CONFIG=$(PG_CONFIG)

# pgbench soak through a bound till role: SOAK_CLIENTS (8), SOAK_SECONDS (60)
soak:
	bash test/soak.sh

# Only the pg_regress suite (run as a non-root user after make install).
check-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

# Only the isolation suite (run as a non-root user after make install).
check-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
