# Two commands matter: `make demo` and `make test`. Both bootstrap .venv from the lock file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Spark engine's extra (DESIGN §8.2: dbt-spark, PySpark, half a gigabyte) has its own lock,
# the main lock plus four packages: `make test` and `make bench ENGINE=spark` install it,
# `make demo` does not wait for it.
SPARK_STAMP := $(VENV)/.installed-spark
export DAGSTER_HOME ?= $(CURDIR)/warehouse/.dagster

.PHONY: demo test run dagster serve docs bench lint lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$$(grep -E '^uv==' requirements.lock)"
	@# Byte-compile at install: where PYTHONDONTWRITEBYTECODE is set every process (each dbt
	@# call, each `absence run`) would otherwise compile the whole stack from source again.
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -c "from pipelines.config import Settings; from pipelines.dbt_project import prepare_manifest; prepare_manifest(Settings.from_env())"
	touch $(STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements-spark.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(SPARK_STAMP)

demo: $(STAMP)
	$(BIN)/absence demo

test: $(SPARK_STAMP)
	@# The browser test drives Debian's chromium, the daemon test Debian's PostgreSQL server,
	@# the pull tests OpenSSH's sshd; install them when missing and we are root.
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1; } || echo "chromium not installed: the browser test will be skipped"
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
	  >/dev/null 2>&1; } || echo "postgresql not installed: the daemon test will be skipped"
	@command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	   openssh-server) >/dev/null 2>&1; } || echo "sshd not installed: SFTP tests will be skipped"
	@# Three workers on two cores, so that a worker waiting on a subprocess or a server leaves
	@# its core to another (a small gain: the cores are mostly busy, README "Tests"). A test
	@# file stays on one worker, so a module shares its
	@# one built warehouse (module-scoped fixtures); the longest files start first
	@# (tests/conftest.py), in that order (--no-loadscope-reorder).
	$(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder

run: $(STAMP)
	$(BIN)/absence run

dagster: $(STAMP)
	mkdir -p $(DAGSTER_HOME) && cp -n config/dagster.yaml $(DAGSTER_HOME)/dagster.yaml || true
	$(BIN)/dagster dev

# The production pair (dagster-daemon + dagster-webserver) on PostgreSQL: README, Operations.
serve: $(STAMP)
	deploy/serve

# The dbt docs site, static and offline, into $ABSENCE_WAREHOUSE/docs/dbt/index.html.
docs: $(STAMP)
	$(BIN)/python -m pipelines.dbt_docs

bench: $(if $(filter spark,$(ENGINE)),$(SPARK_STAMP),$(STAMP))
	$(BIN)/python benchmarks/bench.py --scale $(or $(SCALE),1) --engine $(or $(ENGINE),duckdb)

# Python, then the dbt SQL compiled for each engine and linted in its dialect (sqlfluff).
lint: $(SPARK_STAMP)
	$(BIN)/ruff check pipelines schemas quality tests benchmarks
	$(BIN)/python -m pipelines.sql_lint

# Re-resolve the pinned dependency set (needs the package index).
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	echo "uv==$$($(BIN)/uv --version | cut -d' ' -f2)" >> requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 \
	    -c requirements.lock -o requirements-spark.lock
	echo "uv==$$($(BIN)/uv --version | cut -d' ' -f2)" >> requirements-spark.lock

clean:
	rm -rf $(VENV) warehouse/absence.duckdb warehouse/published warehouse/canonical \
	       warehouse/ledger warehouse/quarantine dbt_project/target
