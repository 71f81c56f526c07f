# The two commands a newcomer needs are documented in README.md.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test install speed demo site clean

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project metadata changes.
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VPY) -m pytest

speed: $(STAMP)
	$(VPY) scripts/engine_speed.py

# The README's first command: benchmark the last commits with asv, gate HEAD~1 -> HEAD,
# build the site. Minutes, with progress; scripts/demo.sh says what each step runs.
demo: $(STAMP)
	bash scripts/demo.sh

# The history site from a results directory (default: what `make demo` wrote).
SITE_RESULTS ?= .asv/results/ci-fast-local
SITE_OUT ?= build/site
site: $(STAMP)
	$(VENV)/bin/benchwatch site build --results-dir $(SITE_RESULTS) --repo . --out $(SITE_OUT)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
