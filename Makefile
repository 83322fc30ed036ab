# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
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

## make run: build the site from posts/ and serve it on http://127.0.0.1:8000 until Ctrl-C
run: $(STAMP)
	$(BIN)/publisher serve --port 8000

## make test: the whole suite, browser tests included
test: $(STAMP) browser
	$(BIN)/python -m pytest -q

## Debian's Chromium for the browser tests (installed once, as root, if missing)
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; \
		fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check publisher tests
	$(BIN)/ruff format --check publisher tests

clean:
	rm -rf $(VENV) public .preview .cache
