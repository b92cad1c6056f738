# Everything a fresh clone needs: `make chat` to talk to the bot, `make test` to run the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
RUNSTAMP := $(VENV)/.installed-platforms
BROWSERSTAMP := $(VENV)/.installed-browser

.PHONY: chat desk run web test test-browser lint format bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(RUNSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[telegram,discord]'
	touch $@ $(STAMP)

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP) $(RUNSTAMP)

$(BROWSERSTAMP): $(DEVSTAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,browser]'
	touch $@

chat: $(STAMP)
	$(BIN)/kefu chat

desk: $(STAMP)
	$(BIN)/kefu desk

# Telegram and Discord: installs their libraries, then serves what the config enables
# (KEFU_CONFIG, or CONFIG=kefu.toml).
CONFIG ?=
run: $(RUNSTAMP)
	$(BIN)/kefu run $(if $(CONFIG),--config $(CONFIG),)

# The web desk on [web] listen:port (default http://127.0.0.1:8080); first add an account:
# .venv/bin/kefu web add-user NAME
web: $(STAMP)
	$(BIN)/kefu web $(if $(CONFIG),--config $(CONFIG),)

test: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# Real-browser tests of the web desk: Playwright drives Debian's chromium (apt-get install -y
# chromium fonts-noto-cjk); they also refresh docs/screenshots/. Not part of `make test`.
test-browser: $(BROWSERSTAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests_browser

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(DEVSTAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(DEVSTAMP)
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) kefu-data .pytest_cache .mypy_cache .ruff_cache
