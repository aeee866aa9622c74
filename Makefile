# Two commands do all set-up: `make run` (install, migrate, seed the demo city, serve) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-test catalog lint bench bench-load bench-hostile clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: setup.cfg pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

catalog: $(VENV)/.installed
	$(BIN)/python -m crm.catalog

run: install catalog
	$(FLASK) crm init
	$(FLASK) crm seed-demo
	@echo
	@echo "  招商客商管理平台 — http://$(HOST):$(PORT)/"
	@$(FLASK) crm demo-logins
	@echo
	$(FLASK) crm serve --host $(HOST) --port $(PORT)

test: install-test catalog
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

# Benchmarks (numbers go to docs/benchmarks.md); BENCH_DOCS / BENCH_ROWS scale them.
BENCH_DOCS ?= 20000
BENCH_ROWS ?= 100000
bench: install catalog
	$(BIN)/python bench/search.py --leads $(BENCH_DOCS)
	$(BIN)/python bench/import_bench.py --rows $(BENCH_ROWS) --format csv
	$(BIN)/python bench/import_bench.py --rows $(BENCH_ROWS) --format xlsx

# 50 simulated staff for 60 s against `crm serve` (SQLite) and gunicorn + a scratch PostgreSQL database.
bench-load: install catalog
	$(BIN)/python bench/load.py

# Other users' latency while hostile workbooks are uploaded and refused (issue 13, item 10): ~3 minutes.
bench-hostile: install catalog
	$(BIN)/python bench/hostile_upload.py --seconds 20

clean:
	rm -rf $(VENV) build .pytest_cache
