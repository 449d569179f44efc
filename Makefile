# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ddbsim run scenarios/az_outage.py --seed 1

# Tests run on every core; a file's tests stay on one worker, so its module
# fixtures are built once.
test: $(STAMP)
	$(BIN)/pytest -q -n auto --dist loadfile

test-all: $(STAMP)
	$(BIN)/pytest -q -m '' -n auto --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/nines.py

lint: $(STAMP)
	$(BIN)/ruff check ddbsim tests bench scenarios
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
