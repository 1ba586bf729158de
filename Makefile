# The two commands of the README, and the steps behind them.
#   make example   set up, then run the Iris example on the local target
#   make test      set up (venv, Docker engine, base image), check style and types
#                  (make lint), then run every test
SHELL := /bin/bash
VENV  := .venv
EXP   := $(abspath $(VENV))/bin/exp
PYTEST_ARGS ?=

.PHONY: example test lint dev engines bench clean

example:
	scripts/bootstrap.sh example
	cd examples/iris && $(EXP) run -c local iris.py 0.1 && $(EXP) runs list
	@echo "exp is installed in $(abspath $(VENV))/bin: run 'source $(VENV)/bin/activate' to put it on your PATH"

dev:
	scripts/bootstrap.sh dev

engines:
	scripts/docker/ensure-engine.sh
	scripts/docker/build-base-image.sh
	scripts/ui/ensure-browser.sh
	scripts/remote/up.sh
	scripts/spark/up.sh

# Style and types first: seconds, where the suite takes minutes.
lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: dev lint engines
	EXPKIT_REQUIRE_ENGINES=$${EXPKIT_REQUIRE_ENGINES:-1} $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: dev engines
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) examples/iris/.exp
