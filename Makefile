# The two commands of the README:
#   make run   — set up a virtualenv, create and seed the SQLite database, serve on 127.0.0.1:5000
#   make test  — set up the virtualenv with the test extra and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/xinyipi init
	$(BIN)/xinyipi seed
	$(BIN)/xinyipi serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/xinyipi bench

clean:
	rm -rf $(VENV) instance *.egg-info
