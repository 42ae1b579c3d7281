# One command each for a newcomer: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Test processes (pytest-xdist): the Asterisk tests run one at a time in one of them (tests/conftest.py).
TEST_PROCESSES ?= 2

.PHONY: demo test lint bench venv clean sandbox-up sandbox-down system-deps

# Bytecode is cached even where the environment says not to: the tests start `dialer` in a subprocess
# over a hundred times, and compiling the project's modules again cost each start 0.2 s.
export PYTHONDONTWRITEBYTECODE :=

# Debian packages the real peers need: Prometheus (metrics tests), espeak-ng and sox (sandbox audio),
# debootstrap (the Asterisk sandbox's root filesystem). Installed only when missing, only as root.
SYSTEM_TOOLS := prometheus:prometheus promtool:prometheus espeak-ng:espeak-ng sox:sox debootstrap:debootstrap

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system packages:$$missing (run as root to install)"; fi; fi

demo: $(STAMP) system-deps
	$(BIN)/python -m dialer.demo

test: $(STAMP) system-deps
	@# Build/start the Asterisk sandbox outside pytest's per-test timeout; the fixture reports failures.
	@asterisk/sandbox up || echo "Asterisk sandbox unavailable: the Asterisk tests will say why"
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ami compliance dialer cdr tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

sandbox-up:
	asterisk/sandbox up

sandbox-down:
	asterisk/sandbox down

clean:
	rm -rf $(VENV) build *.egg-info
