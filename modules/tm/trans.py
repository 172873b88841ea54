# SPDX-License-Identifier: GPL-2.0-or-later
"""Transactions in the shared table: keys, records, small helpers.

A transaction is one record `t:<tid>` (a dict, msgpack-encoded in shared
memory).  A server transaction's tid is a hash of its server key
(server_tid), so that a retransmission, a CANCEL or a hop-by-hop ACK
arriving at any worker finds it with no index.
Our branches carry the tid in their Via branch (`z9hG4bK<tid>.<n>`), so a
reply finds its transaction and branch without any index.

Record fields: m method, req the request as relayed (script edits applied,
before our Via), src [ip, port] of the caller, sock index of the receiving
socket, sk server key, tt our To tag for local replies, ss the server
transaction's state (IST or NIST of fsm.py, by the RFC's name: "Proceeding",
"Completed", "Confirmed", "Accepted", ...; empty for a transaction a module
started: it has no server side), lr/lc the last reply sent upstream and its code, b branches, best [code,
reply] the best final reply so far, fr/onr/br route names, ctx saved script
state, done (completion taken), fin (final code sent upstream), t0 start ms,
eol end of life in ms (t0 + max_inv_lifetime / max_noninv_lifetime), bfr
the branch-failure route name and bfp how many branch-failure routes are
running (the transaction is not completed while one runs).
A branch: s its client transaction's state (ICT or NICT: "Calling",
"Trying", "Proceeding", "Completed", "Accepted", "Terminated"; "Idle" while a
slot is reserved), u URI, d [ip, port], r request sent, c highest code received,
f final received (s is Completed, Accepted or Terminated), ri retransmission interval, cp CANCEL pending, cs CANCEL
sent, g generation (bumped by the first 1xx to an INVITE and the final), fd
the final-response deadline in ms (fr_timer, then fr_inv_timer from the first
1xx to an INVITE; see timers.py), pend a slot reserved while its request is
built.

Every event (a reply, a timer, the TU's reply, an ACK, a CANCEL, a request
retransmission) is looked up in the state's table (fsm.decide) under the
record's lock; the table's actions say what tm does and its next state is
stored.  tm keeps its own timer values (modparams, t_set_fr) and a single
timer entry per branch, so it reads the templates rather than calling
fsm.step.
"""

import binascii
import hashlib
import os

from kampy.sip import build

PREFIX = b"z9hG4bK"


# Header flags of a transaction record, read with Table.header() without
# decoding the record: bit n set once branch n (n < 48) has its final reply;
# F_GONE once the transaction is finished (and nothing else runs on it), so its
# wait timer may simply delete it.
F_GONE = 1 << 60


def final_bit(n: int) -> int:
    return 1 << n if n < 48 else 0


def new_tid(local: bool = False) -> str:
    """16 characters; a transaction a module started itself (no caller
    upstream) begins with "l", so its replies are known before a lookup."""
    tid = binascii.hexlify(os.urandom(8)).decode()
    return "l" + tid[1:] if local else tid


def branch_id(tid: str, idx: int) -> bytes:
    return PREFIX + tid.encode() + b".%d" % idx


def parse_branch(branch):
    """(tid, idx) from one of our branches, else None."""
    if not branch or not branch.startswith(PREFIX):
        return None
    rest = branch[len(PREFIX):]
    tid, dot, idx = rest.partition(b".")
    if not dot or len(tid) != 16 or not idx.isdigit():
        return None
    return tid.decode("ascii", "replace"), int(idx)


def server_key(msg, method=None):
    """RFC 3261 §17.2.3 (branch, sent-by, method; ACK matches its INVITE),
    or the RFC 2543 fallback from Call-ID, CSeq, From tag, To tag, R-URI, Via."""
    via = msg.via
    m = method or msg.method
    if m == "ACK":
        m = "INVITE"
    branch = via.branch if via is not None else None
    if branch and branch.startswith(PREFIX):
        return "k:%s|%s|%s" % (branch.decode("latin-1").lower(), via.sent_by.decode("latin-1").lower(), m)
    cseq = msg.cseq
    return "k2543:%s|%s|%s|%s|%s|%s" % (
        (msg.call_id or b"").decode("latin-1"), cseq.number if cseq else 0,
        (msg.from_tag or b"").decode("latin-1"), (msg.to_tag or b"").decode("latin-1") if m != "INVITE" else "",
        msg.ruri.decode("latin-1") if m != "ACK" else "", via.sent_by.decode("latin-1") if via else "")


def server_tid(sk: str) -> str:
    """The tid of the server transaction whose key is sk: derived from the
    key, so a retransmission, a CANCEL or a hop-by-hop ACK arriving at any
    worker finds the record in one lookup, with no index to keep.  Hex, so
    never mistaken for a local tid."""
    return hashlib.blake2b(sk.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def find_tid(tab, sk: str):
    """tid of the transaction with server key sk, or None (no decoding)."""
    tid = server_tid(sk)
    return tid if tab.header(tkey(tid)) is not None else None


def tkey(tid: str) -> str:
    return "t:" + tid


def end_of_life(method: str, t0: int, inv_ms: int, noninv_ms: int) -> int:
    return t0 + (inv_ms if method == "INVITE" else noninv_ms)


def capped(now_ms: int, rec, delay: int) -> int:
    """A branch's final-response timer, never past the transaction's end of
    life (Kamailio's max_inv_lifetime / max_noninv_lifetime): once that is
    reached, a pending branch times out at once (408, CANCEL if it rang)."""
    eol = rec.get("eol") if rec is not None else None
    if not eol:
        return delay
    return max(1, min(delay, eol - now_ms))


def compact(r, msg=None):
    """What a finished transaction keeps while it waits (a non-INVITE: Timer
    J, 64*T1; an INVITE: wt_timer, or until the ACK of our negative final):
    enough to answer a retransmitted request with the final reply, relay a
    2xx retransmission, ACK a repeated negative final and absorb the rest --
    not the request, the script state or the requests of branches that need
    no ACK.  A BYE's record goes from ~1.3 KB to ~0.5 KB, an INVITE's from
    ~2-4 KB to ~0.5 KB, so the waiting costs a fraction of the memory."""
    ci = cq = ""
    try:
        if msg is None:        # a reply of the transaction has the same Call-ID and CSeq
            from kampy.sip import parse
            msg = parse(r["req"])
        ci = (msg.call_id or b"").decode("latin-1")
        cq = "%d %s" % (msg.cseq.number, msg.cseq.method) if msg.cseq else ""
    except Exception:
        pass
    return {"m": r["m"], "ss": r["ss"], "lr": r["lr"], "lc": r["lc"], "src": r["src"], "sock": r["sock"],
            "fin": r["fin"], "done": r["done"], "t0": r["t0"], "ci": ci, "cq": cq, "stub": 1,
            "b": [_branch_stub(b, r["m"]) for b in r["b"]],
            **({"rf": r["rf"]} if r.get("rf") else {})}     # a relayed 2xx retransmission is filtered too


def _branch_stub(b, method):
    out = {"s": b["s"], "f": b["f"], "c": b["c"], "g": b["g"]}
    if method == "INVITE" and b["s"] == "Completed":
        out["r"], out["d"] = b["r"], b["d"]     # a repeated negative final gets our ACK again
    return out


def compactable(r) -> bool:
    """A transaction of a caller upstream, answered, every branch final, no
    branch-failure route running."""
    return not r.get("local") and r["fin"] >= 200 and r["done"] and not r.get("bfp") \
        and all(b["f"] for b in r["b"])


def best_reply(codes):
    """RFC 3261 §16.7 step 6: the branch whose final code to forward.
    6xx beats everything, else the lowest class; 503 counts as 500."""
    best = None
    for i, code in codes:
        cls = code // 100
        rank = (0 if cls == 6 else cls, 500 if code == 503 else code)
        if best is None or rank < best[0]:
            best = (rank, i)
    return None if best is None else best[1]


def _hop_request(branch_request: bytes, method: bytes, to_value=None, extra=()) -> bytes:
    """A request of ours on the same branch (ACK for a negative reply, CANCEL):
    same R-URI, top Via, Route set, From, Call-ID and CSeq number (§17.1.1.3, §9.1)."""
    from kampy.sip import parse
    req = parse(branch_request)
    lines = [method + b" " + req.ruri + b" SIP/2.0"]
    vias = req.headers("via")
    lines.append(b"Via: " + vias[0].split(b",")[0].strip())
    for value in req.headers("route"):
        lines.append(b"Route: " + value)
    lines.append(b"From: " + req.header("from"))
    lines.append(b"To: " + (to_value or req.header("to")))
    lines.append(b"Call-ID: " + req.call_id)
    lines.append(b"CSeq: %d " % req.cseq.number + method)
    lines.append(b"Max-Forwards: 70")
    lines.extend(extra)
    lines.append(b"Content-Length: 0")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def make_ack(branch_request: bytes, reply) -> bytes:
    """The ACK a proxy sends itself for a non-2xx final reply: To of the reply."""
    return _hop_request(branch_request, b"ACK", reply.header("to"))


def make_cancel(branch_request: bytes, reason: bytes = None) -> bytes:
    """CANCEL of one of our INVITE branches."""
    return _hop_request(branch_request, b"CANCEL", None, [b"Reason: " + reason] if reason else [])


def local_reply(req_bytes: bytes, code: int, reason, to_tag: bytes, server=None,
                headers=(), body=b"", content_type=None, rf=None, rt=None) -> bytes:
    """A reply the transaction generates itself (100, 408, a t_reply).  It is
    built from the request as the script left it, so the transaction's reply
    filters (rf, e.g. uac giving the caller its own From back) run on it too."""
    from kampy.sip import parse
    # the caller may hand over the parsed request it just stored (relay's 100 Trying)
    req = parse(req_bytes) if isinstance(req_bytes, (bytes, bytearray)) else req_bytes
    data = build.make_reply(req, code, reason, to_tag=to_tag, server=server,
                            headers=headers, body=body, content_type=content_type)
    if rf and rt is not None:
        from .replies import _filter
        msg = parse(data)
        _filter(rt, msg, rf)
        data = msg.serialize()
    return data
