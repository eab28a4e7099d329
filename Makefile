# Two commands on a fresh machine: `make run` and `make test`. Each sets itself up first.
SHELL := /bin/bash
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test lint typecheck contracts pytest bench bench-quick chaos chaos-quick screenshots clean

setup:
	@bash scripts/bootstrap.sh

run: setup
	@$(PY) -m scripts.run_dev

lint: setup
	@echo "== ruff"
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

typecheck: setup
	@echo "== mypy"
	@.venv/bin/mypy

contracts: setup
	@echo "== import-linter"
	@.venv/bin/lint-imports --no-cache

pytest: setup
	@echo "== pytest"
	@$(PY) -m pytest -q -p no:cacheprovider

test: lint typecheck contracts pytest

bench: setup
	@$(PY) -m bench

bench-quick: setup
	@$(PY) -m bench --quick

chaos: setup
	@$(PY) -m chaos

chaos-quick: setup
	@$(PY) -m chaos --quick

screenshots: setup
	@$(PY) -m scripts.screenshots
	@$(PY) -m scripts.console_screenshots

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache
