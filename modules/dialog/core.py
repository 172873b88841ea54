# SPDX-License-Identifier: GPL-2.0-or-later
"""dialog: the dialog records, their states, matching and timers.

Records live in the shared table "dialog":
  "d:<h_entry>.<h_id>"        the dialog (a dict, see create())
  "x:<call-id> <tag>"         index: Call-ID + From tag (and + To tag once
                              confirmed) -> "<h_entry>.<h_id>"
  "s:<h_entry>"               the next h_id of one entry
Every change of a record is one Table.update, so any worker may handle any
request or reply of a dialog.

What a dialog needs to send requests of its own towards both sides (BYE):
"cc" the caller's Contact (its remote target) and "ce" the callee's (from
the 2xx, refreshed by re-INVITE/UPDATE); "rc" the route set towards the
caller (the INVITE's Record-Route entries below ours, in order) and "re"
towards the callee (the 2xx's entries above ours, reversed), RFC 3261
§12.1; "cs" [downstream, upstream] the last CSeq each far end got from the
other side, taken from the request as tm sends it, after every module
changed it (uac's CSeq shift included); "sc"/"se" the sockets of both sides.
"""

import re
import time
import zlib

from kampy.module import Param, ParamValues
from kampy.script.pv import b2s
from kampy.sip import parse
from kampy.sip.errors import ParseError

UNCONFIRMED, EARLY, CONFIRMED, CONFIRMED_ACK, DELETED = 1, 2, 3, 4, 5
DOWNSTREAM, UPSTREAM = 1, 2
DELETE_DELAY_MS = 10000     # a deleted dialog stays readable this long (late replies, BYE route)


def _positive(v):
    if v <= 0:
        raise ValueError("must be positive")
    return v


P = ParamValues([
    Param("default_timeout", int, 43200, doc="seconds a confirmed dialog lives without a BYE",
          check=_positive),
    Param("hash_size", int, 4096, doc="number of dialog hash entries (h_entry range)", check=_positive),
    Param("rr_param", str, "did", doc="name of the Record-Route param carrying the dialog id"),
    Param("dlg_flag", int, -1, doc="accepted (Kamailio's old way to mark requests; use dlg_manage())"),
    Param("track_cseq_updates", int, 0,
          doc="accepted: uac keeps its own CSeq shift consistent; dialog records the CSeq sent"),
    Param("enable_stats", int, 1), Param("timeout_avp", str, ""), Param("dlg_extra_hdrs", str, ""),
    Param("db_url", str, ""), Param("db_mode", int, 0), Param("table_name", str, "dialog"),
    Param("profiles_with_value", str, ""), Param("profiles_no_value", str, ""),
    Param("send_bye", int, 0), Param("wait_ack", int, 1), Param("ka_timer", int, 0),
    Param("ka_interval", int, 0), Param("end_timeout", int, 300), Param("early_timeout", int, 300),
    Param("noack_timeout", int, 60), Param("detect_spirals", int, 1), Param("dlg_match_mode", int, 1),
    Param("initial_cbs_inscript", int, 1), Param("bridge_controller", str, ""),
    Param("keep_proxy_rr", int, 0), Param("enable_dmq", int, 0), Param("timeout_noreset", int, 0),
    Param("table_buckets", int, 4096, doc="kampy: buckets of the shared dialog table", check=_positive),
    Param("table_mb", int, 8, doc="kampy: MB of shared memory for dialogs", check=_positive),
])

CALLBACKS = {"created": [], "confirmed": [], "terminated": [], "in_dialog": []}


def table(rt):
    return rt.tables["dialog"]


def dkey(did):
    return "d:" + did


def xkey(callid, tag):
    return "x:%s %s" % (callid, tag or "")


def public(did, rec):
    """The dict other modules get for a dialog record."""
    cs = rec.get("cs") or [0, 0]
    return {
        "id": did, "h_entry": rec["he"], "h_id": rec["hi"], "state": rec["st"], "callid": rec["ci"],
        "from_uri": rec["fu"], "to_uri": rec["tu"], "from_tag": rec["ft"], "to_tag": rec["tt"],
        "ref": rec["ref"], "init_ts": rec["ts"], "start_ts": rec["cts"], "timeout": rec["to"],
        "flags": rec["fl"], "vars": dict(rec["v"]),
        "caller_contact": rec.get("cc", ""), "callee_contact": rec.get("ce", ""),
        "caller_route_set": list(rec.get("rc", ())), "callee_route_set": list(rec.get("re", ())),
        "caller_cseq": cs[0], "callee_cseq": cs[1],
    }


def sock_index(rt, sock):
    for i, s in enumerate(rt.sockets):
        if s is sock:
            return i
    return 0


def socket_of(rt, idx):
    return rt.sockets[idx] if 0 <= idx < len(rt.sockets) else rt.default_socket()


def _contact(msg) -> str:
    """The first Contact URI of a message ("" without one)."""
    try:
        c = msg.contacts
    except ParseError:
        return ""
    return b2s(c[0].uri_raw) if c and c != "*" else ""


def _rr_values(msg) -> list:
    """The Record-Route entries of a message as received, in order."""
    try:
        return [b2s(na.raw.strip()) for na in msg.record_routes]
    except ParseError:
        return []


def callee_route_set(did, reply, relayed_req: bytes) -> list:
    """The route set towards the callee from a 2xx (RFC 3261 §12.1.2 seen
    from the middle): the Record-Route entries the callee's side added, i.e.
    those above ours, nearest to us first.  Ours are found by our dialog id
    param; failing that, by counting the entries the relayed INVITE had."""
    entries = _rr_values(reply)
    mark = ";%s=%s" % (P.rr_param, did)
    for i, v in enumerate(entries):
        if mark + ";" in v or mark + ">" in v:
            return entries[:i][::-1]
    try:
        ours_and_below = len(parse(relayed_req).record_routes) if relayed_req else 0
    except ParseError:
        ours_and_below = 0
    return entries[:max(0, len(entries) - ours_and_below)][::-1]


_CSEQ_RE = re.compile(rb"\nCSeq[ \t]*:[ \t]*([0-9]{1,10})", re.I)


def cseq_of(data: bytes):
    m = _CSEQ_RE.search(data)
    return int(m.group(1)) if m else None


def _run_callbacks(rt, event, *args):
    for fn in CALLBACKS[event]:
        try:
            fn(*args)
        except Exception as e:   # a bad callback must not break the message
            rt.log(-1, "dialog: %s callback %r failed: %r" % (event, fn, e), "dialog")


def _count_transition(rt, old, new):
    """Keep dialog:active_dialogs and dialog:early_dialogs current."""
    if old == new:
        return
    if old == EARLY:
        rt.count("dialog:early_dialogs", -1)
    if old in (CONFIRMED, CONFIRMED_ACK) and new not in (CONFIRMED, CONFIRMED_ACK):
        rt.count("dialog:active_dialogs", -1)
    if new == EARLY:
        rt.count("dialog:early_dialogs", 1)
    if new in (CONFIRMED, CONFIRMED_ACK) and old not in (CONFIRMED, CONFIRMED_ACK):
        rt.count("dialog:active_dialogs", 1)


# --- creation ---------------------------------------------------------------------------

def _next_id(rt, h_entry):
    box = {}

    def inc(cur):
        box["id"] = (cur or 0) + 1
        return box["id"]
    table(rt).update("s:%d" % h_entry, inc)
    return box["id"]


def create(ctx):
    """Create the dialog of an initial INVITE (or find the one it already has):
    its id, or None when the request has no Call-ID or From tag."""
    msg = ctx.msg
    callid, ftag = b2s(msg.call_id), b2s(msg.from_tag)
    if not callid or ftag is None:
        return None
    rt = ctx.rt
    tab = table(rt)
    found = tab.get(xkey(callid, ftag))
    if found is not None and tab.get(dkey(found)) is not None:
        return found
    h_entry = zlib.crc32(("%s %s" % (callid, ftag)).encode()) % P.hash_size
    h_id = _next_id(rt, h_entry)
    did = "%d.%d" % (h_entry, h_id)
    cseq = msg.cseq.number if msg.cseq is not None else 0
    sock = sock_index(rt, ctx.rcv)
    rec = {
        "he": h_entry, "hi": h_id, "st": UNCONFIRMED, "ci": callid,
        "fu": b2s(msg.from_.uri_raw) if msg.from_ is not None else "",
        "tu": b2s(msg.to.uri_raw) if msg.to is not None else "",
        "ft": ftag, "tt": "", "ref": 1, "ts": int(time.time()), "cts": 0,
        "to": P.default_timeout, "fl": 0, "v": {}, "g": 0,
        "cc": _contact(msg), "ce": "", "rc": _rr_values(msg), "re": [],
        "cs": [cseq, cseq], "sc": sock, "se": sock_index(rt, ctx.send_socket) if ctx.send_socket else sock,
    }
    if not tab.insert(xkey(callid, ftag), did):
        other = tab.get(xkey(callid, ftag))      # another worker was first
        if other is not None:
            return other
    if not tab.put(dkey(did), rec):
        tab.delete(xkey(callid, ftag))
        rt.log(-1, "dialog: no shared memory for dialog %s" % did, "dialog")
        return None
    rt.count("dialog:processed_dialogs")
    _run_callbacks(rt, "created", ctx, public(did, rec))
    return did


# --- matching ---------------------------------------------------------------------------

def match(ctx):
    """(did, direction) of the dialog ctx's message belongs to, or None.
    Cached in ctx.data["dialog"]."""
    cached = ctx.data.get("dialog")
    if cached is not None:
        return cached
    rt = ctx.rt
    tab = table(rt)
    msg = ctx.msg
    did = None
    if msg.is_request and "rr" in rt.modules:
        try:
            did = rt.api("rr").get_route_param(ctx, P.rr_param)
        except Exception:
            did = None
    callid = b2s(msg.call_id)
    ftag, ttag = b2s(msg.from_tag), b2s(msg.to_tag)
    if did:
        rec = tab.get(dkey(did))
        if rec is None or rec["ci"] != callid:
            did = None
    if not did and callid:
        for tag in (ftag, ttag):
            if tag is None:
                continue
            cand = tab.get(xkey(callid, tag))
            if cand is not None:
                did = cand
                break
    if not did:
        return None
    rec = tab.get(dkey(did))
    if rec is None:
        return None
    if ftag == rec["ft"]:
        direction = DOWNSTREAM
    elif rec["tt"] and ftag == rec["tt"]:
        direction = UPSTREAM
    elif not msg.is_request:
        direction = DOWNSTREAM
    else:
        return None
    if not msg.is_request:
        # a reply travels against its request: a reply with the caller's
        # From tag answers a downstream request, so it goes upstream
        direction = UPSTREAM if direction == DOWNSTREAM else DOWNSTREAM
    ctx.data["dialog"] = (did, direction)
    return did, direction


def get(ctx):
    """ctx's dialog as public() gives it, or None."""
    m = match(ctx)
    if m is None:
        return None
    rec = table(ctx.rt).get(dkey(m[0]))
    if rec is None:
        return None
    return public(m[0], rec)


def change(rt, did, fn):
    """Apply fn(rec) -> rec|None (None: keep) under the lock; the new record or None."""
    tab = table(rt)
    box = {}

    def upd(rec):
        if rec is None:
            return tab.KEEP
        new = fn(dict(rec))
        if new is None:
            return tab.KEEP
        box["r"] = new
        return new
    tab.update(dkey(did), upd)
    return box.get("r")


# --- state changes ----------------------------------------------------------------------

def _terminate(ctx_or_none, rt, did, reason):
    """Move a dialog to DELETED (once) and schedule the removal of its records."""
    old = {}

    def fn(rec):
        if rec["st"] == DELETED:
            return None
        old["st"] = rec["st"]
        rec["st"] = DELETED
        rec["g"] += 1
        return rec
    rec = change(rt, did, fn)
    if rec is None:
        return False
    _count_transition(rt, old["st"], DELETED)
    rt.timers.arm(DELETE_DELAY_MS, "dialog", "del:" + did, rec["g"])
    rt.log(3, "dialog %s terminated (%s)" % (did, reason), "dialog")
    _run_callbacks(rt, "terminated", ctx_or_none, public(did, rec))
    return True


def on_reply(ctx, trec, code):
    """tm reply callback: moves a dialog on the replies to its initial INVITE."""
    msg = ctx.msg
    cseq = msg.cseq
    if cseq is None or cseq.method != "INVITE" or code < 101:
        return
    rt = ctx.rt
    callid, ftag = b2s(msg.call_id), b2s(msg.from_tag)
    if not callid or ftag is None:
        return
    tab = table(rt)
    did = tab.get(xkey(callid, ftag))
    if did is None:
        return
    if code >= 300:
        return      # the call may go on (failure_route, uac_auth): see on_final
    ttag = b2s(msg.to_tag) or ""
    old = {}
    contact, route_set = "", []
    if code >= 200:
        cur = tab.get(dkey(did))
        if cur is not None and cur["st"] not in (UNCONFIRMED, EARLY):
            _refresh_target(rt, did, cur, msg, ftag)   # a 2xx to a re-INVITE
            return
        contact = _contact(msg)
        route_set = callee_route_set(did, msg, trec.get("req", b"") if trec else b"")

    def fn(rec):
        if rec["st"] not in (UNCONFIRMED, EARLY):
            return None
        new = EARLY if code < 200 else CONFIRMED
        if new == rec["st"]:
            return None
        old["st"] = rec["st"]
        rec["st"] = new
        if new == CONFIRMED:
            rec["tt"] = ttag
            rec["cts"] = int(time.time())
            rec["g"] += 1
            rec["ce"] = contact
            rec["re"] = route_set
        return rec
    rec = change(rt, did, fn)
    if rec is None:
        return
    _count_transition(rt, old["st"], rec["st"])
    if rec["st"] == CONFIRMED:
        if ttag:
            tab.put(xkey(callid, ttag), did)
        rt.timers.arm(rec["to"] * 1000, "dialog", "to:" + did, rec["g"])
        _run_callbacks(rt, "confirmed", ctx, public(did, rec))


def on_final(rt, trec, code):
    """tm final-reply callback: the INVITE was answered negatively upstream
    (after failure_route gave up, a timeout, a t_reply): its dialog ends."""
    if trec.get("m") != "INVITE":
        return
    try:
        req = parse(trec["req"])
        callid, ftag = b2s(req.call_id), b2s(req.from_tag)
    except (ParseError, KeyError):
        return
    if not callid or ftag is None:
        return
    did = table(rt).get(xkey(callid, ftag))
    if did is None:
        return
    cur = table(rt).get(dkey(did))
    if cur is not None and cur["st"] in (UNCONFIRMED, EARLY):
        _terminate(None, rt, did, "negative reply %d" % code)


def in_dialog(ctx, did, direction):
    """A sequential request of a known dialog: ACK confirms, BYE ends it."""
    if ctx.data.get("dialog.seen"):
        return
    ctx.data["dialog.seen"] = True
    rt = ctx.rt
    method = ctx.msg.method
    rec = table(rt).get(dkey(did))
    if rec is None:
        return
    _run_callbacks(rt, "in_dialog", ctx, public(did, rec), direction)
    if method in ("INVITE", "UPDATE") and rec["st"] in (CONFIRMED, CONFIRMED_ACK):
        _refresh_target(rt, did, rec, ctx.msg, b2s(ctx.msg.from_tag))
    if method == "ACK" and rec["st"] == CONFIRMED:
        def fn(r):
            if r["st"] != CONFIRMED:
                return None
            r["st"] = CONFIRMED_ACK
            return r
        change(rt, did, fn)
    elif method == "BYE":
        _terminate(ctx, rt, did, "BYE")


def _refresh_target(rt, did, rec, msg, ftag):
    """A target refresh (re-INVITE, UPDATE, or its 2xx): the Contact is the
    new remote target of the side that sent it (RFC 3261 §12.2)."""
    contact = _contact(msg)
    if not contact:
        return
    from_caller = ftag == rec["ft"]
    # a request from the caller carries the caller's Contact, its reply the callee's
    key = ("cc" if from_caller else "ce") if msg.is_request else ("ce" if from_caller else "cc")
    if rec.get(key) == contact:
        return

    def fn(r):
        if r["st"] == DELETED:
            return None
        r[key] = contact
        return r
    change(rt, did, fn)


def on_request_out(ctx, tid, idx, data):
    """tm request-out callback: the CSeq the far end gets, per direction,
    taken after every module changed the request."""
    msg = ctx.msg
    if msg.method in ("ACK", "CANCEL"):
        return
    m = ctx.data.get("dialog")
    if m is None:
        if "dialog.none" in ctx.data:
            return
        m = match(ctx)
        if m is None:
            ctx.data["dialog.none"] = True
            return
    did, direction = m
    n = cseq_of(data)
    if n is None:
        return
    slot = 0 if direction == DOWNSTREAM else 1
    initial = msg.to_tag is None
    se = sock_index(ctx.rt, ctx.send_socket or ctx.rcv) if initial else None

    def fn(rec):
        if rec["st"] == DELETED:
            return None
        cs = list(rec.get("cs") or [0, 0])
        if cs[slot] >= n and (se is None or rec.get("se") == se):
            return None
        cs[slot] = max(cs[slot], n)
        rec["cs"] = cs
        if se is not None:
            rec["se"] = se
        return rec
    change(ctx.rt, did, fn)


def fire(rt, key, gen):
    """Timer handler: "to:<id>" ends a dialog that outlived its timeout,
    "del:<id>" removes a deleted dialog's records."""
    kind, _, did = str(key).partition(":")
    tab = table(rt)
    rec = tab.get(dkey(did))
    if rec is None or rec["g"] != gen:
        return
    if kind == "to":
        if rec["st"] in (CONFIRMED, CONFIRMED_ACK):
            if P.send_bye:
                from .bye import send_bye
                send_bye(rt, did, "all", reason="timeout")
            else:
                _terminate(None, rt, did, "timeout")
        return
    if kind == "del" and rec["st"] == DELETED:
        tab.delete(dkey(did))
        for tag in (rec["ft"], rec["tt"]):
            if tag and tab.get(xkey(rec["ci"], tag)) == did:
                tab.delete(xkey(rec["ci"], tag))


def end_dialog(rt, did, reason="rpc", ctx=None):
    """Terminate a dialog by id locally (no BYE sent): True if it was live."""
    return _terminate(ctx, rt, did, reason)


def all_dialogs(rt):
    out = []
    for key, rec in table(rt).items():
        if isinstance(key, str) and key.startswith("d:") and isinstance(rec, dict):
            out.append((key[2:], rec))
    return out
