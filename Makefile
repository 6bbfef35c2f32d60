# Two entry points (see README): `make example` builds the example blog, `make test` runs every test.
# Both create the virtual environment .venv on first use, so they work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test,pelican,tfhub,ann

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

.PHONY: setup test example clean
setup: $(VENV)/.installed-$(EXTRAS)

test: setup
	$(PY) -m pytest

example:
	$(MAKE) setup EXTRAS=pelican
	cd site_example && ../$(PY) -m pelican content -s pelicanconf.py -o output
	@echo "The example blog is in site_example/output/ (open site_example/output/index.html)"

clean:
	rm -rf $(VENV) site_example/output site_example/.postkin-cache
