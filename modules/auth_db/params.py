# SPDX-License-Identifier: GPL-2.0-or-later
"""auth_db: module parameters (Kamailio's names and defaults)."""

import re

from kampy.module import Param, ParamValues

DEFAULT_URL = "mysql://kamailioro:kamailioro@localhost/kamailio"
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_AVP = re.compile(r"\$avp\(\s*(?:(s:)?([A-Za-z_][A-Za-z0-9_]*)|i:(\d+))\s*\)\Z")


def _column(v):
    v = v.strip()
    if not _COLUMN.match(v):
        raise ValueError("%r is not a column name" % v)
    return v


def _url(v):
    from kampy.db import DbError, check_url
    v = v.strip()
    try:
        check_url(v)
    except DbError as e:
        raise ValueError(str(e)) from None
    return v


def parse_credentials(text: str) -> list:
    """load_credentials: `credential (';' credential)*`, a credential being
    `$avp(name)=column` or a bare column (loaded into $avp(column)).
    Returns [(avp store key, column)]; raises ValueError."""
    out = []
    for item in (text or "").split(";"):
        item = item.strip()
        if not item:
            continue
        target, eq, col = item.rpartition("=")
        col = col.strip()
        if not _COLUMN.match(col):
            raise ValueError("load_credentials: %r is not a column name" % col)
        if not eq:
            out.append((col, col))
            continue
        m = _AVP.match(target.strip())
        if m is None:
            raise ValueError("load_credentials: %r: kampy loads credentials into $avp(name) "
                             "or $avp(i:N)" % target.strip())
        out.append(("i:%d" % int(m.group(3)) if m.group(3) else m.group(2), col))
    return out


def _credentials(v):
    parse_credentials(v)
    return v


LITERAL_TABLES = set()   # tables the config names literally (fixups), checked in mod_init


class _Params(ParamValues):
    """Parameters, plus what the fixups of one compile noted: both start
    afresh whenever a config is loaded."""

    def reset(self):
        super().reset()
        LITERAL_TABLES.clear()


P = _Params([
    Param("db_url", str, DEFAULT_URL, check=_url,
          doc="database of the subscriber table: sqlite:///abs/path.db or postgres://..."),
    Param("user_column", str, "username", check=_column),
    Param("domain_column", str, "domain", check=_column),
    Param("password_column", str, "ha1", check=_column,
          doc="HA1 column (or the plain password with calculate_ha1=1)"),
    Param("password_column_2", str, "ha1b", check=_column,
          doc="HA1 computed with user@domain, for usernames that carry the domain"),
    Param("calculate_ha1", int, 0, doc="1: password_column holds plain passwords"),
    Param("use_domain", int, 0, doc="1: match the domain column too (and From/To domains)"),
    Param("load_credentials", str, "", check=_credentials,
          doc="columns loaded into AVPs on success: \"$avp(x)=col;col2\""),
    Param("version_table", int, 1, doc="0: do not check the subscriber table version"),
    Param("force_generate_avps", int, 0, doc="1: load the credentials AVPs even on a failed check"),
])
