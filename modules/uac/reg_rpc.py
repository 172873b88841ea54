# SPDX-License-Identifier: GPL-2.0-or-later
"""Remote registrations: the uac.reg_* RPC commands.

Output follows Kamailio 5.6 (field names, order, flag values, `none` for
empty credentials) with two differences users asked for: auth_password and
auth_ha1 are never printed (`***`), and each record also shows its last
result (code, reason, time) and when the next attempt is due.
"""

import time

from kampy.rpc import RpcFault

from .params import P
from . import reg_core as C
from . import reg_db


def _none(v):
    return v if v else "none"


def _masked(v):
    return "***" if v else "none"


def record_struct(rt, rec) -> dict:
    te = C.wall(rt, rec["te"])
    return {
        "l_uuid": rec["lu"], "l_username": rec["lun"], "l_domain": rec["ld"],
        "r_username": rec["run"], "r_domain": rec["rd"], "realm": rec["rlm"],
        "auth_username": rec["au"], "auth_password": _masked(rec["ap"]),
        "auth_ha1": _masked(rec["ah"]), "auth_proxy": _none(rec["px"]),
        "expires": rec["exc"], "flags": rec["fl"],
        "diff_expires": te - int(time.time()),
        "timer_expires": te, "reg_init": C.wall(rt, rec["ri"]), "reg_delay": rec["dly"],
        "contact_addr": _none(rec["ca"] or P.reg_contact_addr), "socket": rec["sk"],
        "contact_user": rec["cu"],
        "last_code": rec["lc"], "last_reason": rec["lr"], "last_time": int(rec["lt"]),
        "next_attempt": C.wall(rt, rec["nx"]) if rec["nx"] else 0,
        "status": _STATUS[C.status(rt, rec)],
    }


_STATUS = {1: "registered", -2: "in progress", -3: "disabled", -99: "waiting"}


def _text(v) -> str:
    """kampyctl sends 123 as an int; Kamailio's s:123 means the string."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise RpcFault(400, "Invalid Parameters")
    return str(v)


def _filter(rt, attr, val):
    attr, val = _text(attr), _text(val)
    if not attr or not val:
        raise RpcFault(400, "Invalid Parameter Values")
    if attr not in C.ATTRS:
        raise RpcFault(400, "Unsupported filter attribute")
    uuids = C.find(rt, attr, val)
    if not uuids:
        raise RpcFault(404, "Record not found")
    return uuids


def reg_dump(rt):
    """uac.reg_dump
    Every remote registration record (passwords masked)."""
    return [record_struct(rt, rec) for _k, rec in sorted(C.table(rt).items())]


def reg_info(rt, attr, val):
    """uac.reg_info attr value
    One record, found by l_uuid, l_username, r_username or auth_username."""
    uuid = _filter(rt, attr, val)[0]
    rec = C.table(rt).get(uuid)
    if rec is None:
        raise RpcFault(404, "Record not found")
    return record_struct(rt, rec)


def _each(rt, attr, val, fn):
    done = 0
    for uuid in _filter(rt, attr, val):
        done += 1 if fn(rt, uuid) else 0
    if not done:
        raise RpcFault(404, "Record not found")


def reg_enable(rt, attr, val):
    """uac.reg_enable attr value
    Enable the matching records; they register at once."""
    _each(rt, attr, val, C.enable)


def reg_disable(rt, attr, val):
    """uac.reg_disable attr value
    Disable the matching records (no more REGISTERs; a binding simply expires)."""
    _each(rt, attr, val, C.disable)


def reg_register(rt, attr, val):
    """uac.reg_register attr value
    Send a REGISTER for the matching records now (enabling them)."""
    _each(rt, attr, val, C.register_now)


def reg_unregister(rt, attr, val):
    """uac.reg_unregister attr value
    Send a REGISTER with Expires: 0 for the matching records now; they stay disabled."""
    _each(rt, attr, val, C.unregister_now)


def reg_reload(rt):
    """uac.reg_reload
    Read the uacreg table again (at most once per reload_delta seconds)."""
    if not P.reg_db_url:
        raise RpcFault(500, "Not enabled")
    t = C.now(rt)
    last = C.meta_get(rt, "reload")
    if last is not None and t - last < P.reload_delta:
        C.log(rt, -1, "reload refused: the last one was %ds ago (reload_delta %d)"
              % (t - last, P.reload_delta))
        raise RpcFault(500, "Failed to shift records - check log messages")
    try:
        reg_db.reload(rt)
    except reg_db.LoadError as e:
        C.log(rt, -1, "reload failed: %s" % e)
        raise RpcFault(500, "Failed to reload records - check log messages")
    C.meta_set(rt, "reload", t)


def reg_refresh(rt, l_uuid):
    """uac.reg_refresh l_uuid
    Load one record from the uacreg table (replacing the one in memory)."""
    if not P.reg_db_url:
        raise RpcFault(500, "Not enabled")
    uuid = _text(l_uuid)
    try:
        found = reg_db.refresh(rt, uuid)
    except (reg_db.LoadError, ValueError) as e:
        C.log(rt, -1, "refresh of %s failed: %s" % (uuid, e))
        raise RpcFault(500, "Failed to refresh record - check log messages")
    if not found:
        raise RpcFault(404, "Record not found")


def reg_active(rt, mode):
    """uac.reg_active 0|1
    Switch all remote registrations off or on; returns the old and new mode."""
    if isinstance(mode, str) and mode.strip().lstrip("-").isdigit():
        mode = int(mode)
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise RpcFault(400, "Invalid Parameters")
    old = C.set_active(rt, mode)
    return {"omode": old, "nmode": 1 if mode else 0}


_ADD_COLS = ("l_uuid", "l_username", "l_domain", "r_username", "r_domain", "realm",
             "auth_username", "auth_password", "auth_ha1", "auth_proxy", "expires", "flags",
             "reg_delay", "socket", "contact_addr")


def reg_add(rt, *args):
    """uac.reg_add l_uuid l_username l_domain r_username r_domain realm auth_username auth_password auth_ha1 auth_proxy expires flags reg_delay socket contact_addr
    Add a record to memory ("." for no value)."""
    if not 12 <= len(args) <= len(_ADD_COLS):
        raise RpcFault(400, "Invalid Parameters")
    row = {}
    for col, v in zip(_ADD_COLS, args):
        v = _text(v)
        row[col] = "" if v == "." else v
    try:
        cfg = reg_db.row_config(row)
    except ValueError as e:
        C.log(rt, -1, "uac.reg_add: %s" % e)
        raise RpcFault(400, "Invalid Parameters")
    res = C.add(rt, cfg, C.now(rt))
    if res == "exists":
        raise RpcFault(409, "uuid already exists")
    if res != "added":
        raise RpcFault(500, "Failed to add record - check log messages")


def reg_remove(rt, l_uuid):
    """uac.reg_remove l_uuid
    Remove a record from memory."""
    if not C.remove(rt, _text(l_uuid)):
        raise RpcFault(404, "Record not found")


RPCS_TABLE = (
    ("uac.reg_dump", reg_dump), ("uac.reg_info", reg_info), ("uac.reg_enable", reg_enable),
    ("uac.reg_disable", reg_disable), ("uac.reg_reload", reg_reload),
    ("uac.reg_refresh", reg_refresh), ("uac.reg_active", reg_active), ("uac.reg_add", reg_add),
    ("uac.reg_remove", reg_remove), ("uac.reg_register", reg_register),
    ("uac.reg_unregister", reg_unregister),
)
