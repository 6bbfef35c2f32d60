# Two entry points (see README): `make example` builds the example blog, `make test` runs every check
# (lint, types, the whole test suite). Both create the virtual environment .venv on first use, so they
# work on a fresh machine. `make test-fast` is the development loop: lint + the tests not marked slow.
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test,pelican,tfhub,ann,readers,report,mkdocs,eleventy,astro,distributed

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

.PHONY: setup lint test test-fast example example-hugo example-mkdocs example-eleventy example-astro example-jekyll clean
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
	@echo "The example blog is in site_example/output/ (open site_example/output/index.html; for Recommended for you serve it: python3 -m http.server -d site_example/output)"

# Hugo: postkin writes site_example/hugo/data/postkin/, then Hugo builds site_example/hugo/public/.
example-hugo:
	$(MAKE) setup EXTRAS=hugo
	$(VENV)/bin/postkin build site_example/hugo
	cd site_example/hugo && ../../$(VENV)/bin/hugo --quiet
	@echo "The Hugo example is in site_example/hugo/public/ (served below /field-notes/: cd site_example/hugo && ../../$(VENV)/bin/hugo server)"

# The MkDocs example: a Material for MkDocs blog with the postkin plugin (site_example/mkdocs/).
example-mkdocs:
	$(MAKE) setup EXTRAS=mkdocs
	cd site_example/mkdocs && ../../$(PY) -m mkdocs build --strict
	@echo "The MkDocs example is in site_example/mkdocs/site/ (or: cd site_example/mkdocs && ../../$(VENV)/bin/mkdocs serve)"

# Eleventy and Astro examples: npm installs the generator pinned by the example's package-lock.json, postkin
# writes the data the templates read, then the generator builds the site.
example-eleventy:
	$(MAKE) setup EXTRAS=eleventy
	cd site_example/eleventy && { [ -d node_modules/@11ty/eleventy ] || npm ci --no-audit --no-fund; } \
		&& ../../$(VENV)/bin/postkin build . && ./node_modules/.bin/eleventy
	@echo "The Eleventy example is in site_example/eleventy/_site/ (served below /field-notes/)"

example-astro:
	$(MAKE) setup EXTRAS=astro
	cd site_example/astro && { [ -d node_modules/astro ] || npm ci --no-audit --no-fund; } \
		&& ../../$(VENV)/bin/postkin build . && ASTRO_TELEMETRY_DISABLED=1 ./node_modules/.bin/astro build
	@echo "The Astro example is in site_example/astro/dist/ (served below /field-notes/)"

# jekyll: postkin writes site_example/jekyll/_data/postkin/, then Jekyll builds the site (Debian: apt-get
# install jekyll; no theme gem or plugin needed).
example-jekyll:
	@command -v jekyll >/dev/null || { echo "jekyll not found: apt-get install -y --no-install-recommends jekyll"; exit 1; }
	$(MAKE) setup EXTRAS=pelican  # the setup `make example` uses; postkin build needs no extra
	$(VENV)/bin/postkin build site_example/jekyll
	cd site_example/jekyll && jekyll build
	@echo "The Jekyll example is in site_example/jekyll/_site/ (cd site_example/jekyll && jekyll serve: http://127.0.0.1:4000/field-notes/)"

clean:
	rm -rf $(VENV) site_example/output site_example/.postkin-cache site_example/mkdocs/site site_example/mkdocs/.postkin-cache
	rm -rf site_example/hugo/public site_example/hugo/resources site_example/hugo/data/postkin site_example/hugo/.postkin-cache
	rm -rf site_example/eleventy/_site site_example/eleventy/src/_data/postkin site_example/eleventy/.postkin-cache
	rm -rf site_example/astro/dist site_example/astro/.astro site_example/astro/src/data/postkin site_example/astro/.postkin-cache
	rm -rf site_example/jekyll/_site site_example/jekyll/.jekyll-cache site_example/jekyll/_data/postkin site_example/jekyll/.postkin-cache
