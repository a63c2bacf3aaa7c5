# Two commands matter: `make run` (the service on its embedded default, with demo mail) and
# `make test` (the whole suite). Both work on a fresh machine: they create the virtualenv and,
# when running as root, install the Debian packages the tests need.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOME_DIR ?= var
DEB_PACKAGES := dovecot-imapd chromium
PYTEST_ARGS ?= -n auto --dist worksteal

.PHONY: run test venv test-deps debs lint bench kb clean wheel-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# the `kb` extra: make run builds the starter KB (ICD-10-CM comes from simple-icd-10-cm)
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[kb]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

## make run: install, build the starter KB, create the DB under ./var, serve, deliver demo mail
run: venv
	@test -f $(HOME_DIR)/kb.sqlite || CONSULT_HOME=$(HOME_DIR) $(BIN)/consult kb build
	CONSULT_HOME=$(HOME_DIR) $(BIN)/consult serve --demo

## debs: the Debian packages the tests need (only as root, only when missing)
debs:
	@missing=""; \
	test -x /usr/lib/dovecot/imap || missing="$$missing dovecot-imapd"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run as root or install them; tests needing them fail in CI)"; \
	  fi; \
	fi

test-deps: $(VENV)/.installed-test debs

## make test: lint, the whole suite in parallel, and the wheel check (at the same time)
test: test-deps lint
	@$(MAKE) --no-print-directory wheel-check > $(VENV)/wheel-check.log 2>&1 & wheel=$$!; \
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if wait $$wheel; then tail -1 $(VENV)/wheel-check.log; \
	else cat $(VENV)/wheel-check.log; echo "wheel-check failed"; status=1; fi; \
	exit $$status

## wheel-check: `pip install .` (not editable) into a fresh venv drafts a demo mail
wheel-check: | $(BIN)/python
	PYTHON=$(PYTHON) .ci/wheel-check

## lint: style and types, the layers (import-linter), dead code (vulture), dependencies (deptry)
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/vulture
	$(BIN)/deptry .

bench: $(VENV)/.installed-test
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
