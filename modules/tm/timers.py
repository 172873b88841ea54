# SPDX-License-Identifier: GPL-2.0-or-later
"""tm's timers, fired by the timer process (kind "tm").

Keys: `r|tid|n` the timer of branch n: it retransmits the request (Timer A /
E) and ends the branch when its final-response deadline passes (the
branch's `fd`, absolute ms: fr_timer, moved to fr_inv_timer by the first
1xx to an INVITE) -- one entry per branch, each firing re-arms it for
whichever comes first; `f|tid|n` only the deadline (a branch dropped in
onsend_route, never sent); `g|tid|ms` retransmit our negative final reply
to an INVITE until its ACK (Timer G, ended by Timer H); `w|tid|0` forget
the finished transaction; `h|tid|0` Timer H (no ACK to our negative final).
What each firing does is the transaction's table's answer (fsm.decide) for
its state: a timer that no longer runs there is ignored.  Nothing is cancelled: an entry that finds its
branch final (or, for `f`, a newer generation) does nothing.
"""

from .params import P
from . import fsm as F
from . import relay as R
from . import trans as T


def fire(rt, key, gen):
    kind, tid, arg = key.split("|")
    n = int(arg)
    if kind == "r":
        branch_timer(rt, tid, n)
    elif kind == "f":
        timeout(rt, tid, n, gen)
    elif kind == "g":
        reply_retransmit(rt, tid, n)
    elif kind == "w":
        forget(rt, tid)
    elif kind == "h":
        timer_h(rt, tid)


def arm_branch(rt, tid, n, fd, now=None):
    """Start the timer of a branch just sent: first retransmission or deadline."""
    now = rt.now_ms() if now is None else now
    rt.timers.arm(max(1, min(P.retr_timer1, fd - now)), "tm", "r|%s|%d" % (tid, n), 0)


def branch_timer(rt, tid, n):
    """Retransmit the branch's request if it is due, time the branch out if
    its deadline passed, and re-arm for the next of the two."""
    tab = R.table(rt)
    key = T.tkey(tid)
    head = tab.header(key)
    if head is None or head[1] & T.final_bit(n):
        return           # gone, or that branch has its final reply: nothing to do
    now = rt.now_ms()
    out = {}
    hdr = {}

    def step(r):
        if r is None or n >= len(r["b"]):
            return tab.KEEP
        b = r["b"][n]
        state = b["s"]
        if state in F.CLIENT_DONE or b.get("bad") or b.get("pend"):
            return tab.KEEP
        machine = F.ICT if r["m"] == "INVITE" else F.NICT
        fd = b.get("fd")
        if fd is not None and now >= fd:
            entry = F.decide(machine, state, _deadline_event(machine, state))
            if entry is None:
                return tab.KEEP
            hdr["flags"] |= T.final_bit(n)
            return _timeout_step(r, b, n, out, entry)
        out["rec"] = r
        entry = F.decide(machine, state, "timer_a" if machine == F.ICT else "timer_e")
        if entry is None:
            # Timer A stopped at the first provisional: only the deadline is left
            if fd is not None:
                out["next"] = fd - now
            return tab.KEEP
        acts, b["s"] = entry
        out["req"], out["dst"] = b["r"], b["d"]
        b["ri"] = F.retransmit_ms(F.arm_spec(acts, "A" if machine == F.ICT else "E"), b["ri"],
                                  P.retr_timer1, P.retr_timer2)
        out["next"] = b["ri"] if fd is None else min(b["ri"], fd - now)
        return r
    tab.update(key, step, header=hdr)
    if "timeout" in out:
        _timed_out(rt, tid, n, out)
        return
    if "next" not in out:
        return
    if "req" in out:
        rt.send(R._sock(rt, out["rec"]["sock"]), out["dst"][0], out["dst"][1], out["req"])
        rt.count("tm:retransmissions")
    rt.timers.arm(max(1, out["next"]), "tm", "r|%s|%d" % (tid, n), 0)


def _deadline_event(machine, state):
    """The timer that a branch's passed deadline is: B (INVITE, no
    provisional yet), C (INVITE, rang: fr_inv_timer) or F (non-INVITE)."""
    if machine == F.ICT:
        return "timer_c" if state == "Proceeding" else "timer_b"
    return "timer_f"


def _timeout_step(r, b, n, out, entry):
    """Under the lock: branch n ends with a local 408 (the table's Timeout);
    a branch that rang is CANCELed (Timer C), one that never answered is
    just abandoned (Timer B: RFC 3261 §9.1, no CANCEL before a provisional)."""
    acts, b["s"] = entry
    out["timeout"] = True
    out["rec"] = r
    out["cancel"] = F.SEND_CANCEL_ONCE in acts and not b["cs"]
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


def timeout(rt, tid, n, gen):
    """No final reply in time: a local 408 for that branch (CANCEL it if it rang)."""
    tab = R.table(rt)
    out = {}
    hdr = {}

    def step(r):
        if r is None or n >= len(r["b"]):
            return tab.KEEP
        b = r["b"][n]
        if b["s"] in F.CLIENT_DONE or b["g"] != gen or b.get("pend"):
            return tab.KEEP
        machine = F.ICT if r["m"] == "INVITE" else F.NICT
        entry = F.decide(machine, b["s"], _deadline_event(machine, b["s"]))
        if entry is None:
            return tab.KEEP
        hdr["flags"] |= T.final_bit(n)
        return _timeout_step(r, b, n, out, entry)
    tab.update(T.tkey(tid), step, header=hdr)
    if out:
        _timed_out(rt, tid, n, out)


def _timed_out(rt, tid, n, out):
    rt.count("tm:timeouts")
    rec = out["rec"]
    if out.get("cancel"):
        R.send_cancel(rt, rec, out["req"], out["dst"])
    if out.get("branch_failure"):
        from .bfailure import run_branch_failure
        from .replies import settle
        run_branch_failure(rt, rec, tid, n, 408, None)
        settle(rt, tid, 1)
    elif out.get("finish"):
        from .replies import finish
        finish(rt, tid, timeout=True)


def reply_retransmit(rt, tid, interval):
    """Timer G: our negative final reply to an INVITE, again, while the
    transaction is Completed (no ACK yet, Timer H not fired)."""
    rec = R.table(rt).get(T.tkey(tid))
    if rec is None or not rec.get("lr"):
        return
    entry = F.decide(F.IST, rec.get("ss"), "timer_g")
    if entry is None:
        return           # Confirmed (ACKed) or Terminated: G no longer runs
    R.send_upstream(rt, rec, rec["lr"])
    rt.count("tm:retransmissions")
    nxt = F.retransmit_ms(F.arm_spec(entry[0], "G"), interval, P.retr_timer1, P.retr_timer2)
    rt.timers.arm(nxt, "tm", "g|%s|%d" % (tid, nxt), 0)


def timer_h(rt, tid):
    """Timer H: no ACK came for our negative final (RFC 3261 §17.2.1): the
    transaction ends (Terminated) and is dropped."""
    tab = R.table(rt)
    box = {}

    def step(r):
        if r is None:
            return tab.KEEP
        entry = F.decide(F.IST, r.get("ss"), "timer_h")
        if entry is None:
            return tab.KEEP      # ACKed meanwhile: Timer I (wt_timer) ends it
        r["ss"] = entry[1]
        box["h"] = True
        return r
    tab.update(T.tkey(tid), step)
    if box:
        rt.log(3, "tm: no ACK for the final reply of transaction %s (Timer H)" % tid)
        forget(rt, tid)


def forget(rt, tid):
    """Drop a finished transaction -- unless it
    is still running (failure-route branches): then look again later."""
    tab = R.table(rt)
    key = T.tkey(tid)
    head = tab.header(key)
    if head is None:
        return
    if head[1] & T.F_GONE:
        if tab.delete(key):
            rt.count("tm:current", -1)
        return
    box = {}

    def step(r):
        if r is None:
            return tab.KEEP
        if not r.get("fin") and not r.get("done") and rt.now_ms() - r["t0"] < P.max_inv_lifetime:
            box["again"] = True
            return tab.KEEP
        box["gone"] = True
        return tab.DELETE
    tab.update(key, step)
    if "again" in box:
        rt.timers.arm(P.wt_timer, "tm", "w|%s|0" % tid, 0)
        return
    if "gone" in box:
        rt.count("tm:current", -1)
