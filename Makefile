# The two commands of the quickstart; both set up .venv themselves and are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean clean-data

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/paperbot run

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/store_bench.py

# Build artefacts only: the store in data/ holds imports and delivery history.
clean:
	rm -rf $(VENV) build *.egg-info

# Deletes the default store (data/paperbot.db) and everything in data/; asked for by name only.
clean-data:
	rm -rf data
