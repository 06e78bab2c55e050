# The README's commands. A fresh machine needs Python 3.11+, and Go or the Dapr CLI.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STORE  ?= sqlite
PORT   ?= 8000
RETAIN ?=
WORKDIR ?=

.PHONY: run test unit integration browser bench lint audit runtime redis postgres chromium promtool deps clean \
        bench-day replay record-histories \
        cluster cluster-env cluster-down e2e

deps: $(VENV)/.installed

# The app and tools run from the repository's root, so only the pinned dependencies are installed.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==26.3
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	@touch $@

runtime: deps  ## find or build daprd, placement and scheduler
	@$(PY) -m tools.dapr_runtime >/dev/null

redis:  ## the tests' state store: Debian's redis-server
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is needed for the tests: sudo apt-get install redis-server"; exit 1; fi; }

chromium:  ## the browser tests' browser: Debian's chromium (Playwright downloads none)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is needed for the browser tests: sudo apt-get install chromium"; exit 1; fi; }

postgres:  ## the production store, in the tests and `make run STORE=postgres`: Debian's PostgreSQL
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL is needed: sudo apt-get install postgresql"; exit 1; fi; }

promtool: deps  ## the alert rules' checker, unpacked from Debian's prometheus package (no server)
	@$(PY) -m tools.promtool >/dev/null

run: runtime  ## the service at http://localhost:$(PORT) on a local sidecar (STORE=sqlite|redis|postgres)
	@if [ "$(STORE)" = redis ] || [ "$(STORE)" = postgres ]; then \
	  $(MAKE) --no-print-directory $(STORE); fi
	$(PY) -m tools.run --store $(STORE) --port $(PORT) $(if $(RETAIN),--retain $(RETAIN)) \
	  $(if $(WORKDIR),--workdir $(WORKDIR))

lint: deps
	$(PY) -m ruff check app tools tests
	$(PY) -m mypy

audit: deps  ## pinned Python dependencies against the package index's known vulnerabilities
	$(PY) -m tools.audit $(if $(STRICT),--strict)

test: runtime redis postgres chromium promtool lint  ## everything: lint, unit, deploy checks, integration, browser
	$(PY) -m pytest

unit: deps
	$(PY) -m pytest tests/unit

integration: runtime redis postgres
	$(PY) -m pytest tests/integration

browser: runtime redis chromium  ## the pages in Debian's chromium, on the real sidecar
	$(PY) -m pytest tests/browser

bench: runtime redis postgres  ## figures, not pass/fail: see docs/benchmarks.md
	$(PY) -m tools.bench
	$(PY) -m tools.bench.day

bench-day: runtime redis postgres  ## a day of purchases on each store: docs/benchmarks.md
	$(PY) -m tools.bench.day

replay: deps  ## would this code replay every unfinished instance of SERVICE? (KEY= an API key)
	$(PY) -m tools.replay $(if $(SERVICE),--service $(SERVICE)) $(if $(KEY),--key $(KEY))

record-histories: runtime  ## each workflow branch's history from the real runtime, into tests/histories/
	$(PY) -m tools.record_histories

clean:
	rm -rf $(VENV) .run

# A local Kubernetes cluster for `tilt up`: the current context when it is a local cluster the
# Tiltfile allows, else (Linux, root) one built here once and booted (tools/cluster/).
cluster:  ## a cluster for `tilt up`; prints the shell lines that point a shell at it
	@$(PYTHON) -m tools.cluster up

cluster-env:  ## only those lines: eval "$$(make -s cluster-env)"
	@$(PYTHON) -m tools.cluster env

cluster-down:  ## stop the cluster this machine runs, undoing every change it made
	@$(PYTHON) -m tools.cluster down

e2e: deps cluster  ## tilt ci on the cluster, checks through its port forwards, faults, tilt down
	@eval "$$($(PYTHON) -m tools.cluster env)" && $(PY) -m pytest -m e2e tests/e2e
