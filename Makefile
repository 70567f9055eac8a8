# Two commands do all set-up on a fresh machine:
#   make run   - create the virtual environment, migrate SQLite, start the demo OpenID Connect provider,
#                serve the API and the example SPA on http://127.0.0.1:8000/ (Ctrl-C stops everything)
#   make test  - create the virtual environment and run the test suite

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PROVIDER_PORT ?= 8001

.PHONY: run test test-postgres schema venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m demo.run --host $(HOST) --port $(PORT) --provider-port $(DEMO_PROVIDER_PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest $(PYTEST_ARGS)

schema: $(STAMP)
	DJANGO_SECRET_KEY=schema $(BIN)/python manage.py spectacular --file openapi.yaml

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .demo artifacts
