# The two commands a new user runs: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APP_STAMP := $(VENV)/.installed-app
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: demo test bench bench-large screenshots lint clean

$(APP_STAMP): pyproject.toml  # what the app needs, and nothing more
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): $(APP_STAMP)  # the test tools and the reference libraries, only for the tests
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(APP_STAMP)  ## serve the dashboard on the demo data at http://127.0.0.1:8501 (another port: make demo PORT=8600)
	$(BIN)/errorscope demo --port $(PORT)

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
