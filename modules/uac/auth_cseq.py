# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part of auth: the CSeq shift of requests re-sent with credentials.

A request answered with credentials goes out with CSeq N+k (k challenges),
as RFC 3261 §22.3 asks.  The caller knows nothing of it, so the call is
kept consistent here:

- every reply of that transaction gets the caller's own CSeq back: a tm
  reply filter ("uac.cs", run in whichever worker receives the reply) whose
  data is the caller's number ("o") and the auth state of auth.py;
- the caller's later requests of the dialog (ACK for the 2xx, BYE,
  re-INVITE, UPDATE...) are raised by the same shift on their way to the
  callee, and their replies restored by the same filter.  The shift lives
  in the dialog (variable `_uac_cseq`) when the dialog module tracks the
  call, else in a parameter `ucs` of our Record-Route, which comes back in
  the Route of every request of the dialog; an rr callback reads it when
  loose_route() routes by our Route.  Requests from the callee (its own
  CSeq space) and their replies are left alone.
- a CANCEL needs nothing: tm builds it from each branch's own request.
"""

from kampy.script.pv import b2s
from kampy.sip.errors import ParseError
from kampy.sip.headers import parse_name_addr_list

FILTER = "uac.cs"
DLG_VAR = "_uac_cseq"
RR_PARAM = "ucs"
_DELETED = 5                # the dialog state of a call that ended (Kamailio's number)
_CSEQ_MAX = 0x7FFFFFFF      # RFC 3261 §8.1.1.5: less than 2**31
_WARNED = set()             # what was logged once in this process


def log(rt, level, text):
    rt.log(level, "uac_auth: " + text, "uac")


def _once(rt, key, level, text):
    if key not in _WARNED:
        _WARNED.add(key)
        log(rt, level, text)


def mod_init(rt):
    rt.api("tm").register_reply_filter(FILTER, restore_reply)
    if "rr" in rt.modules:
        rt.api("rr").register_callback(on_route)


def state(ctx):
    """What this transaction already keeps under our filter (or None)."""
    return ctx.rt.api("tm").get_reply_filter(ctx, FILTER)


def _set_cseq(msg, number: int, method: str):
    msg.set_header_value(msg.positions("cseq")[0], b"%d %s" % (number, method.encode()))


# --- replies: the caller's CSeq back ------------------------------------------------------

def restore_reply(rt, reply, data):
    """tm reply filter: the CSeq number the caller sent."""
    orig = data.get("o") if isinstance(data, dict) else None
    cseq = reply.cseq
    if orig is None or cseq is None or cseq.number == orig:
        return
    _set_cseq(reply, orig, cseq.method)


# --- the re-sent request -----------------------------------------------------------------

def raise_cseq(ctx, st: dict) -> bool:
    """CSeq of ctx.msg (the request as first relayed) + number of answers
    given; st (auth state) saved for the new branches; the shift kept for
    the rest of the dialog."""
    rt = ctx.rt
    msg = ctx.msg
    cseq = msg.cseq
    k = st.get("n", 0) + 1
    new = cseq.number + k
    if new > _CSEQ_MAX:
        log(rt, -1, "CSeq %d cannot be raised any more" % cseq.number)
        return False
    orig = st.get("o", cseq.number)
    _set_cseq(msg, new, cseq.method)
    st["n"] = k
    st["o"] = orig
    rt.api("tm").set_reply_filter(ctx, FILTER, st)
    _keep_shift(ctx, new - orig)
    return True


def _tracking_dialog(ctx):
    """The dialog of ctx when the dialog module tracks the call, else None."""
    rt = ctx.rt
    if "dialog" not in rt.modules:
        return None
    dlg = rt.api("dialog").get_dialog(ctx)
    if dlg is None or dlg.get("state") == _DELETED:
        return None
    return dlg


def _keep_shift(ctx, shift: int):
    rt = ctx.rt
    msg = ctx.msg
    dlg = _tracking_dialog(ctx)
    if dlg is not None:
        if msg.to_tag is not None and b2s(msg.from_tag) != dlg.get("from_tag"):
            log(rt, 0, "the callee's %s was re-sent with CSeq+1: its later requests are not "
                "shifted (only the caller's are)" % msg.method)
            return
        rt.api("dialog").set_var(ctx, DLG_VAR, str(shift))
        return
    if msg.to_tag is not None:
        log(rt, 0, "%s in a dialog re-sent with CSeq+1 without the dialog module: the route set "
            "cannot carry the new shift, later requests of the caller may be refused" % msg.method)
        return
    if set_rr_param(ctx, shift):
        return
    if msg.method in ("INVITE", "SUBSCRIBE", "REFER"):
        log(rt, 0, "%s re-sent with CSeq+1 but neither a dialog nor our Record-Route keeps the "
            "shift: the caller's later requests will not match" % msg.method)


# --- our Record-Route -------------------------------------------------------------------------

def with_uri_param(uri: bytes, name: bytes, value: bytes) -> bytes:
    """uri with ;name=value (replacing the param if it is there)."""
    uri, q, headers = uri.partition(b"?")
    at = uri.rfind(b"@")
    head_end = uri.find(b";", at + 1)
    if head_end < 0:
        head, params = uri, []
    else:
        head, params = uri[:head_end], uri[head_end + 1:].split(b";")
    params = [p for p in params if p and p.split(b"=", 1)[0].strip().lower() != name.lower()]
    params.append(name + b"=" + value)
    return head + b";" + b";".join(params) + q + headers


def _ours(rt, na) -> bool:
    try:
        uri = na.uri
    except ParseError:
        return False
    if uri.scheme not in ("sip", "sips") or not uri.host:
        return False
    return rt.is_myself(uri.host, uri.port or (5061 if uri.scheme == "sips" else 5060))


def set_rr_param(ctx, shift: int) -> bool:
    """Put ;ucs=shift in our Record-Route (both lines of a double one), the
    first Record-Route values of the request.  False when none is ours."""
    rt = ctx.rt
    msg = ctx.msg
    value = b"%d" % shift
    done = False
    for pos, line in zip(msg.positions("record-route"), msg.headers("record-route")):
        try:
            nas = parse_name_addr_list(line)
        except ParseError:
            break
        raws = [na.raw.strip(b" \t") for na in nas]
        changed = False
        stop = False
        for i, na in enumerate(nas):
            if not _ours(rt, na) or not na.brackets:
                stop = True
                break
            new_uri = with_uri_param(na.uri_raw, RR_PARAM.encode(), value)
            raws[i] = raws[i].replace(b"<" + na.uri_raw + b">", b"<" + new_uri + b">", 1)
            changed = done = True
        if changed:
            msg.set_header_value(pos, b", ".join(raws))
        if stop:
            break
    return done


# --- sequential requests ------------------------------------------------------------------------

def _shift_of(ctx):
    """(shift, dialog or None) for a request routed by our Route."""
    rt = ctx.rt
    v = rt.api("rr").get_route_param(ctx, RR_PARAM)
    dlg = None
    if "dialog" in rt.modules:
        dlg = rt.api("dialog").get_dialog(ctx)
        if v is None and dlg is not None:
            v = dlg.get("vars", {}).get(DLG_VAR)
    if v is None:
        return None, dlg
    try:
        return int(v), dlg
    except ValueError:
        _once(rt, "bad", -1, "bad CSeq shift %r in a Route or dialog" % (v,))
        return None, dlg


def on_route(ctx, params):
    """rr callback: a caller's request of a dialog whose INVITE was re-sent
    with a higher CSeq goes on with the same shift."""
    msg = ctx.msg
    if not msg.is_request or msg.method == "CANCEL":
        return
    shift, dlg = _shift_of(ctx)
    if not shift:
        return
    rt = ctx.rt
    tag = b2s(msg.from_tag)
    ftag = rt.api("rr").get_route_param(ctx, "ftag")
    if ftag:
        downstream = tag == ftag
    elif dlg is not None:
        downstream = tag == dlg.get("from_tag")
    else:
        _once(rt, "dir", 0, "cannot tell the direction of a request whose CSeq should be shifted: "
              "set modparam(\"rr\", \"append_fromtag\", 1) or use the dialog module")
        return
    if not downstream:
        return
    cseq = msg.cseq
    _set_cseq(msg, cseq.number + shift, cseq.method)
    if msg.method != "ACK":
        rt.api("tm").set_reply_filter(ctx, FILTER, {"o": cseq.number})
