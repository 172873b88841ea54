# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar: save() -- a REGISTER's bindings into usrloc (RFC 3261 §10.3).

Everything that depends only on the message (AOR, expires and q of each
contact, Path, received, methods) is worked out first; then one atomic
usrloc update applies Kamailio's rules to the AOR's contacts: match each
Contact (by URI, or as matching_mode says, or by +sip.instance), refuse an
older CSeq of the same Call-ID (400), skip a retransmission (same CSeq
within cseq_delay), insert, refresh or remove (expires 0), enforce
max_contacts (503) and, with flag 0x04, keep one contact per AOR.  A
rejected REGISTER changes nothing (Kamailio may keep the contacts it
processed before the faulty one).  Then the 200 OK lists every binding.
"""

import random

from kampy.sip.errors import ParseError
from kampy.sip.headers import parse_name_addr_list

from .params import P, PATH_MODE_OFF, PATH_MODE_STRICT
from .common import (AorError, ALL_METHODS, extract_aor, methods_mask, xavp_cfg, xavp_int)
from . import reply as Y

SAVE_MEM, SAVE_NORPL, SAVE_REPL, SAVE_NOVARIATION = 0x01, 0x02, 0x04, 0x08
CALLID_MAX_SIZE = 255
RECEIVED_MAX_SIZE = 255
MAX_UA_SIZE = 255


class RegError(Exception):
    def __init__(self, rerrno):
        super().__init__(rerrno)
        self.rerrno = rerrno


def _b2s(b) -> str:
    return b.decode("utf-8", "surrogateescape") if isinstance(b, bytes) else (b or "")


# --- what the message says ------------------------------------------------------------

def _expires_hf(msg):
    """The Expires header value, -1 without one; RegError for a bad one."""
    if not msg.has("expires"):
        return -1
    try:
        return msg.expires
    except ParseError:
        raise RegError("R_PARSE_EXP") from None


def _contacts(msg):
    """("*" | list of NameAddr), with Kamailio's check_contacts rules."""
    vals = msg.headers("contact")
    if not vals:
        return []
    out = []
    star = False
    for v in vals:
        if v.strip(b" \t") == b"*":
            star = True
            continue
        try:
            out.extend(parse_name_addr_list(v))
        except ParseError:
            raise RegError("R_PARSE_CONT") from None
    if star:
        if _expires_hf(msg) != 0:
            raise RegError("R_STAR_EXP")
        if out or len(vals) > 1:
            raise RegError("R_STAR_CONT")
        return "*"
    for c in out:
        if len(c.uri_raw) > P.contact_max_size:
            raise RegError("R_CONTACT_LEN")
        r = c.param(b"received")
        if r is not None and len(r) > RECEIVED_MAX_SIZE:
            raise RegError("R_CONTACT_LEN")
    return out


def _randomize(e, rng):
    if not rng:
        return e
    lo = e - int(rng / 100.0 * e)
    return lo + int(random.randrange(100) / 100.0 * (e - lo))


def contact_expires(ctx, na, hf, novariation):
    """Seconds a contact is bound for (0: remove it), Kamailio's
    calc_contact_expires; RegError R_LOW_EXP with min_expires_mode."""
    x = xavp_int(ctx, "expires")
    rng = 0
    if x is not None and x >= 0:
        e = x
    else:
        raw = na.param(b"expires")
        if raw:
            try:
                e = int(raw.strip())
                if e < 0:
                    raise ValueError
                rng = P.expires_range
            except ValueError:
                e, rng = P.default_expires, P.default_expires_range
        elif hf >= 0:
            e, rng = hf, P.expires_range
        else:
            e, rng = P.default_expires, P.default_expires_range
    if e == 0:
        return 0
    if e < P.min_expires:
        if P.min_expires_mode:
            raise RegError("R_LOW_EXP")
        e = P.min_expires
    if not novariation:
        e = _randomize(e, rng)
        if e < P.min_expires:
            e = P.min_expires
    if P.max_expires and e > P.max_expires:
        e = P.max_expires
    return e


def _q(ctx, na):
    x = xavp_int(ctx, "q")
    if x is not None:
        if not 0 <= x <= 1000:
            raise RegError("R_INV_Q")
        return x
    try:
        q = na.q
    except ParseError:
        raise RegError("R_INV_Q") from None
    return P.default_q if q is None else int(round(q * 1000))


def _socket(ctx):
    rt = ctx.rt
    text = None
    if P.sock_flag >= 0 and ctx.flags & (1 << P.sock_flag) and P.sock_hdr_name:
        v = ctx.msg.header(P.sock_hdr_name)
        text = _b2s(v).strip() if v else None
    elif P.xavp_cfg:
        v = xavp_cfg(ctx, "socket")
        text = str(v).strip() if v else None
    if text:
        for s in rt.sockets:
            if str(s) == text or "%s:%d" % (s.ip, s.port) == text:
                return str(s)
        rt.log(-1, "registrar: socket %r is not one of ours, using the receiving one" % text,
               "registrar")
    return str(ctx.rcv) if ctx.rcv is not None else ""


def path_vector(ctx):
    """(Path vector, received of its first URI) of the REGISTER ("" when none)."""
    vals = ctx.msg.headers("path")
    if not vals:
        return "", ""
    first_rcv = ""
    try:
        first = parse_name_addr_list(vals[0])[0]
        if P.path_use_received:
            r = first.uri.param(b"received")
            first_rcv = _b2s(r) if r else ""
        for v in vals[1:]:
            parse_name_addr_list(v)
    except (ParseError, IndexError, ValueError):
        raise RegError("R_PARSE_PATH") from None
    return ",".join(_b2s(v).strip() for v in vals), first_rcv


def _received_avp(ctx):
    name = P.received_avp
    if not name:
        return ""
    from . import RUNTIME
    pv = RUNTIME.get("received_pv")
    if pv is None:
        return ""
    v = pv.get(ctx)
    return "" if v is None else str(v)


def contact_infos(ctx, api, contacts, flags):
    """The binding each Contact asks for: a dict of usrloc fields, with
    "dur" (seconds, 0 = remove) instead of the absolute expires."""
    msg = ctx.msg
    hf = _expires_hf(msg)
    callid = _b2s(msg.call_id).rstrip()
    if len(callid) > CALLID_MAX_SIZE:
        raise RegError("R_CALLID_LEN")
    try:
        cseq = msg.cseq.number
    except (ParseError, AttributeError):
        raise RegError("R_INV_CSEQ") from None
    ua = _b2s(msg.header("user-agent") or b"").strip()
    if not ua or len(ua) >= MAX_UA_SIZE:
        ua = "n/a"
    path, path_rcv = path_vector(ctx) if P.use_path else ("", "")
    cflags = ctx.bflags
    if path_rcv and api.nat_bflag >= 0:
        cflags |= 1 << api.nat_bflag
    allow = None
    rcv_avp = None
    sock = _socket(ctx)
    out = []
    for na in contacts:
        uri = _b2s(na.uri_raw)
        m = na.param(b"methods")
        if m is not None:
            methods = methods_mask(_b2s(m))
        else:
            if allow is None:
                vals = msg.headers("allow")
                allow = methods_mask(",".join(_b2s(v) for v in vals)) if vals else ALL_METHODS
            methods = allow
        received = path_rcv
        if not received:
            r = na.param(b"received")
            if r is not None:
                received = _b2s(r).strip('"')
            else:
                if rcv_avp is None:
                    rcv_avp = _received_avp(ctx)
                received = rcv_avp
        inst = na.param(b"+sip.instance")
        inst = _b2s(inst).strip('"') if inst else ""
        reg_id = 0
        rid = na.param(b"reg-id")
        if inst and rid:
            try:
                reg_id = int(rid)
                if reg_id <= 0:
                    raise ValueError
            except ValueError:
                raise RegError("R_INV_REGID") from None
        out.append({
            "c": uri, "dur": contact_expires(ctx, na, hf, flags & SAVE_NOVARIATION),
            "q": _q(ctx, na), "ci": callid, "cs": cseq, "p": path, "r": received, "ua": ua,
            "sk": sock, "in": inst, "ri": reg_id, "m": methods,
            "f": api.FL_MEM if flags & SAVE_MEM else 0, "cf": cflags,
        })
    return out


# --- the update under the AOR's lock --------------------------------------------------

def _binding(api, info, t):
    c = dict(info)
    dur = c.pop("dur")
    c["e"] = t + dur if dur else 0
    return c


def _count_after(api, contacts, infos, t, maxc):
    """Kamailio's test_max_contacts: valid bindings once the REGISTER is applied."""
    num = sum(1 for c in contacts if api.valid(c, t))
    for ci in infos:
        code, c = api.match(contacts, ci["c"], ci["ci"], ci["p"], ci["cs"], t, ci["in"], ci["ri"])
        if code == -1:
            raise RegError("R_INV_CSEQ")
        if code == -2:
            continue
        if code == 1:
            if ci["dur"]:
                num += 1
        elif not ci["dur"]:
            num -= 1
    if num > maxc:
        raise RegError("R_TOO_MANY")


def _insert(api, contacts, infos, t, maxc):
    """No record yet: Kamailio's insert_contacts."""
    num = 0
    for ci in infos:
        if not ci["dur"]:
            continue
        if maxc > 0 and num >= maxc:
            raise RegError("R_TOO_MANY")
        num += 1
        new = _binding(api, ci, t)
        code, c = (api.match(contacts, ci["c"], ci["ci"], ci["p"], ci["cs"] + 1, t, ci["in"],
                             ci["ri"]) if contacts else (1, None))
        if code == 0 and c is not None:
            c.update(new)
        else:
            new["id"] = api.new_ruid()
            contacts.append(new)
    return 1


def _update(api, contacts, infos, t, maxc, repl):
    """A record exists: Kamailio's update_contacts; the return code."""
    if not repl and maxc > 0:
        _count_after(api, contacts, infos, t, maxc)
    rc = 0
    for ci in infos:
        code, c = api.match(contacts, ci["c"], ci["ci"], ci["p"], ci["cs"], t, ci["in"], ci["ri"])
        if code == -1:
            raise RegError("R_INV_CSEQ")
        if code == -2:
            if ci["dur"] and repl:
                break
            continue
        new = _binding(api, ci, t)
        if code == 1:
            if not ci["dur"]:
                continue
            new["id"] = api.new_ruid()
            contacts.append(new)
            rc = 1
            if repl:
                contacts[:] = [new]
                break
            continue
        if not ci["dur"]:
            contacts.remove(c)
            rc = 3
            continue
        if repl:
            contacts[:] = [c]
        elif ci["in"] and ci["ci"] != c["ci"]:
            contacts[:] = [x for x in contacts if x is c or x.get("in") != c.get("in")]
        c.update(new)
        rc = 2
        if repl:
            break
    return rc


def apply_fn(api, infos, maxc, repl):
    """The usrloc update: (return code, rerrno)."""
    def fn(contacts, t):
        keep = [dict(c) for c in contacts]
        try:
            if contacts:
                rc = _update(api, contacts, infos, t, maxc, repl)
            else:
                rc = _insert(api, contacts, infos, t, maxc)
            return (rc or 1), "R_FINE"
        except RegError as e:
            contacts[:] = keep
            return -1, e.rerrno
    return fn


# --- save() ----------------------------------------------------------------------------

def _aor_uri(ctx, uri):
    if uri:
        return uri
    to = ctx.msg.to
    if to is None:
        raise RegError("R_TO_MISS")
    return _b2s(to.uri_raw)


def _check_message(msg):
    try:
        if msg.to is None:
            raise RegError("R_TO_MISS")
    except ParseError:
        raise RegError("R_PARSE") from None
    if msg.call_id is None:
        raise RegError("R_CID_MISS")
    try:
        if msg.cseq is None:
            raise RegError("R_CS_MISS")
    except ParseError:
        raise RegError("R_PARSE") from None


def _path_reply(ctx, path):
    """Path headers of the reply, or RegError for strict mode without support."""
    if not path or P.path_mode == PATH_MODE_OFF:
        return []
    supported = False
    for v in ctx.msg.headers("supported"):
        if b"path" in [t.strip().lower() for t in v.split(b",")]:
            supported = True
    if supported:
        return ["Path: " + path]
    if P.path_mode == PATH_MODE_STRICT:
        raise RegError("R_PATH_UNSUP")
    return []


def _requires_outbound(msg) -> bool:
    for v in msg.headers("require"):
        if b"outbound" in [t.strip().lower() for t in v.split(b",")]:
            return True
    return False


def _current(api, domain, aor):
    try:
        return api.get(domain, aor)
    except api.UlError:
        return []


def save(ctx, domain, flags=0, uri=None) -> int:
    """save(table[, flags[, uri]]): the bindings of this REGISTER; 1 inserted,
    2 updated, 3 deleted, 4 listed; -1 error, -2 too many contacts."""
    rt = ctx.rt
    api = rt.api("usrloc")
    msg = ctx.msg
    headers = []
    contacts_hdr = ""
    record = None
    try:
        _check_message(msg)
        try:
            aor, _u = extract_aor(_aor_uri(ctx, uri), api.use_domain)
        except AorError as e:
            raise RegError(e.rerrno) from None
        cts = _contacts(msg)
        if _requires_outbound(msg):
            headers.append("Unsupported: outbound")
            raise RegError("R_OB_REQD")
        if cts == "*":
            try:
                api.delete(domain, aor)
            except api.UlError as e:
                rt.log(-1, "registrar: cannot remove %s: %s" % (aor, e), "registrar")
                raise RegError("R_UL_DEL_R") from None
            ret = 3
        elif not cts:
            try:
                record = api.get(domain, aor)
            except api.UlError as e:
                rt.log(-1, "registrar: cannot read %s: %s" % (aor, e), "registrar")
                raise RegError("R_UL_GET_R") from None
            ret = 4
        else:
            try:
                infos = contact_infos(ctx, api, cts, flags)
            except RegError:
                record = _current(api, domain, aor)    # Kamailio lists them on these errors
                contacts_hdr = Y.contact_value(record, api.now(), api.valid) if record else ""
                raise
            if P.use_path and infos and infos[0]["p"]:
                try:
                    headers.extend(_path_reply(ctx, infos[0]["p"]))
                except RegError:
                    headers.extend(["Unsupported: path", "Path: " + infos[0]["p"]])
                    raise
            maxc = xavp_int(ctx, "max_contacts")
            if maxc is None:
                maxc = P.max_contacts
            try:
                (ret, rerrno), record = api.modify(domain, aor, apply_fn(
                    api, infos, maxc, bool(flags & SAVE_REPL)))
            except api.UlError as e:
                rt.log(-1, "registrar: cannot store the contacts of %s: %s" % (aor, e),
                       "registrar")
                raise RegError("R_UL_INS_C") from None
            if rerrno != "R_FINE":
                contacts_hdr = Y.contact_value(record, api.now(), api.valid) if record else ""
                raise RegError(rerrno)
        if record:
            contacts_hdr = Y.contact_value(record, api.now(), api.valid)
    except RegError as e:
        rt.count("registrar:rejected_regs")
        if not flags & SAVE_NORPL and ctx.msg.is_request:
            Y.send(ctx, e.rerrno, headers, contacts_hdr)
        return -2 if e.rerrno == "R_TOO_MANY" else -1
    rt.count("registrar:accepted_regs")
    if not flags & SAVE_NORPL:
        Y.send(ctx, "R_FINE", headers, contacts_hdr)
    return ret
