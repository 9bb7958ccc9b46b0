# Two commands on a fresh machine: `make run` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test bench lint setup clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Load the bundled Chongqing data into a fresh SQLite file, forecast against the 1-3 a year target,
# and write the report.
run: $(STAMP)
	rm -f build/chongqing.sqlite
	mkdir -p build
	$(BIN)/pipecast --db build/chongqing.sqlite load-bundled chongqing
	$(BIN)/pipecast --db build/chongqing.sqlite forecast --target 2027-2030:1-3 --years 2025-2031
	$(BIN)/pipecast --db build/chongqing.sqlite report --target 2027-2030:1-3 --years 2025-2031 --out build/report.html
	@echo "Report written to build/report.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
