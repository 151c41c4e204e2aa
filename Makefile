# levers: `make dev` runs the product, `make test` runs the whole suite.
PYTHON ?= python3
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
PYTEST_ARGS ?=

.PHONY: dev test install uv lint format bench clean-data

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user --break-system-packages uv

install: uv
	$(UV) sync --frozen

dev: install
	$(UV) run levers dev

test: install
	$(UV) run pytest $(PYTEST_ARGS)

lint: install
	$(UV) run ruff check app tests bench migrations
	$(UV) run ruff format --check app tests bench migrations

format: install
	$(UV) run ruff check --fix app tests bench migrations
	$(UV) run ruff format app tests bench migrations

bench: install
	$(UV) run python bench/bandits.py
	$(UV) run python bench/analytics.py
	$(UV) run python bench/guardrails.py

clean-data:
	rm -rf .levers
