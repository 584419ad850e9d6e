# The two commands of the course: `make demo` (set up, train, evaluate, plot, video) and
# `make test` (set up, lint, every test, the notebooks as committed, one in a real browser, the website
# built in quick mode). Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: setup browser demo test lab book clean

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

# The notebooks run as committed: the set-up cell of each turns on solutions/tooling/load_and_run.py, so every
# `%load ../solutions/x.py` cell also runs the file, and nbval executes the notebooks themselves in quick
# mode (COURSE_QUICK=1: tiny training budgets), with kernels that ignore front-end requests, as Colab's
# and VS Code's do. tests/test_browser.py runs notebook 1 in JupyterLab in Chromium (`make browser`).
# OMP_NUM_THREADS=1: the networks are small, and on a busy machine torch's extra threads made the
# notebooks ~6x slower. nbval runs two notebooks at a time (pytest-xdist), each whole in one worker
# (--dist loadscope keeps a notebook's cells together and in order, as nbval's README asks).
test: setup browser
	$(PY) -m ruff check .
	OMP_NUM_THREADS=1 $(PY) -m pytest
	OMP_NUM_THREADS=1 COURSE_QUICK=1 $(PY) -m pytest -n 2 --dist loadscope --nbval-lax -p no:cacheprovider notebooks

# Debian's Chromium and its WebDriver, for tests/test_browser.py: installed (as root) only when missing.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make browser: run as root, or apt-get install chromium chromium-driver"; exit 1; fi; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver

# The course as a website (book/build.py, Sphinx with MyST-NB): executes every notebook in full mode, or
# in quick mode with `make book QUICK=1`, caching each executed notebook under build/cache/ until it or
# solutions/ changes, and writes the site to build/book/ (open build/book/index.html).
book: setup
	$(PY) book/build.py $(if $(QUICK),--quick)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf build runs videos/*.mp4 .pytest_cache
