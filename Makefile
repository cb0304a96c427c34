# Everything runs from a project-local virtualenv, made on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench bench-deps reliability browser netns mqtt-broker clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo's address: `make run LISTEN=127.0.0.1:9090` (or 0.0.0.0:8080 for the LAN), and
# its database (its key and admin password go beside it).
LISTEN ?= 127.0.0.1:8080
DEMO_DB ?= var/demo/gem-envoy.db

run: install
	$(BIN)/gem-envoy demo --listen $(LISTEN) --db $(DEMO_DB)

# Most tests wait on timers and sockets, not on the CPU (with two workers the suite keeps less
# than one core of two busy): TEST_WORKERS xdist processes (0 runs them all in this one), each
# handed whole files so that a file's servers start once, the slowest files first (see
# tests/conftest.py). A failure is reported as without xdist, under the worker's name.
TEST_WORKERS ?= 3

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Debian's Chromium, for the web page's browser tests (without it they skip, saying so).
# Never `playwright install`: that downloads a browser build of its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium

# iproute2's `ip`, for the mDNS tests' network namespaces (they also need root; without
# either they skip, saying so).
netns:
	@command -v ip >/dev/null 2>&1 || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq iproute2 >/dev/null; }
	@command -v ip

# Debian's mosquitto, for the MQTT bridge's tests: each test starts its own on a free port
# of 127.0.0.1 (without it they skip, saying so). No service is set up or needed.
mqtt-broker:
	@PATH="$$PATH:/usr/sbin:/sbin"; command -v mosquitto >/dev/null 2>&1 || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq mosquitto >/dev/null; }
	@PATH="$$PATH:/usr/sbin:/sbin" command -v mosquitto

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src tests

# The full fault matrix (every simulator fault) and 30 SIGKILLs; make test runs shorter ones.
reliability: install
	GEM_ENVOY_RELIABILITY=full GEM_ENVOY_KILLS=30 $(BIN)/python -m pytest -q -s \
		tests/reliability tests/test_crash_safety.py

# The benchmark's own extra (pyenphase, pyinstrument), installed once beside the test extra.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench-deps: $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build var .pytest_cache .mypy_cache .ruff_cache
