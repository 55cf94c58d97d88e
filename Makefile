# Two entry points for a fresh machine (see README):
#   make run   - install into .venv, ingest the bundled demo catalog, serve the app
#   make test  - install with dev extras (+ Debian chromium for browser tests), run every test
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

.PHONY: run test install install-dev browser demo serve lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch==2.13.0 is pinned in pyproject: it is the CPU wheel on disk (an unpinned torch pulls CUDA).
# llama-cpp-python compiles from source the first time (~6 min); pip caches the wheel after.
install: $(VENV)/bin/python
	$(PIP) install -q -e '.[local-llm]'

install-dev: $(VENV)/bin/python
	$(PIP) install -q -e '.[local-llm,hf-gguf,dp,dev]'

# Debian's chromium for the Playwright browser tests (never `playwright install`: no network for it).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Ingest is idempotent (a rerun costs seconds); the rating model is trained once, on the
# demo reviews (as measured in BENCHMARKS.md), and kept across runs; the stamp names the
# recipe (2: with the personal taste term), so a data dir trained by an older recipe retrains.
demo: install
	$(SHOP) --data-dir $(DATA) ingest demo
	@test -e $(DATA)/models/.demo-trained-2 || ( $(SHOP) --data-dir $(DATA) ranker train --catalog \
		--text-only-examples 0 --sentiment-examples 32 && touch $(DATA)/models/.demo-trained-2 )

serve:
	$(SHOP) --data-dir $(DATA) serve --host $(HOST) --port $(PORT)

run: demo serve

test: install-dev browser
	$(PY) -m pytest -q -p no:cacheprovider --timeout 900

clean:
	rm -rf $(VENV) $(DATA) artifacts .pytest_cache
