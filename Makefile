# LeadHub: `make run` serves the embedded default, `make test` runs the whole suite.
# `make` or `make help` lists the targets.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench install migrate clean vendor

help: ## List the targets
	@echo "LeadHub: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: PORT (run, default 8000), PYTEST_ARGS (test), BENCH_ARGS, WEBHOOK_BENCH_ARGS, MESSAGING_BENCH_ARGS, CAMPAIGN_BENCH_ARGS, DASHBOARD_BENCH_ARGS, BOOKING_BENCH_ARGS (bench); settings: README.md"

install: $(STAMP) ## Create .venv and install the dependencies (once; again when requirements change)

# The dashboard's front-end files (htmx, Chart.js) come from the npm registry at the versions
# pinned in package.json / package-lock.json and are committed under leadhub/web/static/vendor/
# with their SHA-256 sums, so `make run` needs only Python; whitenoise serves them and no page
# loads anything from a CDN. `make vendor` (needs npm) refreshes them after a version change.
VENDOR := leadhub/web/static/vendor

vendor: ## Refresh the vendored front-end files from npm after changing package.json (needs npm)
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cd $(VENDOR) && sha256sum htmx.min.js chart.umd.min.js > SHA256SUMS

$(STAMP): requirements.txt requirements-dev.txt
	@echo "Installing LeadHub's dependencies into $(VENV)/ (the first time takes a minute or two)..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	touch $(STAMP)

migrate: install ## Apply the database migrations
	$(BIN)/python manage.py migrate --noinput

# Only under make run (never compose): webhooks to this machine over http are allowed, so a
# receiver on 127.0.0.1 can be tried. Set either variable yourself to override.
run: export WEBHOOK_ALLOW_HTTP ?= true
run: export WEBHOOK_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128
run: export LEADHUB_RUN_DIR := $(CURDIR)/var/run
run: export LEADHUB_PORT := $(PORT)
run: export PYTHONUNBUFFERED := 1
run: migrate ## Serve the embedded default on http://127.0.0.1:$PORT (web, worker, beat) until Ctrl-C
	$(BIN)/python manage.py bootstrap --demo-superuser
	@rm -rf "$(LEADHUB_RUN_DIR)"
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m leadhub.procs -f Procfile -d . start || [ $$? -eq 130 ]

test: install ## Run the whole test suite (PYTEST_ARGS="..." for pytest options)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format and fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The web side (gunicorn + wrk: trivial view, API, intake, 1,000,000-contact reads), then
# webhook delivery (Celery workers: throughput, latency, chaos), then WhatsApp/SMS (inbound, a
# slow model, send-whatsapp), then a 10,000-recipient campaign (create time, messages handed to
# the provider per second), then the dashboard's pages (1,000,000 contacts, an agency of 50
# workspaces), then the booking widget's availability (7 days, 1,000 bookings). See bench/README.md.
bench: install ## The benchmarks (bench/README.md)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/webhooks.py $(WEBHOOK_BENCH_ARGS)
	$(BIN)/python bench/messaging.py $(MESSAGING_BENCH_ARGS)
	$(BIN)/python bench/campaigns.py $(CAMPAIGN_BENCH_ARGS)
	$(BIN)/python bench/dashboard.py $(DASHBOARD_BENCH_ARGS)
	$(BIN)/python bench/booking.py $(BOOKING_BENCH_ARGS)

clean: ## Remove .venv, node_modules and var/ (the embedded default's data and credentials)
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR)
