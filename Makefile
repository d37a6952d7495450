# The two commands a new user runs: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-large screenshots lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)  ## serve the dashboard on the demo data at http://127.0.0.1:8501
	$(BIN)/errorscope demo

test: $(STAMP)  ## the whole test suite (browser tests need /usr/bin/chromium)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check analysis app tests bench demo_data docs

bench: $(STAMP)  ## benchmarks on synthetic 1M and 10M-row files; writes bench/RESULTS.md, DASHBOARD.md, COMPARE.md
	$(BIN)/python bench/run.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/bench_compare.py

bench-large: $(STAMP)  ## adds a 100M-row Parquet file
	$(BIN)/python bench/run.py --large
	$(BIN)/python bench/dashboard.py

screenshots: $(STAMP)  ## a screenshot of each page of the app on the demo data, into docs/
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
