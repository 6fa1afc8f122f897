# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: run test install chromium bench migrate clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Debian's chromium, installed once when missing (pyppeteer never downloads a browser of its own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

run: install
	$(VENV)/bin/wamulti serve

migrate: install
	$(VENV)/bin/wamulti migrate

test: install chromium
	PYPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 $(PY) -m pytest $(PYTEST_ARGS)

bench: install chromium
	$(PY) -m bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
