# One entry point for developer habits. Everything runs inside .venv, created on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint unit integration bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)  ## run the whole system on the bundled real data (dashboard on :8000)
	$(BIN)/flowcast up

lint: $(STAMP)  ## ruff + mypy + import-linter (layers point one way)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy flowcast producers stream models api commands
	$(BIN)/lint-imports

test: lint  ## lint, then every test (unit and integration, real broker and Redis)
	$(BIN)/python -m pytest

unit: $(STAMP)  ## the tests that need no broker, Redis, browser or process kills
	$(BIN)/python -m pytest -m "not integration and not browser and not faults"

bench: $(STAMP)  ## benchmarks, JSON results under bench-results/
	@mkdir -p bench-results
	$(BIN)/flowcast bench core --json bench-results/core.json
	$(BIN)/flowcast bench pipeline --records 60000 --json bench-results/pipeline.json
	$(BIN)/flowcast bench pipeline --records 60000 --workers 2 --json bench-results/pipeline-2-workers.json
	$(BIN)/flowcast bench api --seconds 10 --connections 50 --json bench-results/api.json
	$(BIN)/flowcast bench ws --clients 1000 --messages 50 --rate 5 --json bench-results/ws.json
	$(BIN)/flowcast bench login --seconds 10 --connections 32 --json bench-results/login.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache bench-results
