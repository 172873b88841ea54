# SPDX-License-Identifier: GPL-2.0-or-later
"""tm's script functions, pseudo-variables, pre-script hook and API."""

import sys

from kampy.module import (
    BranchRouteName, EVENT_ROUTE, FailureRouteName, Fmt, IntV, Regex, ReplyRouteName,
)
from kampy.script.pv import FuncPV, b2s
from kampy.script.ast import ConfigError

from .params import P
from . import fsm as F
from . import relay as R
from . import replies as Y
from . import trans as T


# --- relaying ---------------------------------------------------------------------

def _relay(ctx, host=None, port=None) -> int:
    if ctx.route_type == EVENT_ROUTE:
        # allowed in event_route[tm:branch-failure:...] only, which runs as
        # a branch-failure route; any other event route has no transaction
        ctx.rt.log(-1, "tm: t_relay() in an event_route other than tm:branch-failure")
        return -1
    return R.relay(ctx, host, port)


def t_relay(ctx) -> int:
    """t_relay(): forward statefully to $du or the R-URI (and appended branches)"""
    return _relay(ctx)


def t_relay2(ctx, host: Fmt, port: IntV) -> int:
    """t_relay(host, port): forward statefully to host:port"""
    return _relay(ctx, host, port)


def t_relay_to_udp(ctx, host: Fmt, port: IntV) -> int:
    """t_relay_to_udp(host, port)"""
    return _relay(ctx, host, port)


def t_relay_to_udp0(ctx) -> int:
    """t_relay_to_udp()"""
    return _relay(ctx)


def t_newtran(ctx) -> int:
    """t_newtran(): create the transaction now (a retransmission ends the script)"""
    if ctx.t is not None:
        return 1
    tid, rec = R.create(ctx)
    if tid is None:
        if rec is not None:
            R.retransmission(ctx, rec)
            return 0
        return -1
    ctx.t = {"tid": tid}
    return 1


def t_reply(ctx, code: IntV, reason: Fmt) -> int:
    """t_reply(code, reason): reply statefully (creates the transaction if needed)"""
    extra = ctx.data.pop("reply_headers", [])
    body, ctype = ctx.data.pop("reply_body", (b"", None))
    return Y.reply_local(ctx, code, reason, extra, body, ctype)


def t_release(ctx) -> int:
    """t_release(): forget the transaction now"""
    if ctx.t is None:
        return -1
    from .timers import forget
    forget(ctx.rt, ctx.t["tid"])
    return 1


# --- routes ----------------------------------------------------------------------

def t_on_failure(ctx, name: FailureRouteName) -> int:
    """t_on_failure(route): failure_route[route] runs when every branch failed"""
    ctx.data["tm.on_failure"] = name
    return 1


def t_on_reply(ctx, name: ReplyRouteName) -> int:
    """t_on_reply(route): onreply_route[route] runs for each reply"""
    ctx.data["tm.on_reply"] = name
    return 1


def t_on_branch(ctx, name: BranchRouteName) -> int:
    """t_on_branch(route): branch_route[route] runs for each branch sent"""
    ctx.data["tm.on_branch"] = name
    return 1


def t_on_branch_failure(ctx, name: Fmt) -> int:
    """t_on_branch_failure(name): event_route[tm:branch-failure:name] runs for
    each branch of this transaction that fails (negative final reply or timeout)"""
    from .bfailure import PREFIX, route_of
    if name and route_of(ctx.rt, name) is None:
        ctx.rt.log(-1, "tm: t_on_branch_failure: no event_route[%s%s]" % (PREFIX, name))
        return -1
    ctx.data["tm.on_branch_failure"] = name
    return 1


def t_set_fr(ctx, inv: IntV, noninv: IntV) -> int:
    """t_set_fr(fr_inv_timeout, fr_timeout) in ms for this transaction"""
    ctx.data["tm.fr_inv"] = inv
    ctx.data["tm.fr"] = noninv
    return 1


def t_set_fr1(ctx, inv: IntV) -> int:
    """t_set_fr(fr_inv_timeout)"""
    ctx.data["tm.fr_inv"] = inv
    return 1


def t_reset_fr(ctx) -> int:
    """t_reset_fr(): back to the module's timers"""
    ctx.data.pop("tm.fr_inv", None)
    ctx.data.pop("tm.fr", None)
    return 1


# --- questions ----------------------------------------------------------------------

def _rec(ctx):
    t = ctx.t
    if t is None:
        return None
    return R.table(ctx.rt).get(T.tkey(t["tid"]))


def _reply_code(ctx):
    bc = ctx.data.get("tm.branch_code")
    if bc is not None:          # a branch-failure route: the failed branch's code
        return bc
    if ctx.reply is not None and not ctx.reply.is_request:
        return ctx.reply.status
    if not ctx.msg.is_request:
        return ctx.msg.status
    rec = _rec(ctx)
    if rec is not None and rec.get("best"):
        return rec["best"][0]
    return ctx.data.get("tm.best")


def t_check_status(ctx, rx: Regex) -> int:
    """t_check_status(regex): the reply's status code matches"""
    code = _reply_code(ctx)
    if code is None:
        return -1
    return 1 if rx.search(str(code)) else -1


def t_is_canceled(ctx) -> int:
    """t_is_canceled(): the caller CANCELed this transaction"""
    rec = _rec(ctx)
    return 1 if rec is not None and rec.get("canceled") else -1


def t_check_trans(ctx) -> int:
    """t_check_trans(): CANCEL → its INVITE transaction exists; another
    request with a transaction is a retransmission (answered, script ends)"""
    msg = ctx.msg
    tab = R.table(ctx.rt)
    if not msg.is_request:
        return 1 if T.parse_branch(msg.branch) else -1
    if msg.method == "CANCEL":
        return 1 if T.find_tid(tab, T.server_key(msg, "INVITE")) else -1
    tid = T.find_tid(tab, T.server_key(msg))
    if tid is None:
        return -1
    if msg.method == "ACK":
        return 1
    R.retransmission(ctx, tid)
    return 0


def t_lookup_request(ctx) -> int:
    """t_lookup_request(): a transaction exists for this request"""
    return 1 if T.find_tid(R.table(ctx.rt), T.server_key(ctx.msg)) else -1


def _branches(ctx):
    rec = _rec(ctx)
    return rec["b"] if rec is not None else []


def t_branch_timeout(ctx) -> int:
    """t_branch_timeout(): the failed branch timed out"""
    if "tm.branch_code" in ctx.data:
        return 1 if ctx.reply is None else -1
    rec = _rec(ctx)
    best = rec.get("best") if rec else None
    return 1 if best and best[0] == 408 and not best[1] else -1


def t_branch_replied(ctx) -> int:
    """t_branch_replied(): the failed branch got a reply"""
    if "tm.branch_code" in ctx.data:
        return 1 if ctx.reply is not None else -1
    rec = _rec(ctx)
    best = rec.get("best") if rec else None
    return 1 if best and best[1] else -1


def t_any_timeout(ctx) -> int:
    """t_any_timeout(): some branch timed out"""
    return 1 if any(b["c"] == 408 and b["f"] for b in _branches(ctx)) else -1


def t_any_replied(ctx) -> int:
    """t_any_replied(): some branch got a reply"""
    return 1 if any(b["c"] and not (b["c"] == 408) for b in _branches(ctx)) else -1


def t_flush_flags(ctx) -> int:
    """t_flush_flags(): store the message flags in the transaction"""
    rec = _rec(ctx)
    if rec is None:
        return -1

    def upd(r):
        if r is not None:
            r["ctx"]["flags"] = ctx.flags
        return r
    R.table(ctx.rt).update(T.tkey(ctx.t["tid"]), upd)
    return 1


# --- before the script: absorb what belongs to a transaction ---------------------------

def pre_script(ctx) -> bool:
    """Hop-by-hop ACK to our negative reply, and request retransmissions."""
    msg = ctx.msg
    rt = ctx.rt
    tab = rt.tables.get("tm")
    if tab is None or msg.method == "CANCEL":
        return False
    sk = T.server_key(msg)
    if sk.startswith("k:"):
        # t_relay() of this same message uses it again (RFC 3261 keys only:
        # an RFC 2543 key holds the R-URI, which the script may change)
        ctx.data["tm.sk"] = (msg, sk)
    tid = T.server_tid(sk)
    if msg.method == "ACK":
        rec = tab.get(T.tkey(tid))
        entry = None if rec is None or rec.get("local") else F.decide(F.IST, rec.get("ss"), "recv_ack")
        if entry is None or F.TO_TU in entry[0]:
            return False      # no final sent yet, or the ACK of a 2xx: end to end, through the script
        if entry[1] != rec["ss"]:
            box = {}

            def confirm(r):
                if r is None:
                    return tab.KEEP
                e = F.decide(F.IST, r.get("ss"), "recv_ack")
                if e is None or e[1] == r["ss"]:
                    return tab.KEEP
                r["ss"] = e[1]          # Completed -> Confirmed: Timer G stops
                box["confirmed"] = True
                return r
            tab.update(T.tkey(tid), confirm)
            if box:
                Y._wait(rt, tid, "INVITE")    # wt_timer plays Timer I
        rt.count("tm:absorbed_acks")
        return True
    if tab.header(T.tkey(tid)) is None:
        ctx.data["tm.fresh"] = msg      # create() need not look again (its insert still decides)
        return False
    R.retransmission(ctx, tid)
    return True


# --- PVs ----------------------------------------------------------------------------

def _pv(fn):
    def factory(spec, resolve):
        if spec.inner is not None:
            raise ConfigError(spec.pos, "$%s takes no name" % spec.name)
        return FuncPV(spec, fn)
    return factory


def _reason(ctx):
    br = ctx.data.get("tm.branch_reason")
    if br is not None:
        return br
    if ctx.reply is not None and not ctx.reply.is_request:
        return b2s(ctx.reply.reason)
    if not ctx.msg.is_request:
        return b2s(ctx.msg.reason)
    rec = _rec(ctx)
    best = rec.get("best") if rec else None
    if best and best[1]:
        from kampy.sip import parse
        return b2s(parse(best[1]).reason)
    if best:
        return best[3] if len(best) > 3 else None
    return None


def _branch_idx(ctx):
    if ctx.t is not None and ctx.t.get("bf") is not None:
        return ctx.t["bf"]
    rec = _rec(ctx)
    best = rec.get("best") if rec else None
    return best[2] if best else 0


def t_req_factory(spec, resolve):
    """$T_req(pv): a PV read on the transaction's request."""
    from kampy.script.pvparse import parse_pv
    if not spec.inner or not spec.inner.startswith("$"):
        raise ConfigError(spec.pos, "$T_req needs a pseudo-variable")
    inner, _e = parse_pv(spec.inner, 0, spec.pos)
    pv = resolve(inner)

    def get(ctx):
        rec = _rec(ctx)
        if rec is None:
            return pv.get(ctx) if ctx.msg.is_request else None
        from kampy.sip import parse
        from kampy.script.context import Context
        c = Context(ctx.rt, parse(rec["req"]), rec["src"][0], rec["src"][1])
        return pv.get(c)
    return FuncPV(spec, get)


def t_rpl_factory(spec, resolve):
    """$T_rpl(pv): a PV read on the reply being handled (failure/onreply)."""
    from kampy.script.pvparse import parse_pv
    if not spec.inner or not spec.inner.startswith("$"):
        raise ConfigError(spec.pos, "$T_rpl needs a pseudo-variable")
    inner, _e = parse_pv(spec.inner, 0, spec.pos)
    pv = resolve(inner)

    def get(ctx):
        reply = ctx.reply if ctx.reply is not None else (None if ctx.msg.is_request else ctx.msg)
        if reply is None:
            return None
        from kampy.script.context import Context
        c = Context(ctx.rt, reply, ctx.src_ip, ctx.src_port)
        return pv.get(c)
    return FuncPV(spec, get)


def t_factory(spec, resolve):
    """$T(name): id_index, id_label, reply_code, reply_reason, branch_index, ..."""
    getters = {
        "reply_code": _reply_code, "reply_reason": _reason, "branch_index": _branch_idx,
        "id_label": lambda ctx: ctx.t["tid"] if ctx.t else None,
        "id_index": lambda ctx: int(ctx.t["tid"][:4], 16) if ctx.t else None,
        "reply_type": lambda ctx: 0 if (ctx.reply is not None and ctx.reply.raw) else 1,
        "ruid": lambda ctx: None,
    }
    fn = getters.get(spec.inner or "")
    if fn is None:
        raise ConfigError(spec.pos, "unknown $T(%s)" % spec.inner)
    return FuncPV(spec, fn)


PVS = {
    "T_reply_code": _pv(_reply_code),
    "T_reply_reason": _pv(_reason),
    "T_branch_idx": _pv(_branch_idx),
    "T_req": t_req_factory,
    "T_rpl": t_rpl_factory,
    "T": t_factory,
}


class Api:
    """What other modules use through rt.api("tm")."""

    def __init__(self, rt):
        self.rt = rt

    def reply(self, ctx, code, reason):
        """t_reply() for other modules (sl_send_reply with a transaction):
        headers added by append_to_reply() and a set reply body go with it."""
        return t_reply(ctx, code, reason)

    def relay(self, ctx, host=None, port=None):
        return R.relay(ctx, host, port)

    def register_reply_callback(self, fn):
        """fn(ctx, rec, code) runs for every reply to one of our branches (not
        for retransmissions of a final), in the worker that received it,
        before it is relayed and with no lock held.  ctx.msg is the reply;
        rec["req"] is the request as relayed (bytes)."""
        if fn not in Y.REPLY_CALLBACKS:
            Y.REPLY_CALLBACKS.append(fn)

    def register_final_callback(self, fn):
        """fn(rt, rec, code) runs when a transaction sends its negative final
        reply upstream (>= 300: the best branch reply after failure_route, a
        local 408 or 500, a t_reply), in that process, with no lock held.
        rec["req"] is the request as received (script edits applied)."""
        if fn not in Y.FINAL_CALLBACKS:
            Y.FINAL_CALLBACKS.append(fn)

    def set_reply_filter(self, ctx, name, data):
        """Ask that every reply of the transaction ctx's request creates (or,
        in failure_route, of its new branches) goes through the filter
        registered as name, with data saved in the transaction (msgpack-able)."""
        ctx.data.setdefault("tm.rf", {})[name] = data

    def get_reply_filter(self, ctx, name):
        """The data set_reply_filter saved for ctx's transaction (or None)."""
        return (ctx.data.get("tm.rf") or {}).get(name)

    def register_reply_filter(self, name, fn):
        """fn(rt, reply_msg, data) edits a reply of a relayed transaction in
        whichever process receives it, before onreply_route, failure_route
        and relaying (Kamailio's TMCB_RESPONSE_IN).  Our Via may already be
        popped.  Register before the fork (mod_init)."""
        # interned and kept alive here: every record decode meets the name as
        # a map key, and msgpack would otherwise intern and drop it each time
        Y.REPLY_FILTERS[sys.intern(name)] = fn

    def register_request_out_callback(self, fn):
        """fn(ctx, tid, idx, data) runs for every branch request t_relay()
        builds (data: the bytes about to be sent, every edit applied, our Via
        on top), in the process relaying it, before it is sent and with no
        lock held.  Register before the fork (mod_init)."""
        if fn not in R.REQUEST_OUT_CALLBACKS:
            R.REQUEST_OUT_CALLBACKS.append(fn)

    def send_request(self, method, ruri, from_uri, to_uri, **kw):
        """A new request in its own client transaction; replies (1xx and
        final) and a timeout (code 408, reply None) go to the callback
        registered under kw["callback"] with kw["data"].  Returns the tid.

        Within a dialog: ruri is the remote target, from_tag/to_tag/call_id/
        cseq the dialog's, and route_set=[Route URIs] its route set: with a
        loose first route (;lr) the request goes to that route with the
        routes as Route headers; with a strict one, that route becomes the
        R-URI and the remote target the last Route (RFC 3261 §12.2.1.1).
        next_hop= overrides where it is sent."""
        from .local import send_request
        return send_request(self.rt, method, ruri, from_uri, to_uri, **kw)

    def resend(self, tid, add_headers=(), callback=None, data=None):
        """The request of local transaction tid again with CSeq+1 and more
        headers (authentication), as a new transaction; returns its tid."""
        from .local import resend
        return resend(self.rt, tid, add_headers, callback, data)

    def register_callback(self, name, fn):
        """fn(rt, tid, reply_or_None, code, data) for requests sent with callback=name."""
        from .local import register
        register(name, fn)

    def transaction(self, ctx):
        """The transaction record of ctx (a dict snapshot) or None."""
        return _rec(ctx)


# --- RPC ----------------------------------------------------------------------------

def rpc_stats(rt):
    """tm.stats: current, created and finished transactions by class"""
    c = rt.counters
    out = {}
    for name in ("current", "created", "1xx_transactions", "2xx_transactions", "3xx_transactions",
                 "4xx_transactions", "5xx_transactions", "6xx_transactions", "local_replies",
                 "relayed_replies", "retransmissions", "timeouts"):
        try:
            out[name] = c.get("tm:" + name)
        except KeyError:
            out[name] = 0
    return out


def rpc_list(rt):
    """tm.list: the transactions in memory (method, Call-ID, branches, state)"""
    from kampy.sip import parse
    out = []
    for key, rec in R.table(rt).items():
        if not str(key).startswith("t:") or not isinstance(rec, dict):
            continue
        try:
            if rec.get("stub"):        # a finished non-INVITE kept for retransmissions
                callid, cseq = rec["ci"], rec["cq"]
            else:
                req = parse(rec["req"])
                callid = b2s(req.call_id)
                cseq = "%d %s" % (req.cseq.number, req.cseq.method)
        except Exception:
            callid, cseq = "", ""
        src = rec.get("src")
        out.append({
            "tid": key[2:], "method": rec.get("m"), "callid": callid, "cseq": cseq,
            "from": "%s:%d" % (src[0], src[1]) if src else "local",
            "state": rec.get("ss") or "-",
            "branch_states": ",".join(b.get("s", "") for b in rec.get("b", [])),
            "final": rec.get("fin", 0), "branches": len(rec.get("b", [])),
            "replies": ",".join(str(b["c"]) for b in rec.get("b", [])),
        })
    return out
