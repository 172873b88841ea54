# SPDX-License-Identifier: GPL-2.0-or-later
"""BYEs the dialog module sends itself: dlg_bye(), dlg.end_dlg, and the
dialog timeout with `send_bye`.

Each BYE is a request within the dialog sent through tm's API (its own
client transaction, retransmitted, timed out by fr_timer): towards the
callee from the caller's side (From = the caller's URI and tag, To = the
callee's, R-URI = the callee's Contact, the callee's route set), towards the
caller the mirror image, with CSeq = the last CSeq that side got + 1.  The
dialog ends when they are sent (state 5, counters, "terminated" callbacks);
their replies only get logged, in whichever process receives them.
"""

from . import core as C

SIDES = ("all", "caller", "callee")


def _extra(hdrs) -> list:
    """Header lines from dlg_extra_hdrs / the RPC's extra headers."""
    out = []
    for h in hdrs:
        if not h:
            continue
        text = str(h).replace("\\r\\n", "\n").replace("\r\n", "\n")
        out.extend(line for line in text.split("\n") if line.strip())
    return out


def send_bye(rt, did, side="all", extra=(), reason="dlg_bye", ctx=None) -> bool:
    """BYE to one side or both of a confirmed dialog, then end it.
    False when the dialog is unknown, not confirmed, or no BYE could be sent."""
    rec = C.table(rt).get(C.dkey(did))
    if rec is None or rec["st"] not in (C.CONFIRMED, C.CONFIRMED_ACK):
        return False
    tm = rt.api("tm")
    hdrs = _extra(list(extra) + [C.P.dlg_extra_hdrs])
    cs = rec.get("cs") or [0, 0]
    sent = []
    if side in ("all", "callee") and rec.get("ce"):
        tid = tm.send_request(
            "BYE", rec["ce"], rec["fu"], rec["tu"], from_tag=rec["ft"], to_tag=rec["tt"],
            call_id=rec["ci"], cseq=cs[0] + 1, route_set=rec.get("re") or None, headers=hdrs,
            sock=C.socket_of(rt, rec.get("se", 0)), callback="dialog.bye", data={"d": did, "s": "callee"})
        if tid:
            sent.append(0)
    if side in ("all", "caller") and rec.get("cc"):
        tid = tm.send_request(
            "BYE", rec["cc"], rec["tu"], rec["fu"], from_tag=rec["tt"], to_tag=rec["ft"],
            call_id=rec["ci"], cseq=cs[1] + 1, route_set=rec.get("rc") or None, headers=hdrs,
            sock=C.socket_of(rt, rec.get("sc", 0)), callback="dialog.bye", data={"d": did, "s": "caller"})
        if tid:
            sent.append(1)
    if not sent:
        rt.log(-1, "dialog %s: no BYE could be sent (%s)" % (did, side), "dialog")
        return False

    def bump(r):
        if r["st"] == C.DELETED:
            return None
        c = list(r.get("cs") or [0, 0])
        for slot in sent:
            c[slot] = max(c[slot], cs[slot] + 1)
        r["cs"] = c
        return r
    C.change(rt, did, bump)
    C.end_dialog(rt, did, reason, ctx)
    return True


def on_bye_reply(rt, tid, reply, code, data):
    """Replies to our BYEs (a timeout comes as 408): logged."""
    if code < 200:
        return
    d = data if isinstance(data, dict) else {}
    rt.log(2 if code < 300 else 0, "dialog %s: BYE to the %s answered %d" % (d.get("d"), d.get("s"), code),
           "dialog")
