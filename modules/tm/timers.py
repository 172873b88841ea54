# SPDX-License-Identifier: GPL-2.0-or-later
"""tm's timers, fired by the timer process (kind "tm").

Keys: `r|tid|n` retransmit branch n (Timer A / E), `f|tid|n` final-response
timeout of branch n (fr_timer, fr_inv_timer after a 1xx), `g|tid|ms`
retransmit our negative final reply to an INVITE until its ACK (Timer G,
ended by Timer H), `w|tid|0` forget the finished transaction.  Cancelling is
lazy: an entry whose generation is older than the branch's is ignored.
"""

from .params import P
from . import relay as R
from . import trans as T


def fire(rt, key, gen):
    kind, tid, arg = key.split("|")
    n = int(arg)
    if kind == "r":
        retransmit(rt, tid, n, gen)
    elif kind == "f":
        timeout(rt, tid, n, gen)
    elif kind == "g":
        reply_retransmit(rt, tid, n)
    elif kind == "w":
        forget(rt, tid)


def retransmit(rt, tid, n, gen):
    tab = R.table(rt)
    out = {}

    def step(r):
        if r is None or n >= len(r["b"]):
            return tab.KEEP
        b = r["b"][n]
        if b["f"] or b["g"] != gen or b.get("bad"):
            return tab.KEEP
        if r["m"] == "INVITE" and b["c"] >= 100:
            return tab.KEEP            # Timer A stops at the first provisional
        out["req"], out["dst"] = b["r"], b["d"]
        if b["c"] >= 100:
            b["ri"] = P.retr_timer2    # Timer E in Proceeding: every T2
        else:
            b["ri"] = min(b["ri"] * 2, P.retr_timer2) if r["m"] != "INVITE" else b["ri"] * 2
        out["next"] = b["ri"]
        return r
    tab.update(T.tkey(tid), step)
    if not out:
        return
    rec = tab.get(T.tkey(tid))
    if rec is None:
        return
    rt.send(R._sock(rt, rec["sock"]), out["dst"][0], out["dst"][1], out["req"])
    rt.count("tm:retransmissions")
    rt.timers.arm(out["next"], "tm", "r|%s|%d" % (tid, n), gen)


def timeout(rt, tid, n, gen):
    """No final reply in time: a local 408 for that branch (CANCEL it if it rang)."""
    tab = R.table(rt)
    out = {}

    def step(r):
        if r is None or n >= len(r["b"]):
            return tab.KEEP
        b = r["b"][n]
        if b["f"] or b["g"] != gen or b.get("pend"):
            return tab.KEEP
        # a branch that rang is CANCELed; one that never answered is just
        # abandoned (RFC 3261 §9.1: no CANCEL before a provisional reply)
        out["cancel"] = r["m"] == "INVITE" and b["c"] >= 100 and not b["cs"]
        if out["cancel"]:
            b["cs"] = 1
        b["f"] = 1
        b["c"] = 408
        b["g"] += 1
        out["req"], out["dst"] = b["r"], b["d"]
        best = r.get("best")
        if best is None or T.best_reply([(0, best[0]), (1, 408)]) == 1:
            r["best"] = [408, b"", n, "Request Timeout"]
        if r.get("bfr") and not r["done"] and not r["fin"]:
            r["bfp"] = r.get("bfp", 0) + 1
            out["branch_failure"] = True
        elif all(x["f"] for x in r["b"]) and not r["done"] and not r["fin"]:
            r["done"] = 1
            out["finish"] = True
        return r
    tab.update(T.tkey(tid), step)
    if not out:
        return
    rt.count("tm:timeouts")
    rec = tab.get(T.tkey(tid))
    if rec is not None and out.get("cancel"):
        R.send_cancel(rt, rec, out["req"], out["dst"])
    if out.get("branch_failure") and rec is not None:
        from .bfailure import run_branch_failure
        from .replies import settle
        run_branch_failure(rt, rec, tid, n, 408, None)
        settle(rt, tid, 1)
    elif out.get("finish"):
        from .replies import finish
        finish(rt, tid, timeout=True)


def reply_retransmit(rt, tid, interval):
    """Timer G: our negative final reply to an INVITE, until ACK or Timer H."""
    rec = R.table(rt).get(T.tkey(tid))
    if rec is None or rec.get("ss") != "completed" or not rec.get("lr"):
        return
    if rt.now_ms() - rec["t0"] > 64 * P.retr_timer1 + P.fr_inv_timer + P.max_inv_lifetime:
        return
    R.send_upstream(rt, rec, rec["lr"])
    nxt = min(interval * 2, P.retr_timer2)
    rt.timers.arm(nxt, "tm", "g|%s|%d" % (tid, nxt), 0)


def forget(rt, tid):
    tab = R.table(rt)
    rec = tab.get(T.tkey(tid))
    if rec is None:
        return
    if not rec.get("fin") and not rec.get("done") and rt.now_ms() - rec["t0"] < P.max_inv_lifetime:
        rt.timers.arm(P.wt_timer, "tm", "w|%s|0" % tid, 0)   # still running (failure route branches)
        return
    tab.delete(rec["sk"])
    tab.delete(T.tkey(tid))
    rt.count("tm:current", -1)
