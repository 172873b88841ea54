# SPDX-License-Identifier: GPL-2.0-or-later
"""Replies to our branches, in whichever worker receives them.

The branch id in the top Via names the transaction and the branch.  The
record is updated under its bucket lock (Table.update) and the decision —
relay a provisional, relay a 2xx at once, store a negative final, finish the
transaction when every branch is final — is taken there; sending and running
onreply_route / failure_route happen after the lock is released.  Exactly
one process finishes a transaction: the one whose update sets `done`.
"""

from kampy.module import ONREPLY_ROUTE
from kampy.script.context import ScriptExit
from kampy.sip import parse

from .params import P
from . import fsm as F
from . import relay as R
from . import trans as T


REPLY_CALLBACKS = []   # fn(ctx, rec, code): modules (dialog) watching replies
FINAL_CALLBACKS = []   # fn(rt, rec, code): a negative final reply of ours went upstream
REPLY_FILTERS = {}     # name -> fn(rt, reply_msg, data): edits a reply before anything sees it


def _filter(rt, msg, rf):
    """Run the reply filters a transaction asked for (rec["rf"]: name -> data),
    e.g. uac restoring the caller's From/To and CSeq."""
    for name, data in rf.items():
        fn = REPLY_FILTERS.get(name)
        if fn is None:
            continue
        try:
            fn(rt, msg, data)
        except Exception as e:
            rt.log(-1, "tm: reply filter %s failed: %r" % (name, e))


def _callbacks(ctx, rec, code):
    for fn in REPLY_CALLBACKS:
        try:
            fn(ctx, rec, code)
        except Exception as e:
            ctx.rt.log(-1, "tm: reply callback %r failed: %r" % (fn, e))


def reply_hook(ctx) -> bool:
    """Module reply hook: True when the reply belongs to one of our branches."""
    msg = ctx.msg
    ids = T.parse_branch(msg.branch)
    if ids is None:
        return False
    tid, idx = ids
    rt = ctx.rt
    cseq = msg.cseq
    if cseq is not None and cseq.method == "CANCEL":
        return True          # the reply to our hop-by-hop CANCEL ends here
    tab = R.table(rt)
    code = msg.status
    decision = {}
    hdr = {}
    early = None
    if 100 < code < 300 and tid[0] != "l":
        # ready before the lock: a provisional reply is sent from inside it
        # when no onreply_route has to see it first (one table write, not two)
        try:
            msg.pop_via()
            early = msg.serialize()
        except Exception:
            early = None

    def apply(r):
        nonlocal early
        if r is None or idx >= len(r["b"]):
            return tab.KEEP
        decision["rec"] = r        # the version this update leaves: no second read
        b = r["b"][idx]
        rf = r.get("rf")
        if rf and "filtered" not in decision:
            decision["filtered"] = True
            _filter(rt, msg, rf)
            if early is not None:
                early = msg.serialize()
        invite = r["m"] == "INVITE"
        state = b["s"]
        entry = F.decide(F.ICT if invite else F.NICT, state, F.REPLY_EVENTS[code // 100])
        if entry is None:
            decision["absorb"] = True          # a reply to a request not sent yet
            return tab.KEEP
        acts, b["s"] = entry
        if state in F.CLIENT_DONE:
            # the branch has its final reply: a retransmission of it gets our
            # ACK again (Completed), another 2xx of an INVITE goes upstream
            # (RFC 3261 §16.7 step 5, RFC 6026), anything else is absorbed
            decision["retr_final"] = acts
            return tab.KEEP
        if code < 200:
            first = b["c"] < 100
            b["c"] = max(b["c"], code)
            decision["provisional"] = True
            decision["first_1xx"] = first
            if F.SEND_HELD_CANCEL in acts and b["cp"] and not b["cs"]:
                b["cs"] = 1
                decision["cancel"] = (b["r"], b["d"])
            if invite:
                b["g"] += 1            # stops Timer A
                if first:              # Timer C (fr_inv_timer) from now on: the branch timer re-arms to it
                    now = rt.now_ms()
                    b["fd"] = now + T.capped(now, r, P.fr_inv_timer if r.get("local")
                                             else (r.get("frinv_ms") or P.fr_inv_timer))
            decision["gen"] = b["g"]
            if early is not None and not r.get("onr") and not r["fin"]:
                R.send_upstream(rt, r, early)
                rt.count("tm:relayed_replies")
                _last(r, early, code)
                decision["sent"] = True
            return r
        b["c"] = code
        b["f"] = 1
        b["g"] += 1
        hdr["flags"] |= T.final_bit(idx)        # the branch timer sees it without decoding
        if F.ACK in acts:
            decision["ack"] = (b["r"], b["d"])
        if r.get("local"):
            # one branch, nobody upstream: completed in this same write
            r["done"] = 1
            decision["local_final"] = True
            hdr["flags"] |= T.F_GONE
            return _final(r, b"", code)
        if code < 300:
            decision["relay_2xx"] = True
            r["lc"] = code
            _server_event(r, code)
            if not invite and early is not None and not r.get("onr"):
                r["lr"] = early      # answers retransmissions of the request
                decision["stored"] = True
            if not r["fin"] or r["fin"] < 300:
                r["fin"] = code
            if invite:
                if r.get("onr") or r.get("local"):
                    decision["cancel_others"] = True     # after onreply_route, as Kamailio does
                else:
                    decision["cancels"] = R.mark_cancel(r, rt.now_ms)
            if not r["done"]:
                r["done"] = 1
                decision["finish"] = "2xx"
            hdr["flags"] |= T.F_GONE           # over: its wait timer deletes it without decoding
            if (invite or "stored" in decision) and T.compactable(r):
                return T.compact(r, msg)        # stored; the callers after the lock get r whole
            return r
        best = r.get("best")
        if best is None or T.best_reply([(0, best[0]), (1, code)]) == 1:
            r["best"] = [code, ctx.msg.serialize(), idx]
        if r.get("bfr") and not r["done"] and not r["fin"]:
            r["bfp"] = r.get("bfp", 0) + 1     # completion waits for the branch-failure route
            decision["branch_failure"] = True
        elif all(x["f"] for x in r["b"]) and not r["done"] and not r["fin"]:
            r["done"] = 1
            decision["finish"] = "negative"
        return r
    found = tab.update(T.tkey(tid), apply, header=hdr)
    rt.count("tm:received_replies")
    if "rec" not in decision or "absorb" in decision:
        if found is tab.KEEP and 200 <= code < 300 and cseq is not None and cseq.method == "INVITE" \
                and tab.get(T.tkey(tid)) is None:
            # a 2xx retransmission after the transaction was forgotten: a
            # proxy relays it statelessly (RFC 3261 §16.7 step 4, §18.2.2)
            from kampy.worker import forward_reply
            forward_reply(ctx)
        return True          # otherwise absorbed (finished, or bad branch index)
    rec = decision["rec"]
    if rec.get("local"):
        return _local_reply(ctx, rec, tid, idx, code, decision)
    if REPLY_CALLBACKS and "retr_final" not in decision:
        _callbacks(ctx, rec, code)
    if "retr_final" in decision:
        acts = decision["retr_final"]
        if F.ACK in acts:
            _send_ack(rt, rec, rec["b"][idx], ctx.msg)
        elif F.TO_TU in acts or (200 <= code < 300 and rec["m"] == "INVITE"):
            # an INVITE's 2xx always goes upstream: through the branch's
            # machine (Completed, Accepted), or, when that has ended (Timer B),
            # as the proxy core forwards a reply with no transaction (§16.7)
            _relay(rt, rec, ctx.msg)
        return True
    if "ack" in decision:
        _send_ack(rt, rec, rec["b"][idx], ctx.msg)
    if "cancel" in decision:
        req, dst = decision["cancel"]
        R.send_cancel(rt, rec, req, dst)
    if decision.get("provisional"):
        if decision.get("sent"):
            return True
        if code > 100 and _run_onreply(ctx, rec, tid) and not ctx.dropped:
            if early is None:
                return True
            data = ctx.msg.serialize()   # with what onreply_route changed (our Via already off)

            def send_if_not_final(r):
                # The one send done under the transaction's lock: a 2xx taken by
                # another worker sets `fin` under this lock, so a 1xx can never
                # overtake it on the way upstream (Kamailio's reply lock).
                if r is None or r.get("fin"):
                    return tab.KEEP
                R.send_upstream(rt, r, data)
                rt.count("tm:relayed_replies")
                return _last(r, data, code)
            tab.update(T.tkey(tid), send_if_not_final)
        return True
    if decision.get("relay_2xx"):
        if rec.get("onr") or REPLY_CALLBACKS or early is None:
            _run_onreply(ctx, rec, tid)   # a 2xx is relayed even if the route drops it
            data = _relay(rt, rec, ctx.msg)
        else:
            data = early                  # nothing could change it since: no second serialize
            R.send_upstream(rt, rec, data)
            rt.count("tm:relayed_replies")
        if rec["m"] != "INVITE" and not decision.get("stored"):
            # kept to answer retransmissions of a non-INVITE request; an
            # INVITE's 2xx is retransmitted end to end by the callee
            tab.update(T.tkey(tid), lambda r: _last(r, data, code))
        for _i, req, dst in decision.get("cancels", ()):
            R.send_cancel(rt, rec, req, dst)
        if decision.get("cancel_others"):
            R.cancel_branches(rt, tid)
        rt.count("tm:2xx_transactions")
        _wait(rt, tid, rec["m"])
        return True
    _run_onreply(ctx, rec, tid)
    if decision.get("branch_failure"):
        from .bfailure import run_branch_failure
        run_branch_failure(rt, rec, tid, idx, code, ctx.msg)
        settle(rt, tid, 1)
    elif decision.get("finish") == "negative":
        finish(rt, tid)
    return True


def settle(rt, tid, ran: int):
    """After a branch-failure route (ran=1) or branches that could not be
    sent (ran=0): complete the transaction if every branch is final and no
    other branch-failure route is still running (exactly one process does)."""
    tab = R.table(rt)
    box = {}

    def step(r):
        if r is None:
            return tab.KEEP
        r["bfp"] = max(0, r.get("bfp", 0) - ran)
        if not r["bfp"] and all(x["f"] for x in r["b"]) and not r["done"] and not r["fin"]:
            r["done"] = 1
            box["finish"] = True
        return r
    tab.update(T.tkey(tid), step)
    if box:
        finish(rt, tid)


def _final_out(rt, rec, code):
    """The transaction answered upstream with a negative final (the best
    reply, a local 408/500, a t_reply): a dialog waiting on it is over."""
    for fn in FINAL_CALLBACKS:
        try:
            fn(rt, rec, code)
        except Exception as e:
            rt.log(-1, "tm: final-reply callback %r failed: %r" % (fn, e))


def _local_reply(ctx, rec, tid, idx, code, decision) -> bool:
    """A reply to a request a module sent: to its callback, nothing upstream."""
    from .local import deliver, ack_2xx
    rt = ctx.rt
    if rec["m"] == "INVITE" and 200 <= code < 300:
        ack_2xx(ctx, rec)      # we are the UAC: the 2xx (and each retransmission) gets our ACK
    if "retr_final" in decision:
        if F.ACK in decision["retr_final"]:
            _send_ack(rt, rec, rec["b"][idx], ctx.msg)
        return True
    if "ack" in decision:
        _send_ack(rt, rec, rec["b"][idx], ctx.msg)
    if code > 100:
        deliver(rt, tid, rec, ctx.msg, code)
    if code >= 200:
        if "local_final" not in decision:
            R.table(rt).update(T.tkey(tid), lambda r: _final(r, b"", code))
        _wait(rt, tid, "INVITE")     # a client transaction only absorbs late replies: wt_timer (Timer K)
    return True


def _server_event(r, code):
    """The TU's reply `code` went (or is going) upstream: the server
    transaction's table moves it on (a 2xx to an INVITE -> Accepted, a final
    to anything else -> Completed).  A pair the table does not allow (a 2xx
    after our 487, which a proxy still relays) leaves the state as it is."""
    ss = r.get("ss")
    if ss and not r.get("local"):
        entry = F.decide(F.IST if r["m"] == "INVITE" else F.NIST, ss, F.TU_EVENTS[code // 100])
        if entry is not None:
            r["ss"] = entry[1]


def _last(r, data, code):
    if r is None:
        return None
    r["lc"] = code
    if data:
        r["lr"] = data
    _server_event(r, code)
    return r


def _run_onreply(ctx, rec, tid) -> bool:
    """onreply_route[...] set by t_on_reply(); False if it dropped the reply."""
    rt = ctx.rt
    name = rec.get("onr")
    if not name:
        return True
    route = rt.script.onreply_routes.get(name)
    if route is None:
        return True
    ctx.route_type = ONREPLY_ROUTE
    ctx.t = {"tid": tid, "rec": rec}
    R.restore_state(ctx, rec.get("ctx", {}))
    rt.run_route(route, ctx)
    return not ctx.dropped


def _relay(rt, rec, reply):
    """Send a reply upstream: our Via removed."""
    try:
        reply.pop_via()
        data = reply.serialize()
    except Exception as e:
        rt.log(-1, "tm: cannot relay reply: %r" % (e,))
        return None
    R.send_upstream(rt, rec, data)
    rt.count("tm:relayed_replies")
    return data


def _send_ack(rt, rec, b, reply):
    if not b.get("r") or not b.get("d"):
        return
    try:
        data = T.make_ack(b["r"], reply)
    except Exception as e:
        rt.log(-1, "tm: cannot build ACK: %r" % (e,))
        return
    rt.send(R._sock(rt, rec["sock"]), b["d"][0], b["d"][1], data)


def finish(rt, tid, timeout=False):
    """Every branch is final and none was 2xx: failure_route, else relay the best."""
    tab = R.table(rt)
    rec = tab.get(T.tkey(tid))
    if rec is None:
        return
    if rec.get("local"):
        from .local import deliver
        deliver(rt, tid, rec, None, 408)
        tab.update(T.tkey(tid), lambda r: _final(r, b"", 408))
        _wait(rt, tid, "INVITE")
        return
    best = rec.get("best")
    reply_msg = parse(best[1]) if best and best[1] else None
    fr = rec.get("fr")
    if fr:
        route = rt.script.failure_routes.get(fr)
        if route is not None:
            tab.update(T.tkey(tid), lambda r: _clear_fr(r))
            ctx = R.failure_context(rt, rec, tid, reply_msg)
            ctx.data["tm.best"] = best[0] if best else 408
            try:
                rt.run_route(route, ctx)
            except ScriptExit:
                pass
            if ctx.t.get("relayed"):
                return        # new branches: the transaction goes on
            if ctx.data.get("tm.replied"):
                return        # t_reply() sent the final and armed what follows it
            rec = tab.get(T.tkey(tid)) or rec
    send_best(rt, tid, rec)


def _clear_fr(r):
    if r is None:
        return None
    r["fr"] = ""
    return r


def send_best(rt, tid, rec):
    best = rec.get("best")
    if best is None:
        data = T.local_reply(rec["req"], 500, "No reply", rec["tt"].encode(), rt.server_header,
                             rf=rec.get("rf"), rt=rt)
        code = 500
    elif best[1]:
        reply = parse(best[1])
        reply.pop_via()
        data = reply.serialize()
        code = best[0]
    else:
        code = best[0]
        data = T.local_reply(rec["req"], code, best[3] if len(best) > 3 else "Request Timeout",
                             rec["tt"].encode(), rt.server_header, rf=rec.get("rf"), rt=rt)
    R.send_upstream(rt, rec, data)

    def final(r):
        r = _final(r, data, code)
        if r is not None and r["done"] and T.compactable(r):
            return T.compact(r)       # the end of the line: only retransmissions come now
        return r
    R.table(rt).update(T.tkey(tid), final)
    rt.count("tm:%dxx_transactions" % (code // 100))
    if FINAL_CALLBACKS and code >= 300:
        _final_out(rt, rec, code)
    after_final(rt, tid, rec["m"], code)


def _final(r, data, code):
    if r is None:
        return None
    r["fin"] = code
    r["lr"] = data
    r["lc"] = code
    _server_event(r, code)
    return r


def complete_local(rt, tid, code, reason):
    """A transaction that could not send anything answers itself."""
    rec = R.table(rt).get(T.tkey(tid))
    if rec is None:
        return
    data = T.local_reply(rec["req"], code, reason, rec["tt"].encode(), rt.server_header,
                         rf=rec.get("rf"), rt=rt)
    R.send_upstream(rt, rec, data)
    R.table(rt).update(T.tkey(tid), lambda r: _final(r, data, code))
    if FINAL_CALLBACKS and code >= 300:
        _final_out(rt, rec, code)
    after_final(rt, tid, rec["m"], code)


def reply_local(ctx, code, reason, headers=(), body=b"", ctype=None) -> int:
    """t_reply(): the transaction of ctx answers with a local reply."""
    rt = ctx.rt
    t = ctx.t
    tab = R.table(rt)
    if t is None:
        from . import relay
        tid, rec = relay.create(ctx)
        if tid is None:
            return -1
        ctx.t = t = {"tid": tid}
    tid = t["tid"]
    rec = tab.get(T.tkey(tid))
    if rec is None:
        return -1
    data = T.local_reply(rec["req"], code, reason, rec["tt"].encode() if code > 100 else b"",
                         rt.server_header, headers=headers, body=body, content_type=ctype,
                         rf=rec.get("rf") or ctx.data.get("tm.rf"), rt=rt)
    R.send_upstream(rt, rec, data)
    tab.update(T.tkey(tid), (lambda r: _final(r, data, code)) if code >= 200 else
               (lambda r: _last(r, data, code)))
    if code >= 200:
        ctx.data["tm.replied"] = True
        rt.count("tm:local_replies")
        if FINAL_CALLBACKS and code >= 300:
            _final_out(rt, rec, code)
        after_final(rt, tid, rec["m"], code)
    return 1


def after_final(rt, tid, method, code):
    """What runs once our final reply went upstream.  A negative final to an
    INVITE is retransmitted by Timer G until its ACK (Completed -> Confirmed,
    then wt_timer plays Timer I) or Timer H (64*T1) gives up; the record stays
    until then.  Anything else is kept wt_timer for retransmissions."""
    if method == "INVITE" and code >= 300:
        rt.timers.arm(P.retr_timer1, "tm", "g|%s|%d" % (tid, P.retr_timer1), 0)
        rt.timers.arm(64 * P.retr_timer1, "tm", "h|%s|0" % tid, 0)
    else:
        _wait(rt, tid, method)


def _wait(rt, tid, method=None):
    """Keep the finished transaction for retransmissions, then drop it:
    wt_timer (Kamailio), and for a non-INVITE at least Timer J (64*T1,
    RFC 3261 §17.2.2) so that a client whose final replies got lost still
    gets one when it retransmits."""
    rec = R.table(rt).get(T.tkey(tid)) if method is None else None
    m = method or (rec["m"] if rec else "INVITE")
    wait = P.wt_timer if m == "INVITE" else max(P.wt_timer, 64 * P.retr_timer1)
    rt.timers.arm(wait, "tm", "w|%s|0" % tid, 0)
