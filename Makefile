# critmin: the two commands of the quick start are `make demo` and `make test`.
# Both create .venv and install what they need, so they work on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.critmin-installed
OUT ?= out
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test lint typecheck unit bench data docs clean browser aot

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@echo "compiling the solver's kernels (Numba, once per machine: about a minute)"
	$(BIN)/python -c "from critmin.model import warm_up; warm_up(); from critmin.model.chain_solver import warm_up_chains; warm_up_chains()"
	@echo "compiling the kernels ahead of time: markets, chains, Monte Carlo draws (numba.pycc and the C compiler: about a minute)"
	$(BIN)/python -m critmin.model.aot_build
	$(BIN)/critmin uncertainty examples/01_lithium_floor_levy.toml -n 20 --json > /dev/null
	touch $(STAMP)

setup: $(STAMP)

## aot: (re)build the ahead-of-time compiled kernels when they are stale (after an edit of
## critmin/model/kernels.py or chain_kernels.py, a new Numba or NumPy; a no-op when current; demo,
## unit and bench run it), and byte-compile the package's modules (a no-op when current)
## (until then the solver runs through Numba's JIT, with the same results)
aot: setup
	$(BIN)/python -m critmin.model.aot_build
	@echo "byte-compiling critmin's modules (python -m compileall: every command then starts without compiling them, even where PYTHONDONTWRITEBYTECODE is set)"
	$(BIN)/python -m compileall -q src

## demo: set up, verify the bundled data, assess the zone, simulate a floor on one market and
## on the linked lithium chain, and write the offline report
demo: aot
	@mkdir -p $(OUT)
	$(BIN)/critmin data check
	$(BIN)/critmin assess --members USA,CAN,AUS,JPN,KOR,EU27 --watch CHN
	$(BIN)/critmin simulate examples/01_lithium_floor_levy.toml --out $(OUT)/01_lithium_floor_levy.json --xlsx $(OUT)/01_lithium_floor_levy.xlsx
	$(BIN)/critmin simulate examples/chains/lithium_floor_ore_and_refined.toml --out $(OUT)/lithium_chain.json
	$(BIN)/critmin report examples/01_lithium_floor_levy.toml -o $(OUT)/01_lithium_floor_levy.html
	@echo "results in $(OUT)/: 01_lithium_floor_levy.json, .xlsx and .html (open it in a browser), lithium_chain.json"

## test: set up and run the whole suite (ruff, mypy, pytest)
test: setup lint typecheck unit

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-logo

typecheck: setup
	$(BIN)/mypy

unit: aot browser
	$(BIN)/pytest -q

## browser: Debian's chromium for the Playwright tests (installed only when absent)
browser:
	@test -x /usr/bin/chromium || (echo "make test: installing chromium from Debian's packages" \
		"(apt-get$(if $(SUDO), with sudo,)) for the browser tests of the dashboard" && \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

bench: aot
	$(BIN)/python benchmarks/bench_solver.py

## data: rebuild the bundled reference dataset from ../shared/data
data: setup
	$(BIN)/critmin data build --source ../shared/data
	$(BIN)/critmin data schema --markdown > docs/data.md
	$(BIN)/critmin data check --source ../shared/data

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .ruff_cache .pytest_cache
