# levers: `make dev` runs the product, `make test` runs the whole suite. `make help` lists every target.
PYTHON ?= python3
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
PYTEST_ARGS ?=
LINT_PATHS = app tests bench migrations

.PHONY: help dev test check lint types format browser install uv bench bench-http bench-slow4g clean-data

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

dev: install ## run the product: web + worker, embedded postgres/redis when no urls are set
	$(UV) run levers dev

test: lint browser ## the whole suite: lint, types, unit, integration, browser (real postgres, redis, chromium)
	$(UV) run pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

check: lint ## the fast loop (under a minute): lint, types and the unit tests without the slow simulations
	$(UV) run pytest tests/unit -m "not slow" -q $(PYTEST_ARGS)

lint: install ## ruff lint and format check, and the type checker
	$(UV) run ruff check $(LINT_PATHS)
	$(UV) run ruff format --check $(LINT_PATHS)
	$(UV) run mypy

format: install ## fix what ruff can fix and format the code
	$(UV) run ruff check --fix $(LINT_PATHS)
	$(UV) run ruff format $(LINT_PATHS)

browser: install ## make sure a chromium is there for the browser tests (installs one when missing)
	$(UV) run python -m tests.support.browser

install: uv ## install uv and the locked dependencies
	$(UV) sync --frozen

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user --break-system-packages uv

bench: install browser bench-http bench-slow4g ## run every benchmark and print its figures
	$(UV) run python bench/bandits.py
	$(UV) run python bench/analytics.py
	$(UV) run python bench/bench_targeting.py
	$(UV) run python bench/verdict.py
	$(UV) run python bench/drift.py
	$(UV) run python bench/observability.py
	$(UV) run python bench/tag.py --serve
	$(UV) run python bench/guardrails.py
	$(UV) run python bench/events.py
	$(UV) run python bench/event_log.py
	$(UV) run python bench/segments.py

bench-http: install ## hot-path throughput beside a bare litestar route (needs wrk: apt-get install wrk)
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(UV) run python bench/hot_path.py

bench-slow4g: install browser ## the results page on an emulated slow-4G phone: time until its numbers show
	$(UV) run python bench/slow4g.py --preset devtools --preset lighthouse

clean-data: ## remove the local development data (./.levers)
	rm -rf .levers
