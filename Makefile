# noticeflow — every target creates the virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test venv demo demo-ledger dev bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Run the whole test suite (unit, workflow, integration, PostgreSQL).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## The main job: the embedded stack (Temporal dev server + UI, worker, API, mail sink) runs a sample
## event through determination and its notices; the ledger is verified and exported.
demo: $(STAMP)
	NOTICEFLOW_LOG_LEVEL=$${NOTICEFLOW_LOG_LEVEL:-ERROR} $(VENV)/bin/noticeflow demo

## The audit ledger on its own: record, sign, verify, export, check the bundle offline.
demo-ledger: $(STAMP)
	deploy/demo-ledger.sh

## The embedded stack (Temporal dev server + UI, codec server, worker, API) until Ctrl-C.
dev: $(STAMP)
	$(VENV)/bin/noticeflow dev up

## Run the benchmarks in bench/ (each prints its ratio to a baseline measured in the same run).
bench: $(STAMP)
	$(PY) bench/ledger_bench.py
	$(PY) bench/rules_bench.py
	$(PY) bench/workflow_bench.py
	$(PY) bench/fanout_bench.py
	$(PY) bench/cli_startup.py
	$(PY) bench/determination_latency.py

clean:
	rm -rf $(VENV) .noticeflow .pytest_cache
