# SPDX-License-Identifier: GPL-2.0-or-later
"""db_postgres: PostgreSQL (psycopg 3) for Kamailio configs that load it.
kampy's DB layer (kampy.db) picks the driver from the URL of the module that
uses a database (`postgres://user:pass@host:port/db`); this module exists so
that `loadmodule "db_postgres.so"` and Kamailio's parameters are accepted."""

from kampy.module import Module, Param, ParamValues

P = ParamValues([
    Param("retries", int, 2, doc="accepted, no effect: kampy reconnects with back-off"),
    Param("lockset", int, 4, doc="accepted, no effect"),
    Param("timeout", int, 0, doc="accepted, no effect: the using module's timeout applies"),
    Param("tcp_keepalive", int, 0, doc="accepted, no effect: keepalives are always on"),
    Param("bytea_output_escape", int, 1, doc="accepted, no effect"),
    Param("con_param", str, multi=True, doc="accepted, no effect"),
])

exports = Module(
    name="db_postgres",
    doc="PostgreSQL driver: selected by postgres:// URLs; parameters accepted without effect.",
    params=P,
)
