# The two commands of the README:
#   make run   — set up a virtualenv, create and seed the SQLite database (with the demo staff logins
#                and demo cases: a demo, never a production database), serve on 127.0.0.1:5000
#   make test  — set up the virtualenv with the test extra and run the whole suite
# Both first build the bpmn-js bundles (frontend/ → plugin/static/vendor/) when their sources changed;
# that needs node and npm.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# the suite runs on every core (pytest-xdist); each test has its own database
PYTEST_ARGS ?= -n auto

.PHONY: run test bench clean frontend

FRONTEND_STAMP = plugin/static/vendor/.built
# the OpenID Connect provider the OIDC tests start (oidc-provider from npm; never committed)
OIDC_STAMP = tests/oidc/node_modules/.package-lock.json
FRONTEND_SOURCES = frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(FRONTEND_STAMP): $(FRONTEND_SOURCES)
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "前端构建需要 Node.js 和 npm（bpmn-js 流程图）：请先安装，例如 apt-get install -y nodejs npm" >&2; \
	  echo "The front-end build (bpmn-js diagrams) needs node and npm: install them, e.g. apt-get install -y nodejs npm" >&2; \
	  exit 1; }
	cd frontend && npm ci --no-audit --no-fund
	cd frontend && node build.mjs
	touch $@

frontend: $(FRONTEND_STAMP)

$(OIDC_STAMP): tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund

run: $(VENV)/.installed $(FRONTEND_STAMP)
	$(BIN)/xinyipi init
	$(BIN)/xinyipi seed --demo-staff --demo-cases
	$(BIN)/xinyipi serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed $(FRONTEND_STAMP) $(OIDC_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/xinyipi bench

clean:
	rm -rf $(VENV) instance *.egg-info plugin/static/vendor frontend/node_modules tests/oidc/node_modules
