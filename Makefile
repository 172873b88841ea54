# SPDX-License-Identifier: GPL-2.0-or-later
# make run  - run kampy on its embedded defaults (SQLite, loopback)
# make test - install what the tests need (venv, sipp, PostgreSQL, Kamailio), run them
# Debian's own python3 when it can make a venv: built with PGO and LTO, it runs
# kampy about 25 % faster than an unoptimised build (pyenv's, say) that may come
# first on PATH.  `make PYTHON=...` picks another.
PYTHON ?= $(shell /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && echo /usr/bin/python3 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check bench sysdeps clean

$(STAMP): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

DB     := sqlite://$(CURDIR)/kampy.db

run: $(STAMP)
	$(BIN)/kampyctl db create $(DB) >/dev/null
	$(BIN)/kampy -f etc/kampy.cfg -D -E -A 'DBURL="$(DB)"'

check: $(STAMP)
	$(BIN)/kampy -c -f etc/kampy.cfg

# Debian packages the integration tests drive: sipp (sip-tester) and PostgreSQL
sysdeps:
	@if ! command -v sipp >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
			|| ! command -v kamailio >/dev/null 2>&1 || ! ls /usr/lib/*/kamailio/modules/db_sqlite.so >/dev/null 2>&1; then \
		echo "installing sip-tester, postgresql and kamailio (a reference peer for tests) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester postgresql kamailio kamailio-sqlite-modules >/dev/null; \
	fi

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -q tests

bench: $(STAMP)
	$(BIN)/python -m tools.bench.bench_parse

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
