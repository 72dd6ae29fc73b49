# Developer entry points. The README's two set-up commands do not need make.
PY ?= .venv/bin/python

.PHONY: test lint format bench tmux-check

test:
	$(PY) -m pytest

lint:
	$(PY) -m ruff check shopassist tests benchmarks
	$(PY) -m ruff format --check shopassist tests benchmarks
	$(PY) -m mypy shopassist

format:
	$(PY) -m ruff format shopassist tests benchmarks
	$(PY) -m ruff check --fix shopassist tests benchmarks

bench:
	$(PY) benchmarks/run.py

tmux-check:
	bash scripts/tmux_check.sh
