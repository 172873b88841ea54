# SPDX-License-Identifier: GPL-2.0-or-later
"""db_sqlite: SQLite for Kamailio configs that load it.  kampy's DB layer
(kampy.db) always has SQLite; the URL of the module that uses a database
(`sqlite:///abs/path.db`) picks it.  The module exists so that
`loadmodule "db_sqlite.so"` and its parameters are accepted."""

from kampy.module import Module, Param, ParamValues

P = ParamValues([
    Param("db_set_readonly", str, multi=True,
          doc="db_set_readonly(path): accepted, no effect (kampy opens read-write)"),
    Param("db_set_journal_mode", str, multi=True,
          doc="db_set_journal_mode(\"path=mode\"): accepted, no effect"),
    Param("db_set_busy_timeout", int, 0,
          doc="db_set_busy_timeout(ms): accepted, no effect (the using module's timeout applies)"),
])

exports = Module(
    name="db_sqlite",
    doc="SQLite driver: selected by sqlite:/// URLs; parameters accepted without effect.",
    params=P,
)
