# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar: the reply to a REGISTER, as Kamailio builds it.

One Contact header lists every valid binding (`<uri>;q=0.5;expires=N`,
`;received="..."` with received_param, `;+sip.instance` and `;reg-id`), an
error reply carries `P-Registrar-Error: <why>` (and Min-Expires for 423,
Retry-After for 5xx with retry_after).  The reply goes out through tm's
t_reply when the request has a transaction, else through sl_send_reply:
the headers ride in ctx.data["reply_headers"], where both read them (so
append_to_reply() / append_time() added before save() are in it too).
"""

from .params import P

# rerrno -> (code, P-Registrar-Error text), Kamailio's table
ERRORS = {
    "R_FINE": (200, "No problem"),
    "R_UL_DEL_R": (500, "usrloc_record_delete failed"),
    "R_UL_GET_R": (500, "usrloc_record_get failed"),
    "R_UL_NEW_R": (500, "usrloc_record_new failed"),
    "R_INV_CSEQ": (400, "Invalid CSeq number"),
    "R_UL_INS_C": (500, "usrloc_contact_insert failed"),
    "R_UL_INS_R": (500, "usrloc_record_insert failed"),
    "R_UL_DEL_C": (500, "usrloc_contact_delete failed"),
    "R_UL_UPD_C": (500, "usrloc_contact_update failed"),
    "R_TO_USER": (400, "No username in To URI"),
    "R_AOR_LEN": (500, "Address Of Record too long"),
    "R_AOR_PARSE": (400, "Error while parsing AOR"),
    "R_INV_EXP": (400, "Invalid expires param in contact"),
    "R_INV_Q": (400, "Invalid q param in contact"),
    "R_PARSE": (400, "Message parse error"),
    "R_TO_MISS": (400, "To header not found"),
    "R_CID_MISS": (400, "Call-ID header not found"),
    "R_CS_MISS": (400, "CSeq header not found"),
    "R_PARSE_EXP": (400, "Expires parse error"),
    "R_PARSE_CONT": (400, "Contact parse error"),
    "R_STAR_EXP": (400, "* used in contact and expires is not zero"),
    "R_STAR_CONT": (400, "* used in contact and more than 1 contact"),
    "R_OOO": (200, "Out of order request"),
    "R_RETRANS": (200, "Retransmission"),
    "R_UNESCAPE": (400, "Error while unescaping username"),
    "R_TOO_MANY": (503, "Too many registered contacts"),
    "R_CONTACT_LEN": (400, "Contact/received too long"),
    "R_CALLID_LEN": (400, "Callid too long"),
    "R_PARSE_PATH": (400, "Path parse error"),
    "R_PATH_UNSUP": (420, "No support for found Path indicated"),
    "R_OB_UNSUP": (421, "No support for Outbound indicated"),
    "R_OB_REQD": (420, "No support for Outbound on server"),
    "R_OB_UNSUP_EDGE": (439, "No support for Outbound on edge proxy"),
    "R_INV_REGID": (400, "Invalid Reg-Id number"),
    "R_LOW_EXP": (423, "Interval too brief"),
}
REASONS = {200: "OK", 400: "Bad Request", 420: "Bad Extension", 421: "Extension Required",
           423: "Interval Too Brief", 439: "First Hop Lacks Outbound Support",
           500: "Server Internal Error", 503: "Service Unavailable"}


def q2str(q) -> str:
    """Kamailio's q2str: "1", "0", or "0.5" / "0.25" / "0.125"."""
    if q >= 1000:
        return "1"
    if q <= 0:
        return "0"
    return "0." + ("%03d" % q).rstrip("0")


def contact_value(contacts, t, valid) -> str:
    """The Contact header value listing the valid bindings ("" for none)."""
    parts = []
    for c in contacts:
        if not valid(c, t):
            continue
        p = "<%s>" % c["c"]
        if c["q"] >= 0:
            p += ";q=" + q2str(c["q"])
        if c["e"]:
            p += ";expires=%d" % (c["e"] - t)
        if P.received_param and c.get("r"):
            p += ';%s="%s"' % (P.received_param, c["r"])
        if c.get("in"):
            p += ';+sip.instance="%s"' % c["in"]
            if c.get("ri", 0) > 0:
                p += ";reg-id=%d" % c["ri"]
        parts.append(p)
    return ", ".join(parts)


_FNS = {}


def _script_fn(rt, module, name):
    """A script function another module exports (its config-facing API):
    t_reply(code, reason) or sl_send_reply(code, reason)."""
    mod = rt.modules.get(module)
    if mod is None:
        return None
    key = (id(mod), name)
    fn = _FNS.get(key)
    if fn is None:
        for f in mod.functions:
            if f.name == name and f.arity == 2:
                fn = _FNS[key] = f.fn
                break
    return fn


def send(ctx, rerrno, headers, contacts_hdr="") -> int:
    """Send the reply for rerrno with these extra header lines."""
    code, info = ERRORS[rerrno]
    lines = []
    if contacts_hdr:
        lines.append("Contact: " + contacts_hdr)
    lines.extend(headers)
    if rerrno == "R_LOW_EXP":
        lines.append("Min-Expires: %d" % P.min_expires)
    if code != 200:
        lines.append("P-Registrar-Error: " + info)
        if 500 <= code < 600 and P.retry_after:
            lines.append("Retry-After: %d" % P.retry_after)
    rt = ctx.rt
    data = ctx.data
    data["reply_headers"] = list(data.get("reply_headers") or ()) + lines
    fn = _script_fn(rt, "tm", "t_reply") if ctx.t is not None else None
    if fn is None:
        fn = _script_fn(rt, "sl", "sl_send_reply")
    if fn is None:
        rt.log(-1, "registrar: neither sl nor tm is loaded: no reply sent", "registrar")
        return -1
    rc = fn(ctx, code, REASONS.get(code, "OK"))
    data.pop("reply_headers", None)
    return rc
