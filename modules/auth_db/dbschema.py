# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio 5.6's `subscriber` table (version 7), declared as kampy.db.schema
declares its tables, so `kampy.db.schema.create(url, tables=(..., "subscriber"))`
creates it exactly as kamdbctl does:

    id, username VARCHAR(64), domain VARCHAR(64), password VARCHAR(64),
    ha1 VARCHAR(128), ha1b VARCHAR(128) (all DEFAULT '' NOT NULL),
    UNIQUE subscriber_account_idx (username, domain),
    INDEX subscriber_username_idx (username)

Until kampy.db.schema lists it in TABLES itself, `create(url)` here makes
it (and the version table) with kampy.db.schema.create.
"""

from kampy.db import schema as _schema
from kampy.db.schema import Column, Table

VERSION = 7


def _s(name, size):
    return Column(name, "string", size, "")


SUBSCRIBER = Table("subscriber", VERSION, (
    _schema.ID,
    _s("username", 64), _s("domain", 64), _s("password", 64), _s("ha1", 128), _s("ha1b", 128),
), unique=(("subscriber_account_idx", ("username", "domain")),),
    indexes=(("subscriber_username_idx", ("username",)),))


def create(url, **kw) -> dict:
    """kampy.db.schema.create(url, ("version", "subscriber")), the layout
    lent to it for the call when it does not know the table yet."""
    lend = "subscriber" not in _schema.TABLES
    if lend:
        _schema.TABLES["subscriber"] = SUBSCRIBER
    try:
        return _schema.create(url, tables=("version", "subscriber"), **kw)
    finally:
        if lend:
            _schema.TABLES.pop("subscriber", None)
