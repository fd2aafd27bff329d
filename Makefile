# The two commands of the README. Both create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test bench install install-test install-bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt

install-bench: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-bench.txt
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || \
		{ echo "make bench needs wrk: apt-get install wrk (as root)"; exit 1; }

# Serve on http://127.0.0.1:5000 with the embedded defaults: SQLite in instance/, the on-host
# file cache, embedded flags, and the demo users on first run.
run: install
	$(BIN)/flask db upgrade
	@if [ ! -f instance/.demo-seeded ]; then $(BIN)/flask demo seed && touch instance/.demo-seeded; fi
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# The whole suite. Services that are missing skip locally and fail under CI=true.
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The app against its floor on PostgreSQL and Redis (bench/run.py): builds its own
# databases, prints the table and writes bench/RESULTS-latest.md and bench/latency-by-size.png.
bench: install-bench
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Recompile the hash-checked locks from the direct dependencies in requirements*.in (needs
# PyPI). Commit the six files together.
LOCK_VENV := .venv-lock
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
	--no-emit-find-links
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements.txt requirements.in
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements-test.txt requirements-test.in
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements-bench.txt requirements-bench.in

clean:
	rm -rf $(VENV) $(LOCK_VENV) instance .pytest_cache
