# SPDX-License-Identifier: GPL-2.0-or-later
"""Creating transactions and sending their branches (t_relay, CANCEL).

Theory of operation.  t_relay() on a new request stores the transaction,
then sends one branch per destination: the R-URI (with $du) and every
appended branch.  Each branch is the relayed request with its own R-URI and
our Via on top, whose branch names the transaction and the branch index.
Timers are armed in the shared wheel: retransmission (Timer A/E, doubling
from T1 up to T2) and final-response (fr_timer / fr_inv_timer).  Locks are
held only inside Table.update; sending and scripts run after it.
"""

from kampy.script import core_funcs
from kampy.script.context import Context
from kampy.script.pv import b2s, s2b
from kampy.sip import build, parse
from kampy.module import FAILURE_ROUTE, BRANCH_ROUTE

from .params import P
from . import fsm as F
from . import trans as T

REQUEST_OUT_CALLBACKS = []   # fn(ctx, tid, idx, data): every branch request, built, before it is sent


def table(rt):
    return rt.tables["tm"]


def _request_out(ctx, tid, idx, data):
    """Modules that must see a request as it leaves (dialog records the CSeq
    the far end gets, after every module changed it)."""
    for fn in REQUEST_OUT_CALLBACKS:
        try:
            fn(ctx, tid, idx, data)
        except Exception as e:
            ctx.rt.log(-1, "tm: request-out callback %r failed: %r" % (fn, e))


def saved_state(ctx) -> dict:
    return {"avps": {k: list(v) for k, v in ctx.avps.d.items()}, "flags": ctx.flags,
            "bflags": ctx.bflags}


def restore_state(ctx, st):
    ctx.avps.d = {k: list(v) for k, v in st.get("avps", {}).items()}
    ctx.flags = st.get("flags", 0)
    ctx.bflags = st.get("bflags", 0)


def _sock_index(rt, sock):
    for i, s in enumerate(rt.sockets):
        if s is sock:
            return i
    return 0


def _sock(rt, idx):
    return rt.sockets[idx] if 0 <= idx < len(rt.sockets) else rt.default_socket()


def targets(ctx, host=None, port=None):
    """(uri, next hop text) of every branch to send: the R-URI with $du, then
    appended branches.  t_relay(host, port) overrides the next hop."""
    out = [(b2s(ctx.msg.ruri), ctx.du, None)]
    for b in ctx.branches:
        out.append((b.uri, b.du, b.path))
    if host:
        hop = "sip:%s:%d" % (host, port or 5060)
        out = [(u, hop, p) for u, _d, p in out]
    return out


def _branch_path(msg, first_path, path):
    """A branch built from the R-URI branch's request: take away the Route
    lookup() added for the R-URI's Path, put this branch's own (RFC 3327)."""
    if first_path:
        for pos in msg.positions("route"):
            if msg._val(pos).strip() == first_path:
                msg.remove_header_at(pos)
                break
    if path:
        routes = msg.positions("route")
        if routes:
            msg.append_header(b"Route: " + s2b(path), before=routes[0])
        else:
            vias = msg.positions("via")
            msg.append_header(b"Route: " + s2b(path), before=vias[-1] + 1 if vias else 0)


def branch_request(ctx, base: bytes, uri: str, idx: int, tid: str, first: bool, msg=None) -> bytes:
    """The request of one branch: R-URI, our Via with the branch id.  msg: the
    branch's own copy when branch_route edited it."""
    rt = ctx.rt
    if msg is None:
        msg = ctx.msg if first else parse(base)
    if s2b(uri) != msg.ruri:
        msg.set_ruri(s2b(uri))
    sock = ctx.send_socket or ctx.rcv or rt.default_socket()
    host = ctx.data.get("adv_addr") or sock.host
    port = ctx.data.get("adv_port") or sock.public_port
    msg.push_via(build.via_value(host, port, T.branch_id(tid, idx), "UDP", ctx.local_rport))
    return msg.serialize()


def build_branches(ctx, tid, rec, first_new: int, base: bytes, dests) -> list:
    """The branch records for dests, requests built (branch_route run), nothing sent."""
    rt = ctx.rt
    new = []
    fd = rt.now_ms() + capped_fr(rt, rec)      # the branches' final-response deadline
    sent_state = F.FIRST_STATE[F.ICT if rec["m"] == "INVITE" else F.NICT]
    first_path = s2b(ctx.data.get("path_route") or "")
    for n, d in enumerate(dests):
        uri, du = d[0], d[1]
        path = d[2] if len(d) > 2 else None
        idx = first_new + n
        bad = {"u": uri, "d": None, "r": b"", "c": 0, "f": 1, "ri": 0, "cp": 0, "cs": 0, "g": 0, "bad": 1,
               "s": "Terminated"}     # never sent: nothing of the machine runs
        hop = core_funcs.next_hop(ctx, du or uri)
        if hop is None:
            rt.log(-1, "tm: cannot resolve the next hop of %s" % (du or uri))
            new.append(bad)
            continue
        first = n == 0 and first_new == 0
        bmsg = None
        if not first and (first_path or path):
            bmsg = parse(base)
            _branch_path(bmsg, first_path, path)
        if rec.get("brn"):
            broute = rt.script.branch_routes.get(rec["brn"])
            if broute is not None:
                # each branch gets its own copy: what branch_route changes
                # (headers, From/To by uac) belongs to that branch only
                if bmsg is None:
                    bmsg = ctx.msg if first else parse(base)
                saved_msg, saved_type = ctx.msg, ctx.route_type
                ctx.msg = bmsg
                ctx.route_type = BRANCH_ROUTE
                if s2b(uri) != bmsg.ruri:
                    bmsg.set_ruri(s2b(uri))
                try:
                    rt.run_route(broute, ctx)
                finally:
                    ctx.msg, ctx.route_type = saved_msg, saved_type
                if ctx.dropped:
                    ctx.dropped = False
                    new.append(bad)
                    continue
        data = branch_request(ctx, base, uri, idx, tid, first=first, msg=bmsg)
        if REQUEST_OUT_CALLBACKS:
            _request_out(ctx, tid, idx, data)
        new.append({"u": uri, "d": [hop[0], hop[1]], "r": data, "c": 0, "f": 0, "ri": P.retr_timer1,
                    "cp": 0, "cs": 0, "g": 0, "fd": fd, "s": sent_state})
    return new


def start_branches(ctx, tid, first_new: int, new: list, rec=None) -> int:
    """Send stored branches and arm their timers; returns how many went out."""
    from .timers import arm_branch
    rt = ctx.rt
    sock = ctx.send_socket or ctx.rcv or rt.default_socket()
    now = rt.now_ms()
    sent = 0
    for n, b in enumerate(new):
        if b.get("bad"):
            continue
        idx = first_new + n
        if rt.script.onsend_route is not None and \
                not core_funcs.run_onsend(ctx, sock, b["d"][0], b["d"][1], b["r"]):
            # dropped in onsend_route: not sent; the branch ends by its fr timer
            rt.timers.arm(max(1, b["fd"] - now), "tm", "f|%s|%d" % (tid, idx), 0)
            continue
        rt.send(sock, b["d"][0], b["d"][1], b["r"])
        arm_branch(rt, tid, idx, b["fd"], now)
        rt.count("tm:relayed_branches")
        sent += 1
    return sent


def capped_fr(rt, rec) -> int:
    """fr_timer (or t_set_fr's) for a new branch, capped by the end of life."""
    if rec is None:
        return P.fr_timer
    return T.capped(rt.now_ms(), rec, rec.get("fr_ms") or P.fr_timer)


def send_branches(ctx, tid, base: bytes, dests) -> int:
    """New branches on a stored transaction (failure_route, branch-failure
    route).  Their slots are reserved under the lock first, so two workers
    adding branches at once never share an index, and a reserved slot keeps
    the transaction from completing while its request is being built."""
    rt = ctx.rt
    tab = table(rt)
    box = {}

    def reserve(r):
        if r is None or 200 <= r.get("fin", 0) < 300:
            return tab.KEEP
        box["first"] = len(r["b"])
        box["rec"] = r
        r["b"].extend({"u": u, "d": None, "r": b"", "c": 0, "f": 0, "ri": 0, "cp": 0, "cs": 0, "g": 0,
                       "pend": 1, "s": "Idle"} for u, *_rest in dests)
        return r
    tab.update(T.tkey(tid), reserve)
    if "first" not in box:
        return 0
    first = box["first"]
    new = build_branches(ctx, tid, box["rec"], first, base, dests)

    rf = ctx.data.get("tm.rf")      # branch_route may have asked for reply filters

    def fill(r):
        if r is None:
            return tab.KEEP
        if rf:
            r["rf"] = dict(rf)
        for n, b in enumerate(new):
            if r["b"][first + n].get("cp") and not b.get("bad"):
                b["cp"] = 1        # CANCELed meanwhile (held in Calling): sent once this branch rings
            r["b"][first + n] = b
        return r
    tab.update(T.tkey(tid), fill)
    sent = start_branches(ctx, tid, first, new, box["rec"])
    if sent < len(new):
        from .replies import settle
        settle(rt, tid, 0)      # unusable destinations may have been the last pending slots
    return sent


def create(ctx, store=True):
    """A new server transaction for ctx.msg: (tid, record), (None, existing
    tid) for a retransmission, (None, None) on failure.  With store=False the
    caller stores the record itself once it is complete (one write, not four)."""
    rt = ctx.rt
    msg = ctx.msg
    tab = table(rt)
    cached = ctx.data.get("tm.sk")
    sk = cached[1] if cached is not None and cached[0] is msg else T.server_key(msg)
    tid = T.server_tid(sk)
    if ctx.data.pop("tm.fresh", None) is not msg and tab.header(T.tkey(tid)) is not None:
        return None, tid          # a retransmission
    core_funcs.apply_received(ctx)
    base = msg.serialize()
    rec = {
        "m": msg.method, "req": base, "src": [ctx.src_ip, ctx.src_port],
        "sock": _sock_index(rt, ctx.rcv), "sk": sk, "tt": build.make_tag().decode(),
        "ss": F.FIRST_STATE[F.IST if msg.method == "INVITE" else F.NIST], "lr": b"", "lc": 0, "b": [],
        "best": None,
        "fr": ctx.data.get("tm.on_failure", ""), "onr": ctx.data.get("tm.on_reply", ""),
        "brn": ctx.data.get("tm.on_branch", ""), "ctx": saved_state(ctx), "done": 0,
        "fin": 0, "t0": rt.now_ms(), "du": ctx.du or "",
        "fr_ms": ctx.data.get("tm.fr", 0), "frinv_ms": ctx.data.get("tm.fr_inv", 0),
        "bfr": ctx.data.get("tm.on_branch_failure", ""), "bfp": 0,
    }
    rec["eol"] = T.end_of_life(rec["m"], rec["t0"], P.max_inv_lifetime, P.max_noninv_lifetime)
    rf = ctx.data.get("tm.rf")
    if rf:
        rec["rf"] = dict(rf)
    if store:
        stored = store_record(rt, tid, rec)
        if stored is not True:
            return None, (tid if stored == "exists" else None)
    return tid, rec


def store_record(rt, tid, rec):
    """True, "exists" (another worker stored the same request first: this
    one is a retransmission) or "full"."""
    tab = table(rt)
    key = T.tkey(tid)
    if not tab.insert(key, rec):
        if tab.header(key) is not None:
            return "exists"
        rt.log(-1, "tm: transaction table full")
        return "full"
    rt.count("tm:created")
    rt.count("tm:current")
    return True


def send_upstream(rt, rec, data: bytes):
    src = rec["src"]
    rt.send(_sock(rt, rec["sock"]), src[0], src[1], data)


def relay(ctx, host=None, port=None) -> int:
    """t_relay(): statefully forward ctx.msg (ACK: statelessly)."""
    rt = ctx.rt
    msg = ctx.msg
    if msg.method == "ACK":
        return core_funcs.forward_request(ctx, "sip:%s:%d" % (host, port or 5060) if host else None)
    if msg.method == "CANCEL":
        return relay_cancel(ctx)
    existing = ctx.t
    if existing is not None and existing.get("new_branches"):
        return add_branches(ctx, host, port)
    tid, rec = create(ctx, store=False)
    if tid is None:
        if rec is not None:   # a retransmission: answer it with the last reply
            retransmission(ctx, rec)
            return 0
        return -1
    ctx.t = {"tid": tid}
    trying = None
    if P.auto_inv_100 and F.SENDS_TRYING[F.IST if rec["m"] == "INVITE" else F.NIST]:
        # from the message just serialized into rec["req"]: no second parse
        trying = T.local_reply(msg, 100, P.auto_inv_100_reason, b"", rt.server_header,
                               rf=rec.get("rf"), rt=rt)
        rec["lr"], rec["lc"] = trying, 100
    new = build_branches(ctx, tid, rec, 0, rec["req"], targets(ctx, host, port))
    rec["b"] = new
    rf = ctx.data.get("tm.rf")
    if rf:                      # branch_route may have asked for reply filters
        rec["rf"] = dict(rf)
    # stored complete before anything is sent: a reply may reach another worker at once
    stored = store_record(rt, tid, rec)
    if stored is not True:
        if stored == "exists":
            retransmission(ctx, tid)
            return 0
        return -1
    if trying is not None:
        send_upstream(rt, rec, trying)
    sent = start_branches(ctx, tid, 0, new, rec)
    if sent == 0:
        from .replies import complete_local
        complete_local(rt, tid, 500, "No destination")
        return -1
    return 1


def _set_last(r, data, code):
    if r is None:
        return None
    if code >= r.get("lc", 0) or code >= 200:
        r["lr"] = data
        r["lc"] = code
    return r


def retransmission(ctx, tid):
    """A request we already have: resend the last reply (or absorb)."""
    rt = ctx.rt
    rec = table(rt).get(T.tkey(tid)) if isinstance(tid, str) else None
    rt.count("tm:retransmissions_rcv")
    if rec is None or ctx.msg.method == "ACK" or rec.get("local"):
        return
    entry = F.decide(F.server_machine(rec["m"]), rec["ss"], "recv_retransmission")
    if entry is not None and F.RESEND_REPLY in entry[0] and rec.get("lr"):
        send_upstream(rt, rec, rec["lr"])      # else absorbed (Trying, Confirmed, Accepted, ...)


def add_branches(ctx, host=None, port=None) -> int:
    """t_relay() in failure_route (the transaction is reopened: new failure
    route, best reply forgotten) or in a branch-failure route (new branches
    beside the pending ones, nothing else changes)."""
    rt = ctx.rt
    tid = ctx.t["tid"]
    in_bf = ctx.t.get("bf") is not None

    def reopen(r):
        if r is None:
            return table(rt).KEEP
        if not in_bf:
            r["done"] = 0
            r["best"] = None
            r["fr"] = ctx.data.get("tm.on_failure", "")
            r["brn"] = ctx.data.get("tm.on_branch", "")
            r["bfr"] = ctx.data.get("tm.on_branch_failure", r.get("bfr", ""))
            r["ctx"] = saved_state(ctx)
        r["onr"] = ctx.data.get("tm.on_reply", r.get("onr", ""))
        rf = ctx.data.get("tm.rf")
        if rf:
            r["rf"] = dict(rf)
        return r
    if table(rt).update(T.tkey(tid), reopen) is table(rt).KEEP:
        return -1
    ctx.t["relayed"] = True
    dests = targets(ctx, host, port)
    sent = send_branches(ctx, tid, ctx.msg.serialize(), dests)
    return 1 if sent else -1


def relay_cancel(ctx) -> int:
    """A CANCEL: 200 to it, CANCEL on every pending branch of its INVITE."""
    rt = ctx.rt
    msg = ctx.msg
    tab = table(rt)
    tid = T.find_tid(tab, T.server_key(msg, "INVITE"))
    from modules.sl.reply import reply as sl_reply
    if tid is None:
        return -1
    sl_reply(ctx, 200, "canceling")
    cancel_branches(rt, tid)
    return 1


def cancel_branches(rt, tid):
    """Send CANCEL on branches that got a provisional; remember it for the others."""
    tab = table(rt)
    to_send = []

    def mark(r):
        if r is None:
            return tab.KEEP
        for i, req, dst in mark_cancel(r, rt.now_ms):
            to_send.append((i, req, dst))
        return r
    tab.update(T.tkey(tid), mark)
    rec = tab.get(T.tkey(tid))
    for i, req, dst in to_send:
        send_cancel(rt, rec, req, dst)
        # Timer C now runs 64*T1 (RFC 3261 §9.1): the branch timer ends the
        # branch then if no final reply came (mark_cancel moved its deadline)
        rt.timers.arm(64 * P.retr_timer1, "tm", "r|%s|%d" % (tid, i), 0)


def mark_cancel(r, now_ms) -> list:
    """Under the transaction's lock: the CANCEL event on every INVITE branch,
    as its table says (RFC 3261 §9.1): a branch in Calling holds it until its
    first provisional reply, one in Proceeding sends it now (once) and waits
    64*T1 at most for the final reply; finished branches ignore it.
    Returns [(index, branch request, destination)] to CANCEL."""
    r["canceled"] = 1
    out = []
    if r["m"] != "INVITE":
        return out
    for i, b in enumerate(r["b"]):
        if b.get("pend"):
            b["cp"] = 1            # its request is being built: held like Calling
            continue
        if b.get("bad"):
            continue
        entry = F.decide(F.ICT, b["s"], "cancel")
        if entry is None:
            continue
        acts = entry[0]
        if F.HOLD_CANCEL in acts:
            b["cp"] = 1
        elif F.SEND_CANCEL_ONCE in acts and not b["cs"]:
            b["cs"] = 1
            fd = b.get("fd")
            end = now_ms() + 64 * P.retr_timer1
            b["fd"] = min(fd, end) if fd else end
            out.append((i, b["r"], b["d"]))
        b["s"] = entry[1]
    return out


def send_cancel(rt, rec, branch_req, dst):
    if not branch_req or not dst:
        return
    data = T.make_cancel(branch_req)
    rt.send(_sock(rt, rec["sock"]), dst[0], dst[1], data)


def failure_context(rt, rec, tid, reply_msg=None, route_type=FAILURE_ROUTE):
    """A context to run failure_route (or a branch-failure route) in, in
    whichever process got here."""
    msg = parse(rec["req"])
    ctx = Context(rt, msg, rec["src"][0], rec["src"][1], "udp", _sock(rt, rec["sock"]), route_type)
    restore_state(ctx, rec.get("ctx", {}))
    ctx.du = rec.get("du") or None
    ctx.t = {"tid": tid, "new_branches": True, "rec": rec}
    if rec.get("rf"):
        ctx.data["tm.rf"] = dict(rec["rf"])
    ctx.reply = reply_msg
    return ctx
