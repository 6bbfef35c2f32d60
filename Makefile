# Two entry points (see README): `make example` builds the example blog, `make test` runs every check
# (lint, types, the whole test suite). Both create the virtual environment .venv on first use, so they
# work on a fresh machine. `make test-fast` is the development loop: lint + the tests not marked slow.
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test,pelican,tfhub,ann,readers,report,distributed

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

.PHONY: setup lint test test-fast example clean
setup: $(VENV)/.installed-$(EXTRAS)

lint: setup
	$(VENV)/bin/ruff check plugin tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

test-fast: lint
	$(PY) -m pytest -m "not slow"

example:
	$(MAKE) setup EXTRAS=pelican
	cd site_example && ../$(PY) -m pelican content -s pelicanconf.py -o output
	@echo "The example blog is in site_example/output/ (open site_example/output/index.html)"

clean:
	rm -rf $(VENV) site_example/output site_example/.postkin-cache
