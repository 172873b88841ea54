# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy.db: one small API over SQLite (stdlib sqlite3, the embedded default)
and PostgreSQL (psycopg 3), picked by URL, with Kamailio's table layouts.

    from kampy.db import Database, DbError, check_url
    check_url(url)                        # at startup: "sqlite" or "postgres"
    db = Database(url, timeout=2.0, name="uac", log=print)   # before the fork
    db.query("uacreg", where={"flags": 0}, order_by="l_uuid")    # in a child
    for rows in db.query_chunks("uacreg", chunk=1000): ...
    db.insert(...), db.update(...), db.delete(...), db.columns(...),
    db.table_version("uacreg"), db.available(), db.close()
    kampy.db.schema.create(url)           # Kamailio's version and uacreg tables

Every failure is a DbError whose message holds no password.  Not sans-IO:
this is the one place (with the network layer) that does blocking I/O, under
timeouts, and it never retries in a loop: see core.py for the back-off.
"""

from .url import DbError, SUPPORTED, check_url, redact
from .core import Database
from . import schema

__all__ = ["DbError", "Database", "SUPPORTED", "check_url", "redact", "schema"]
