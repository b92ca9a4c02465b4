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

## Run every benchmark in bench/, one after the other (the list is in bench/run_all.py), and write
## bench/results.md: each figure next to its same-run baseline, the ratio, the target and whether it
## is met, and the machine. FANOUT_MILLION=1 adds the fan-out at 10^6; BENCH_ARGS passes more options.
bench: $(STAMP)
	$(PY) bench/run_all.py $(if $(filter-out 0 no false,$(FANOUT_MILLION)),--million) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .noticeflow .pytest_cache
