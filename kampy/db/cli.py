# SPDX-License-Identifier: GPL-2.0-or-later
"""`kampyctl db ...`: create Kamailio's tables and edit uacreg rows without a
running daemon or an SQL client (kamdbctl / kamctl's job for Kamailio).

A running kampy reads the rows at startup and on `uac.reg_reload`.
"""

import argparse
import json
import os
import sys

from .core import Database
from .schema import create, discover
from .url import DbError, SUPPORTED

ENV_URL = "KAMPY_DB_URL"

# uac.reg_add's argument order (KAMAILIO-FACTS.md)
ADD_ORDER = ("l_uuid", "l_username", "l_domain", "r_username", "r_domain", "realm",
             "auth_username", "auth_password", "auth_ha1", "auth_proxy", "expires", "flags",
             "reg_delay", "socket", "contact_addr")
INT_COLUMNS = {"expires": 3600, "flags": 0, "reg_delay": 0}
REQUIRED = ("l_uuid", "l_username", "l_domain", "r_username", "r_domain", "auth_username",
            "auth_proxy")
SECRET = ("auth_password", "auth_ha1")
OPTIONAL_COLUMNS = ("contact_user",)

USAGE = """usage: kampyctl db create URL [TABLE ...]
       kampyctl db uacreg [-u URL] [-T TABLE] list [--json] [L_UUID]
       kampyctl db uacreg [-u URL] [-T TABLE] add L_UUID L_USERNAME L_DOMAIN
                R_USERNAME R_DOMAIN REALM AUTH_USERNAME AUTH_PASSWORD AUTH_HA1
                AUTH_PROXY [EXPIRES [FLAGS [REG_DELAY [SOCKET [CONTACT_ADDR]]]]]
       kampyctl db uacreg [-u URL] [-T TABLE] add --l_uuid X --l_username X ...
       kampyctl db uacreg [-u URL] [-T TABLE] rm L_UUID
URL (-u URL, else $%s): %s.
create: Kamailio's tables (default: every table kampy and its modules know,
  version, uacreg, ...) and their `version` rows; existing ones are left alone.
add: uac.reg_add's columns in its order, or as --column options; `.` is an
  empty value (auth_password / auth_ha1: none; contact_addr: use
  reg_contact_addr); expires defaults to 3600, flags and reg_delay to 0;
  --contact_user works when the table has that column.
list: auth_password and auth_ha1 are shown as ***.
""" % (ENV_URL, SUPPORTED)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


class UsageError(Exception):
    pass


def _url_options(p, top=False):
    d = None if top else argparse.SUPPRESS
    p.add_argument("-u", "--url", default=d)
    p.add_argument("-T", "--table", default=d)


def _parser():
    p = _Parser(prog="kampyctl db", add_help=False)
    sub = p.add_subparsers(dest="cmd")
    c = sub.add_parser("create", add_help=False)
    c.add_argument("-u", "--url", dest="url_opt")
    c.add_argument("url", nargs="?")
    c.add_argument("tables", nargs="*")
    u = sub.add_parser("uacreg", add_help=False)
    _url_options(u, top=True)
    usub = u.add_subparsers(dest="action")
    ls = usub.add_parser("list", add_help=False)
    _url_options(ls)
    ls.add_argument("--json", action="store_true")
    ls.add_argument("l_uuid", nargs="?")
    add = usub.add_parser("add", add_help=False)
    _url_options(add)
    for col in ADD_ORDER + OPTIONAL_COLUMNS:
        add.add_argument("--" + col, dest="opt_" + col)
    add.add_argument("values", nargs="*")
    rm = usub.add_parser("rm", add_help=False)
    _url_options(rm)
    rm.add_argument("l_uuid")
    return p


def _resolve_url(url):
    url = url or os.environ.get(ENV_URL)
    if not url:
        raise UsageError("no database URL: give -u URL or set $%s" % ENV_URL)
    return url


def build_row(args) -> dict:
    """The uacreg row from positionals and --column options; UsageError if wrong."""
    if len(args.values) > len(ADD_ORDER):
        raise UsageError("add takes at most %d values (%s)" % (len(ADD_ORDER), " ".join(ADD_ORDER)))
    given = dict(zip(ADD_ORDER, args.values))
    for col in ADD_ORDER + OPTIONAL_COLUMNS:
        v = getattr(args, "opt_" + col)
        if v is None:
            continue
        if col in given:
            raise UsageError("%s given twice (as a value and as --%s)" % (col, col))
        given[col] = v
    row = {}
    for col, v in given.items():
        if col in INT_COLUMNS:
            if v == ".":
                continue
            try:
                n = int(v, 10)
            except ValueError:
                raise UsageError("%s must be an integer, not %r" % (col, v)) from None
            if n < 0:
                raise UsageError("%s must be >= 0" % col)
            row[col] = n
        else:
            row[col] = "" if v == "." else v
    for col, default in INT_COLUMNS.items():
        row.setdefault(col, default)
    missing = [c for c in REQUIRED if not row.get(c)]
    if missing:
        raise UsageError("missing %s" % ", ".join(missing))
    if not row.get("auth_password") and not row.get("auth_ha1"):
        raise UsageError("give auth_password or auth_ha1")
    return row


def masked(row: dict) -> dict:
    return {k: ("***" if k in SECRET and v else v) for k, v in row.items()}


def _out(text):
    sys.stdout.write(text)


def cmd_create(args) -> int:
    tables, url = list(args.tables), args.url
    if url and (args.url_opt or "://" not in url):     # `create TABLE` with -u or $KAMPY_DB_URL
        tables.insert(0, url)
        url = None
    url = _resolve_url(args.url_opt or url)
    tables = tuple(tables) or tuple(discover())
    result = create(url, tables)
    for name, state in result.items():
        _out("%s: %s\n" % (name, state))
    return 0


def cmd_uacreg(args) -> int:
    url = _resolve_url(getattr(args, "url", None))
    table = getattr(args, "table", None) or "uacreg"
    if args.action is None:
        raise UsageError("uacreg needs list, add or rm")
    db = Database(url, timeout=10.0, name="kampyctl", log=lambda text: None)
    try:
        if args.action == "list":
            return _list(db, table, args)
        if args.action == "add":
            return _add(db, table, build_row(args))
        return _rm(db, table, args.l_uuid)
    finally:
        db.close()


def _list(db, table, args) -> int:
    where = {"l_uuid": args.l_uuid} if args.l_uuid is not None else None
    rows = db.query(table, where=where, order_by="l_uuid")
    rows = [masked({k: v for k, v in r.items() if k != "id"}) for r in rows]
    if args.json:
        _out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.l_uuid is not None and not rows:
        _out("no record with l_uuid %s\n" % args.l_uuid)
        return 1
    from ..ctl import format_text
    _out(format_text(rows))
    return 0


def _add(db, table, row) -> int:
    cols = db.columns(table)
    unknown = [c for c in row if c not in cols]
    if unknown:
        raise DbError("table %s has no column %s" % (table, ", ".join(unknown)))
    if db.query(table, ["l_uuid"], where={"l_uuid": row["l_uuid"]}):
        _out("l_uuid %s already exists\n" % row["l_uuid"])
        return 1
    db.insert(table, row)
    _out("added %s\n" % row["l_uuid"])
    return 0


def _rm(db, table, l_uuid) -> int:
    n = db.delete(table, {"l_uuid": l_uuid})
    if not n:
        _out("no record with l_uuid %s\n" % l_uuid)
        return 1
    _out("removed %s\n" % l_uuid)
    return 0


def main(argv) -> int:
    """`kampyctl db ARGS`: 0 done, 1 failed (DB error, not found, exists), 2 usage."""
    if not argv:
        sys.stderr.write("kampyctl db: no command given\n" + USAGE)
        return 2
    if "-h" in argv or "--help" in argv:
        _out(USAGE)
        return 0
    try:
        args = _parser().parse_args(argv)
        if args.cmd == "create":
            return cmd_create(args)
        if args.cmd == "uacreg":
            return cmd_uacreg(args)
        raise UsageError("unknown db command %r" % argv[0])
    except UsageError as e:
        sys.stderr.write("kampyctl db: %s\n%s" % (e, USAGE))
        return 2
    except DbError as e:
        sys.stderr.write("kampyctl db: %s\n" % e)
        return 1
