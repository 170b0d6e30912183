# One command for the tests (`make test`), one for the whole PayPal flow (`make demo`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck pytest bench clean install demo browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

# The browser tests need Debian's Chromium: installed here where the machine allows (root, apt).
browser:
	@scripts/ensure-chromium

test: lint typecheck browser pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

demo: $(STAMP)
	$(BIN)/axepta demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
