# SPDX-License-Identifier: GPL-2.0-or-later
"""`loadmodule "db_sqlite.so"` / `"db_postgres.so"` in a Kamailio config:
accepted with Kamailio's parameters; `db_mysql.so` is a startup error at its
loadmodule line naming what kampy supports."""

import pathlib
import subprocess
import sys

import pytest

from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text

ROOT = pathlib.Path(__file__).resolve().parents[2]

HEAD = '#!KAMAILIO\nlisten=udp:127.0.0.1:5060\nloadmodule "sl.so"\n'
ROUTE = '\nrequest_route {\n    sl_send_reply("200", "OK");\n}\n'


def test_sqlite_and_postgres_modules_load_with_their_params():
    script = compile_text(HEAD + '''
loadmodule "db_sqlite.so"
loadmodule "/usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so"
modparam("db_sqlite", "db_set_readonly", "/var/lib/kamailio/ro.sqlite")
modparam("db_sqlite", "db_set_journal_mode", "/var/lib/kamailio/k.sqlite=WAL")
modparam("db_postgres", "retries", 3)
modparam("db_postgres", "timeout", 10)
modparam("db_postgres", "tcp_keepalive", 600)
modparam("db_postgres", "con_param", "connect_timeout=15;tcp_user_timeout=5000")
modparam("db_postgres", "bytea_output_escape", 0)
modparam("db_postgres", "lockset", 8)
''' + ROUTE, "ok.cfg")
    assert {"db_sqlite", "db_postgres"} <= set(script.modules)
    assert script.modules["db_postgres"].params.retries == 3
    assert script.modules["db_sqlite"].params.db_set_readonly == ["/var/lib/kamailio/ro.sqlite"]


def errors_of(text):
    with pytest.raises(ConfigErrors) as ei:
        compile_text(text, "bad.cfg")
    return [str(e) for e in ei.value.errors]


def test_db_mysql_is_a_startup_error_at_its_line():
    errs = errors_of(HEAD + '#!define WITH_MYSQL\n#!ifdef WITH_MYSQL\n    loadmodule "db_mysql.so"\n'
                     '#!endif\nmodparam("db_mysql", "ping_interval", 30)\n' + ROUTE)
    assert len(errs) == 1          # no second error for the modparam of the refused module
    assert errs[0].startswith("bad.cfg:6:5: module 'db_mysql': MySQL is not supported")
    assert "SQLite" in errs[0] and "PostgreSQL" in errs[0] and "sqlite:///" in errs[0]


def test_unknown_param_of_a_db_module():
    errs = errors_of(HEAD + 'loadmodule "db_postgres.so"\nmodparam("db_postgres", "nope", 1)\n' + ROUTE)
    assert errs == ["bad.cfg:5:1: module 'db_postgres' has no parameter 'nope'"]


def test_kampy_check_reports_db_mysql(tmp_path):
    cfg = tmp_path / "k.cfg"
    cfg.write_text(HEAD + 'loadmodule "db_mysql.so"\n' + ROUTE)
    r = subprocess.run([sys.executable, "-m", "kampy.cli", "-c", "-f", str(cfg)], cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "%s:4:1: module 'db_mysql': MySQL is not supported" % cfg in r.stdout + r.stderr
