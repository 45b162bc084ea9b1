# The two commands of the quickstart; both set up .venv themselves and are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Both install every extra ([all]: the Slack, Discord and LLM clients); tests also need [test].
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench clean clean-data

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/paperbot run

# Lint and types first: any finding fails the target before a test runs.
LINTED := bot store adapters tests benchmarks

test: $(TEST_STAMP)
	$(BIN)/python -m ruff check $(LINTED)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/store_bench.py

# Build artefacts only: the store in data/ holds imports and delivery history.
clean:
	rm -rf $(VENV) build *.egg-info

# Deletes the default store (data/paperbot.db) and everything in data/; asked for by name only.
clean-data:
	rm -rf data
