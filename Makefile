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
	$(PY) -m solutions train --algo sac --env InvertedPendulum-v5 --steps 20000 --seed 0 \
		--target-return 950 --eval-every 1000 --out runs/demo --overwrite

# The notebooks run as a student runs them: each `%load ../solutions/x.py` cell is first expanded
# into the file's text (tests/notebook_expansion.py, into build/notebooks), then nbval executes the
# copies in quick mode (COURSE_QUICK=1: tiny training budgets). PYTHONPATH makes the kernel, whose
# working directory is build/notebooks, import `solutions` from this checkout. OMP_NUM_THREADS=1:
# the networks are small, and on a busy machine torch's extra threads made the notebooks ~6x slower.
test: setup
	$(PY) -m ruff check .
	OMP_NUM_THREADS=1 $(PY) -m pytest
	rm -rf build/notebooks
	$(PY) tests/notebook_expansion.py build/notebooks notebooks/*.ipynb
	OMP_NUM_THREADS=1 COURSE_QUICK=1 PYTHONPATH=$(CURDIR) $(PY) -m pytest --nbval-lax -p no:cacheprovider \
		build/notebooks

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf build runs videos/*.mp4 .pytest_cache
