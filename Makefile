# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HASH := $(shell cat setup.cfg pyproject.toml examples/autoreply/setup.cfg $(sort $(wildcard examples/autoreply/pyproject.toml examples/autoreply/wamulti_autoreply/*.py examples/autoreply/wamulti_autoreply/sql/*/*.sql)) | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.run-$(HASH)
TEST_STAMP := $(VENV)/.test-$(HASH)
PYTEST_ARGS ?=
# axe-core for the accessibility tests, exactly as package-lock.json pins it.
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: run demo test test-quick install install-test install-node chromium bench migrate clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# What the server needs, and nothing else.
$(RUN_STAMP): setup.cfg pyproject.toml | $(PY)
	@echo "Installing wamulti into $(VENV) (the first time takes a minute)..."
	$(PY) -m pip install -q -e .
	rm -f $(VENV)/.run-*
	touch $@

# The server, plus what the tests and the benchmarks need.
$(TEST_STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) -m pip install -q ./examples/autoreply
	rm -f $(VENV)/.test-* $(VENV)/.run-*
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)

# The test tools from npm (axe-core, injected by tests/test_webui_axe.py into each page); Debian's
# node and npm are installed once when missing. A test run never goes on without them.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

install-node: $(NODE_STAMP)

# Debian's chromium (and ffmpeg, for voice notes), installed once when missing; pyppeteer never
# downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium ffmpeg; }

run: install
	$(VENV)/bin/wamulti serve

# The server beside the WhatsApp simulator: try everything without a phone.
demo: install chromium
	$(PY) -m tests.fakewa.demo

migrate: install
	$(VENV)/bin/wamulti migrate

test: install-test install-node chromium
	PYPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 $(PY) -m pytest $(PYTEST_ARGS)

# While working: everything but the tests that start Chromium or take long.
test-quick: install-test
	PYPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 $(PY) -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

bench: install-test chromium
	$(PY) -m bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build dist
