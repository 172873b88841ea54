# SPDX-License-Identifier: GPL-2.0-or-later
"""auth_db: digest authentication of users kept in Kamailio's `subscriber`
table (SQLite or PostgreSQL through kampy.db); the digest work is the auth
module's.

  authorize  www_authorize, proxy_authorize, auth_check, is_subscriber
  db         the per-process connection, table versions, the row lookup
  dbschema   the subscriber table layout (for kampy.db.schema.create)
"""

from kampy.module import ANY_ROUTE, Func, Module, REQUEST_ROUTE

from . import authorize as A
from . import db as D
from .params import P


def mod_init(rt):
    D.check_startup(rt)
    D.database(rt)


def destroy(rt):
    db = D._STATE["db"]
    if db is not None:
        db.close()


T2 = A.table_fixup(1)

exports = Module(
    name="auth_db",
    doc="Digest authentication against the subscriber table (SQLite, PostgreSQL).",
    params=P,
    functions=[
        Func("www_authenticate", A.www_authenticate, REQUEST_ROUTE, fixup=T2),
        Func("www_authenticate", A.www_authenticate3, REQUEST_ROUTE, fixup=T2),
        Func("www_authorize", A.www_authenticate, REQUEST_ROUTE, fixup=T2),
        Func("proxy_authenticate", A.proxy_authenticate, REQUEST_ROUTE, fixup=T2),
        Func("proxy_authorize", A.proxy_authenticate, REQUEST_ROUTE, fixup=T2),
        Func("auth_check", A.auth_check, REQUEST_ROUTE, fixup=T2),
        Func("is_subscriber", A.is_subscriber, ANY_ROUTE, fixup=T2),
    ],
    depends=["auth"],
    mod_init=mod_init,
    destroy=destroy,
)
