# LeadHub: `make run` serves the embedded default, `make test` runs the whole suite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install migrate clean vendor

install: $(STAMP) vendor

# The dashboard's front-end files (htmx, Chart.js) come from the npm registry at the versions
# pinned in package.json / package-lock.json, and are copied into the static folder that
# whitenoise serves: the browser never loads anything from a CDN. Needs Node.js and npm.
VENDOR := leadhub/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed

vendor: $(VENDOR_STAMP)

$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	touch $(VENDOR_STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py bootstrap
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile -d . start

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The web side (gunicorn + wrk: trivial view, API, intake, 1,000,000-contact reads), then
# webhook delivery (Celery workers: throughput, latency, chaos). See bench/README.md.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/webhooks.py $(WEBHOOK_BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR)
