# The two commands of the course: `make demo` (set up, train, evaluate, plot, video) and
# `make test` (set up, lint, every test). Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: setup demo test lab clean

# torch first, from its CPU build (pip install torch==2.13.0); then the rest, whose torch range
# 2.13.0 already satisfies, so pip never pulls a multi-GB CUDA build.
$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

setup: $(INSTALLED)

demo: setup
	$(PY) -m solutions demo

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf build runs videos/*.mp4 .pytest_cache
