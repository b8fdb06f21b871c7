# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Deliberate thread counts: default pools oversubscribe a 2-core machine (see STACK.md).
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export MPLCONFIGDIR ?= $(CURDIR)/.cache/matplotlib
export XDG_CACHE_HOME ?= $(CURDIR)/.cache

.PHONY: demo test test-fast lint bench bench-images clean browser postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: a CPU wheel lies on disk; a looser pin pulls a multi-GB CUDA build.
$(VENV)/.base: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(BIN)/pip install --quiet -e '.[dev,keras,dask,track]'
	touch $@

demo: $(VENV)/.base
	$(BIN)/modelworks demo --out modelworks-out/demo

# The report's browser test drives Debian's chromium (Playwright cannot download browsers here).
# Installed when missing and possible; the test skips, saying why, where it cannot be.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser test will skip"; \
	  else echo "chromium absent and not installable here (needs root and apt-get): the browser test will skip"; fi; }

# The PostgreSQL tests start a private server from Debian's binaries (their own cluster, on a
# Unix socket in a temporary folder). Installed when missing and possible; they skip, saying why,
# where it cannot be. The package's own cluster is left as Debian sets it up, and never used.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "postgresql could not be installed: the PostgreSQL tests will skip"; \
	  else echo "postgresql absent and not installable here (needs root and apt-get): the PostgreSQL tests will skip"; fi; }

# Two pytest workers (pytest-xdist), one per core: most tests run on one thread (a fit, a process
# start, a request), so two at a time nearly halve the wall time. --dist loadfile keeps a file's
# tests, and its module fixtures, in one worker.
PYTEST_WORKERS = -n 2 --dist loadfile

test: $(VENV)/.dev browser postgres
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS) --durations=15

# The inner loop: unit tests only, the few marked slow left out (under three minutes); `make test`
# runs everything.
test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS) -m "not slow" tests/unit

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(VENV)/.base
	$(BIN)/python benchmarks/shared_datasets.py

# Fashion-MNIST comes from Debian's dataset-fashion-mnist (never from the network at run time).
bench-images: $(VENV)/.base
	@test -d /usr/share/datasets/fashion-mnist || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	  else echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist', then make bench-images"; exit 1; fi; }
	OMP_NUM_THREADS=$$(nproc) $(BIN)/python benchmarks/images.py

clean:
	rm -rf $(VENV) .cache modelworks-out
