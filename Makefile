# Two entry points for a fresh machine (see README):
#   make run   - install into .venv, ingest the bundled demo catalog, serve the app
#   make test  - install with dev extras (+ Debian chromium for browser tests, postgresql for the
#                store's tests on Postgres), run every test
# Everything else is a helper of those two.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
SHOP    = $(VENV)/bin/shopassist
DATA   ?= data
HOST   ?= 127.0.0.1
PORT   ?= 7860
# Models ship as PyPI packages; nothing may reach a model hub.
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export ANONYMIZED_TELEMETRY=False

.PHONY: run test install install-dev browser postgres demo serve lint clean

# `make run` says what it is doing in one line per step; pip's and the tools' own output goes to
# $(LOG), shown (its last lines) only when a step fails.
LOG      = $(DATA)/logs/make.log
SHOW_LOG = { echo "  failed; the last lines of $(LOG):"; tail -n 40 $(LOG); exit 1; }

$(VENV)/bin/python:
	@mkdir -p $(dir $(LOG))
	@$(PYTHON) -m venv $(VENV) >>$(LOG) 2>&1 || $(SHOW_LOG)
	@$(PIP) install -q --upgrade pip >>$(LOG) 2>&1 || $(SHOW_LOG)

# torch==2.13.0 is pinned in pyproject: it is the CPU wheel on disk (an unpinned torch pulls CUDA).
# llama-cpp-python compiles from source the first time (~6 min); pip caches the wheel after.
# It is built for any AVX2 x86-64, not tuned to the build machine: a native build on a CPU with AMX
# runs the weights through llama.cpp's AMX backend, which crashed (SIGSEGV) on the first decode here.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
install: $(VENV)/bin/python
	@mkdir -p $(dir $(LOG)); echo "Installing shopassist (first time: ~6 min) …"
	@$(PIP) install -q -e '.[local-llm]' >>$(LOG) 2>&1 || $(SHOW_LOG)

install-dev: $(VENV)/bin/python
	@mkdir -p $(dir $(LOG)); echo "Installing shopassist with the dev extras (first time: ~6 min) …"
	@$(PIP) install -q -e '.[local-llm,hf-gguf,dp,dev]' >>$(LOG) 2>&1 || $(SHOW_LOG)

# Debian's chromium for the Playwright browser tests (never `playwright install`: no network for it).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Debian's PostgreSQL server binaries for the store's tests on Postgres (pytest starts its own
# throwaway server on loopback; nothing is started as a service). Without them those tests skip.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# Ingest is idempotent (a rerun costs seconds); the rating model is trained once, on the
# demo reviews (as measured in BENCHMARKS.md), and kept across runs; the stamp names the
# recipe (2: with the personal taste term), so a data dir trained by an older recipe retrains.
demo: install
	@echo "Ingesting the demo catalog …"
	@$(SHOP) --data-dir $(DATA) ingest demo >>$(LOG) 2>&1 || $(SHOW_LOG)
	@test -e $(DATA)/models/.demo-trained-2 || { echo "Training the rating model (first time only) …"; \
		$(SHOP) --data-dir $(DATA) ranker train --catalog --text-only-examples 0 --sentiment-examples 32 >>$(LOG) 2>&1 \
		|| $(SHOW_LOG); touch $(DATA)/models/.demo-trained-2; }

serve:
	@echo "Open http://$(HOST):$(PORT) (agent console /agent)"
	@$(SHOP) --data-dir $(DATA) serve --host $(HOST) --port $(PORT)

run: demo serve

# the rules are in pyproject's [tool.ruff]; `ruff check` only (other code is not reformatted)
lint: install-dev
	$(VENV)/bin/ruff check .

# the docstring examples run too (pyproject: --doctest-modules over the packages)
test: install-dev browser postgres lint
	$(PY) -m pytest -q -p no:cacheprovider --timeout 900

clean:
	rm -rf $(VENV) $(DATA) artifacts .pytest_cache
