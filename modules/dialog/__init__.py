# SPDX-License-Identifier: GPL-2.0-or-later
"""dialog: SIP dialogs (RFC 3261 §12) tracked in shared memory."""

from kampy.module import (
    ANY_ROUTE, Counter, IntV, Func, Module, PvDef, REQUEST_ROUTE, Rpc, Str, TableDef,
)
from kampy.rpc import RpcFault
from kampy.script.ast import ConfigError
from kampy.script.pv import PV, to_str

from . import bye as B
from . import core as C
from .core import P


# --- hooks into tm and rr -----------------------------------------------------------

def _rr_callback(ctx, params):
    if not ctx.msg.is_request:
        return
    m = C.match(ctx)
    if m is not None:
        C.in_dialog(ctx, m[0], m[1])


def _hook(rt):
    """Register the tm and rr callbacks once per runtime."""
    api = rt.api("dialog")
    if api.hooked:
        return
    api.hooked = True
    tm = rt.api("tm")
    tm.register_reply_callback(C.on_reply)
    tm.register_final_callback(C.on_final)
    tm.register_request_out_callback(C.on_request_out)
    tm.register_callback("dialog.bye", B.on_bye_reply)
    if "rr" in rt.modules:
        rt.api("rr").register_callback(_rr_callback)


def mod_init(rt):
    _hook(rt)


# --- script functions -----------------------------------------------------------------

def dlg_manage(ctx) -> int:
    """dlg_manage(): track the dialog of an initial INVITE; process an in-dialog request"""
    rt = ctx.rt
    _hook(rt)
    msg = ctx.msg
    if msg.to_tag is not None:
        m = C.match(ctx)
        if m is None:
            return -1
        C.in_dialog(ctx, m[0], m[1])
        return 1
    if msg.method != "INVITE":
        return -1
    did = C.create(ctx)
    if did is None:
        return -1
    ctx.data["dialog"] = (did, C.DOWNSTREAM)
    ctx.data["dialog.seen"] = True
    if "rr" in rt.modules and not ctx.data.get("dialog.rr"):
        ctx.data["dialog.rr"] = True
        rt.api("rr").add_rr_param(ctx, ";%s=%s" % (P.rr_param, did))
    return 1


def _side_fixup(args, pos):
    a = args[0]
    if str(a.value).strip().lower() not in B.SIDES:
        raise ConfigError(a.pos, "dlg_bye: side is all, caller or callee, not %r" % a.value)
    return args


def dlg_bye(ctx, side: Str) -> int:
    """dlg_bye(side): send BYE to the caller, the callee or all, and end the dialog"""
    m = C.match(ctx)
    if m is None:
        return -1
    return 1 if B.send_bye(ctx.rt, m[0], str(side).strip().lower(), ctx=ctx) else -1


def is_known_dlg(ctx) -> int:
    """is_known_dlg(): the message belongs to a dialog we track"""
    return 1 if C.match(ctx) is not None else -1


def _flag_op(ctx, flag, op):
    if not 0 <= flag <= 31:
        ctx.rt.log(-1, "dialog: flag %d out of range 0..31" % flag, "dialog")
        return -1
    m = C.match(ctx)
    if m is None:
        return -1
    if op == "is":
        rec = C.table(ctx.rt).get(C.dkey(m[0]))
        return 1 if rec is not None and rec["fl"] & (1 << flag) else -1

    def fn(rec):
        rec["fl"] = rec["fl"] | (1 << flag) if op == "set" else rec["fl"] & ~(1 << flag)
        return rec
    return 1 if C.change(ctx.rt, m[0], fn) is not None else -1


def dlg_setflag(ctx, flag: IntV) -> int:
    """dlg_setflag(flag): set a dialog flag (0..31)"""
    return _flag_op(ctx, flag, "set")


def dlg_resetflag(ctx, flag: IntV) -> int:
    """dlg_resetflag(flag): reset a dialog flag (0..31)"""
    return _flag_op(ctx, flag, "reset")


def dlg_isflagset(ctx, flag: IntV) -> int:
    """dlg_isflagset(flag): the dialog flag is set"""
    return _flag_op(ctx, flag, "is")


# --- pseudo-variables -------------------------------------------------------------------

_DLG_FIELDS = {
    "h_id": lambda r: r["hi"], "h_entry": lambda r: r["he"], "state": lambda r: r["st"],
    "callid": lambda r: r["ci"], "from_uri": lambda r: r["fu"], "to_uri": lambda r: r["tu"],
    "from_tag": lambda r: r["ft"], "to_tag": lambda r: r["tt"] or None, "ref": lambda r: r["ref"],
    "start_ts": lambda r: r["cts"], "timeout": lambda r: r["to"], "flags": lambda r: r["fl"],
}


class DlgPV(PV):
    """$dlg(name): an attribute of the current dialog ($null without one)."""

    __slots__ = ("name",)

    def __init__(self, spec, name):
        super().__init__(spec)
        self.name = name

    def get(self, ctx):
        m = C.match(ctx)
        if m is None:
            return None
        if self.name == "dir":
            return m[1]
        rec = C.table(ctx.rt).get(C.dkey(m[0]))
        return None if rec is None else _DLG_FIELDS[self.name](rec)


class DlgVarPV(PV):
    """$dlg_var(name): a variable kept in the dialog, seen by all its messages."""

    __slots__ = ("name",)
    writable = True

    def __init__(self, spec, name):
        super().__init__(spec)
        self.name = name

    def get(self, ctx):
        return get_var(ctx, self.name)

    def set(self, ctx, value):
        set_var(ctx, self.name, value)


def get_var(ctx, name):
    m = C.match(ctx)
    if m is None:
        return None
    rec = C.table(ctx.rt).get(C.dkey(m[0]))
    return None if rec is None else rec["v"].get(name)


def set_var(ctx, name, value) -> bool:
    m = C.match(ctx)
    if m is None:
        return False

    def fn(rec):
        if value is None:
            rec["v"].pop(name, None)
        else:
            rec["v"][name] = to_str(value)
        return rec
    return C.change(ctx.rt, m[0], fn) is not None


def _dlg_factory(spec, resolve):
    name = spec.inner
    if not isinstance(name, str) or (name.strip() not in _DLG_FIELDS and name.strip() != "dir"):
        raise ConfigError(spec.pos, "unknown $dlg(%s)" % (name,))
    return DlgPV(spec, name.strip())


def _dlg_var_factory(spec, resolve):
    name = spec.inner
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(spec.pos, "$dlg_var takes a fixed name")
    return DlgVarPV(spec, name.strip())


# --- RPC -------------------------------------------------------------------------------

_STATE_NAMES = {1: "unconfirmed", 2: "early", 3: "confirmed", 4: "confirmed", 5: "deleted"}


def _struct(did, rec):
    return {
        "h_entry": rec["he"], "h_id": rec["hi"], "call-id": rec["ci"], "from_uri": rec["fu"],
        "to_uri": rec["tu"], "from_tag": rec["ft"], "to_tag": rec["tt"], "state": rec["st"],
        "ref_count": rec["ref"], "start_ts": rec["cts"], "init_ts": rec["ts"],
        "timeout": rec["to"], "sflags": rec["fl"], "variables": dict(rec["v"]),
    }


def rpc_list(rt):
    """dlg.list: one struct per dialog in memory"""
    return [_struct(did, rec) for did, rec in sorted(C.all_dialogs(rt))]


def rpc_end_dlg(rt, h_entry=None, h_id=None, extra_hdrs=None):
    """dlg.end_dlg h_entry h_id [extra_hdrs]: send BYE to both sides and end the dialog"""
    try:
        did = "%d.%d" % (int(h_entry), int(h_id))
    except (TypeError, ValueError):
        raise RpcFault(500, "Invalid parameters") from None
    rec = C.table(rt).get(C.dkey(did))
    if rec is None or rec["st"] == C.DELETED:
        raise RpcFault(404, "Dialog not found")
    if rec["st"] not in (C.CONFIRMED, C.CONFIRMED_ACK):
        raise RpcFault(500, "Dialog not confirmed")
    if not B.send_bye(rt, did, "all", [extra_hdrs] if extra_hdrs else (), reason="rpc"):
        raise RpcFault(500, "Failed to send BYE")


# --- API ---------------------------------------------------------------------------------

class Api:
    """What other modules use through rt.api("dialog")."""

    EVENTS = tuple(C.CALLBACKS)

    def __init__(self, rt):
        self.rt = rt
        self.hooked = False

    def get_dialog(self, ctx):
        """The dialog of ctx's message as a dict (with "id"), or None."""
        return C.get(ctx)

    def set_var(self, ctx, name, value) -> bool:
        return set_var(ctx, name, value)

    def get_var(self, ctx, name):
        return get_var(ctx, name)

    def bye(self, ctx, side="all") -> bool:
        """dlg_bye() for ctx's dialog: BYE to "caller", "callee" or "all", dialog ended."""
        m = C.match(ctx)
        return m is not None and B.send_bye(ctx.rt, m[0], side, ctx=ctx)

    def register_callback(self, event, fn):
        """fn(ctx, dlg) for "created", "confirmed", "terminated" (ctx is None
        for a timeout); fn(ctx, dlg, direction) for "in_dialog"."""
        if event not in C.CALLBACKS:
            raise ValueError("unknown dialog event %r" % event)
        if fn not in C.CALLBACKS[event]:
            C.CALLBACKS[event].append(fn)


exports = Module(
    name="dialog",
    doc="Dialog tracking: states, $dlg, $dlg_var, flags, counters, dlg.list.",
    params=P,
    functions=[
        Func("dlg_manage", dlg_manage, REQUEST_ROUTE),
        Func("dlg_bye", dlg_bye, ANY_ROUTE, fixup=_side_fixup),
        Func("is_known_dlg", is_known_dlg, ANY_ROUTE),
        Func("dlg_setflag", dlg_setflag, ANY_ROUTE),
        Func("dlg_resetflag", dlg_resetflag, ANY_ROUTE),
        Func("dlg_isflagset", dlg_isflagset, ANY_ROUTE),
    ],
    pvs=[PvDef("dlg", _dlg_factory), PvDef("dlg_var", _dlg_var_factory)],
    counters=[Counter("dialog", n) for n in ("active_dialogs", "early_dialogs", "processed_dialogs")],
    rpcs=[Rpc("dlg.list", rpc_list, rpc_list.__doc__), Rpc("dlg.dump", rpc_list, rpc_list.__doc__),
          Rpc("dlg.end_dlg", rpc_end_dlg, rpc_end_dlg.__doc__)],
    tables=[TableDef("dialog", lambda rt: (P.table_buckets, P.table_mb * 1024 * 1024), nlocks=64)],
    timer_handlers={"dialog": C.fire},
    depends=["tm"],
    mod_init=mod_init,
    api=Api,
    unsupported=("dlg_refer", "dlg_bridge", "dlg_transfer", "set_dlg_profile",
                 "unset_dlg_profile", "is_in_profile", "get_profile_size", "dlg_set_timeout",
                 "dlg_set_timeout_by_profile", "dlg_set_property", "dlg_reset_property",
                 "dlg_remote_profile", "dlg_db_load_callid", "dlg_db_load_extra",
                 "dlg_isflagset_ex", "dlg_get", "dlg_get_var", "dlg_set_var", "dlg_set_state",
                 "dlg_update_state", "dlg_req_within", "dlg_resetflag_ex", "dlg_setflag_ex",
                 "dlg_account"),
)
