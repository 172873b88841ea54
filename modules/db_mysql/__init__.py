# SPDX-License-Identifier: GPL-2.0-or-later
"""db_mysql: kampy has no MySQL driver.  Loading this module is a startup
error at the loadmodule line (kampy.loader reads UNSUPPORTED_MODULE), so a
Kamailio config that relies on MySQL is caught by `kampy -c`."""

from kampy.db import SUPPORTED
from kampy.module import Module

UNSUPPORTED_MODULE = (
    "module 'db_mysql': MySQL is not supported by kampy; use SQLite (loadmodule \"db_sqlite.so\") "
    "or PostgreSQL (loadmodule \"db_postgres.so\") with a URL %s" % SUPPORTED)

exports = Module(name="db_mysql", doc="Not supported: " + UNSUPPORTED_MODULE)
