# pg_loyalty: loyalty and promotion engine for PostgreSQL (PGXS build)

EXTENSION   = pg_loyalty
EXTVERSION  = 0.1
MODULE_big  = pg_loyalty
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script is assembled from one source file per concern.
SQL_SOURCES = $(sort $(wildcard src/sql/*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built),$(wildcard $(EXTENSION)--*--*.sql))

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
EXTRA_CLEAN  = test/results .test

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild every object when any header changes.
$(OBJS): $(wildcard src/*.h)

$(DATA_built): $(SQL_SOURCES)
	cat $^ > $@

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
