# SPDX-License-Identifier: GPL-2.0-or-later
"""uac_replace_from/to and their restore, in RR, dialog and manual modes.

What the caller sees must stay what the caller sent: every reply of a
request whose From/To we changed gets the header back as it came in
(a tm reply filter, so it holds in whichever worker gets the reply), and
every later request of the dialog is mapped between the two views:
downstream (caller -> callee) requests get the new values, upstream ones
the original values, in To for a From replacement and in From for a To one.

Where the two values live for later requests:
- RR mode: `;vsf=` / `;vst=` on our Record-Route, encoded as Kamailio does
  (so calls can move between Kamailio and kampy); displays, which that
  value cannot carry, in `;vsfd=` / `;vstd=` when they changed.
- dialog mode (restore_dlg=1 or a dialog tracked before the replacement):
  the dialog variables Kamailio uses (_uac_fu, _uac_funew, _uac_fdp, ...).
"""

import base64
import binascii
import re
import zlib

from kampy.module import BRANCH_ROUTE, Fmt, Func, REQUEST_ROUTE
from kampy.script.pv import b2s, s2b
from kampy.sip.headers import parse_name_addr
from kampy.sip.message import KEEP
from kampy.sip.uri import parse_uri

from .params import P

FILTER = "uac.ft"
DOWNSTREAM, UPSTREAM = 1, 2
# dialog variables (Kamailio's names): URI old/new, display old/new
DLG_VARS = {"from": ("_uac_fu", "_uac_funew", "_uac_fdp", "_uac_fdpnew"),
            "to": ("_uac_to", "_uac_tonew", "_uac_tdp", "_uac_tdpnew")}
HDR = {"from": "From", "to": "To"}
OTHER = {"from": "to", "to": "from"}
NO_DISPLAY = "~"     # in dialog variables and the RR display param: "no display name"


def log(rt, level, text):
    rt.log(level, "uac: " + text, "uac")


# --- the RR value, as Kamailio encodes it ---------------------------------------------------

def _xor(a: bytes, b: bytes) -> bytes:
    """a XOR b over the length of a (b at least as long): in C, not per byte."""
    n = len(a)
    if not n:
        return a
    return (int.from_bytes(a, "big") ^ int.from_bytes(b[:n], "big")).to_bytes(n, "big")


def _xor_pw(data: bytes, pw: bytes) -> bytes:
    if not pw:
        return data
    return _xor(data, pw * (len(data) // len(pw) + 1))


def encode_rr(old_uri: bytes, new_uri: bytes, passwd: bytes = b"") -> str:
    """The longer URI with its leading bytes XORed with the shorter one, then
    XORed with the password repeated, then base64 with '-' as padding."""
    if len(old_uri) >= len(new_uri):
        longer, shorter = old_uri, new_uri
    else:
        longer, shorter = new_uri, old_uri
    mixed = _xor(longer[:len(shorter)], shorter) + longer[len(shorter):]
    mixed = _xor_pw(mixed, passwd)
    return base64.b64encode(mixed).decode("ascii").replace("=", "-")


def decode_rr(value: str, known_uri: bytes, passwd: bytes = b"", checked=False):
    """The other URI of the pair, given the one now in the header; None when
    the value is bad or the header holds neither of the two URIs.  checked:
    the caller verifies the pair by our checksum, the URI syntax test is skipped."""
    try:
        raw = base64.b64decode(value.replace("-", "=").encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    raw = _xor_pw(raw, passwd)
    if len(known_uri) > len(raw):
        return None
    k = len(known_uri)
    out = _xor(raw[:k], known_uri) + raw[k:]
    z = out.find(b"\x00")
    if z >= 0:
        if out[z:].strip(b"\x00"):
            return None      # garbage after the end: the header held another URI
        out = out[:z]
    if not out:
        return None
    if checked:
        return out
    if any(c < 0x21 or c > 0x7e for c in out):
        return None
    try:
        parse_uri(out)
    except Exception:
        return None
    return out


def _enc_display(d, pw: bytes) -> str:
    if d is None:
        return NO_DISPLAY
    return base64.urlsafe_b64encode(_xor_pw(d, pw)).decode("ascii").rstrip("=")


def _dec_display(s: str, pw: bytes):
    if s == NO_DISPLAY:
        return None
    try:
        return _xor_pw(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), pw)
    except (binascii.Error, ValueError):
        raise ValueError("bad display value")


def pair_check(old_uri: bytes, new_uri: bytes) -> str:
    return "%08x" % zlib.crc32(old_uri + b"\0" + new_uri)


SAME = object()     # decode_displays: the display names were not changed


def encode_displays(old, new, pw: bytes, check: str = "") -> str:
    """Our companion of vsf/vst: the checksum of the URI pair (so a URI that
    an endpoint changed is seen, never decoded to garbage), and both display
    names when they differ: "check" or "old.new.check"."""
    if old == new and check:
        return check
    out = _enc_display(old, pw) + "." + _enc_display(new, pw)
    return out + "." + check if check else out


def decode_displays(value: str, pw: bytes):
    """(old display, new display, check or None); SAME for displays not changed."""
    parts = value.split(".")
    if len(parts) == 1 and parts[0]:
        return SAME, SAME, parts[0]
    if len(parts) not in (2, 3):
        raise ValueError("bad display value")
    return _dec_display(parts[0], pw), _dec_display(parts[1], pw), parts[2] if len(parts) == 3 else None


# --- reply filter: the caller's From/To back in every reply ---------------------------------

def reply_filter(rt, msg, data):
    """tm reply filter: data maps "from"/"to" to the header value as the
    request came in (a UAS copies From, and To plus its tag, RFC 3261 §8.2.6.2):
    put it back, keeping the reply's To tag.  Raw bytes: nothing to parse."""
    v = data.get("from")
    if v is not None:
        pos = msg.positions("from")
        if pos:
            msg.set_header_value(pos[0], v)
    v = data.get("to")
    if v is not None:
        pos = msg.positions("to")
        if pos:
            tag = msg.to_tag
            if tag is not None and not _TAG_RE.search(v):
                v = v + b";tag=" + tag
            msg.set_header_value(pos[0], v)


_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=", re.I)


def _want_reply_restore(ctx, hdr):
    """Remember the header as it came in, for the replies of ctx's request."""
    api = ctx.rt.api("tm")
    data = api.get_reply_filter(ctx, FILTER)
    if data is None or hdr not in data:   # the first change of this request keeps the received value
        data = dict(data or {})
        data[hdr] = ctx.msg.header(hdr)
        api.set_reply_filter(ctx, FILTER, data)


# --- replacing in the initial request ----------------------------------------------------------

def _dialog(ctx):
    """The dialog tracking ctx's request (dialog module loaded and dlg_manage() ran), or None."""
    if "dialog" not in ctx.rt.modules:
        return None
    try:
        return ctx.rt.api("dialog").get_dialog(ctx)
    except Exception:
        return None


def _norm_display(display: str):
    """Kamailio's rule: the display is used as given (quotes are the user's);
    an empty one removes the display name."""
    d = display.strip()
    if not d:
        return None
    if any(c in d for c in "\r\n"):
        raise ValueError("display name holds a line break")
    return d.encode("utf-8")


def replace(ctx, hdr: str, display, uri: str) -> int:
    """Change the display (KEEP to leave it, None to remove) and/or the URI
    (empty: leave it) of From/To; arrange the restores."""
    rt = ctx.rt
    msg = ctx.msg
    if not msg.is_request:
        return -1
    if msg.to_tag is not None and hdr in ("from", "to"):
        log(rt, 1, "uac_replace_%s on a request within a dialog (To tag present)" % hdr)
    try:
        na = msg.parsed(hdr)
    except Exception as e:
        log(rt, -1, "cannot parse the %s header: %s" % (HDR[hdr], e))
        return -1
    if na is None:
        log(rt, -1, "no %s header" % HDR[hdr])
        return -1
    state = ctx.data.setdefault("uac.repl", {})
    st = state.get(hdr)
    if st is None:
        # the first call on this request: remember the header as received
        st = state[hdr] = {"od": na.display, "ou": na.uri_raw, "nd": na.display, "nu": na.uri_raw}
    new_uri = s2b(uri.strip()) if uri and uri.strip() else None
    if new_uri is not None:
        if any(c < 0x21 or c > 0x7e for c in new_uri) or b"<" in new_uri or b">" in new_uri:
            log(rt, -1, "bad URI %r for %s" % (uri, HDR[hdr]))
            return -1
        try:
            parse_uri(new_uri)
        except Exception as e:
            log(rt, -1, "bad URI %r for %s: %s" % (uri, HDR[hdr], e))
            return -1
    if display is not KEEP:
        try:
            display = _norm_display(display)
        except ValueError as e:
            log(rt, -1, str(e))
            return -1
    # every call starts from the received value: the last call wins
    st["nd"] = st["od"] if display is KEEP else display
    st["nu"] = st["ou"] if new_uri is None else new_uri
    msg.set_name_addr(HDR[hdr], display=st["nd"], uri=st["nu"])
    if P.restore_mode == "none":
        return 1
    _want_reply_restore(ctx, hdr)
    avp = _restore_avp(rt, hdr)
    if avp is not None:
        avp.set(ctx, b2s(st["ou"]))
    dlg = _dialog(ctx)
    if dlg is not None or P.restore_dlg:
        if dlg is not None:
            _store_in_dialog(ctx, hdr, st)
            return 1
        log(rt, 1, "restore_dlg is set but the request has no dialog (dlg_manage() first?):"
                   " using the Record-Route instead")
    _store_in_rr(ctx, hdr, st)
    return 1


def _store_in_dialog(ctx, hdr, st):
    api = ctx.rt.api("dialog")
    fu, funew, fdp, fdpnew = DLG_VARS[hdr]
    api.set_var(ctx, fu, b2s(st["ou"]))
    api.set_var(ctx, funew, b2s(st["nu"]))
    api.set_var(ctx, fdp, NO_DISPLAY if st["od"] is None else b2s(st["od"]))
    api.set_var(ctx, fdpnew, NO_DISPLAY if st["nd"] is None else b2s(st["nd"]))


def _store_in_rr(ctx, hdr, st):
    rt = ctx.rt
    if "rr" not in rt.modules:
        log(rt, -1, "restore_mode %s needs the rr module (or the dialog module)" % P.restore_mode)
        return
    rr = rt.api("rr")
    pw = s2b(P.restore_passwd)
    name = P.rr_from_store_param if hdr == "from" else P.rr_to_store_param
    changed = st["nu"] != st["ou"] or st["nd"] != st["od"]
    rr.set_rr_params(ctx, {
        name: encode_rr(st["ou"], st["nu"], pw) if st["nu"] != st["ou"] else None,
        name + "d": encode_displays(st["od"], st["nd"], pw, pair_check(st["ou"], st["nu"]))
        if changed else None})


_AVPS = {}


def _restore_avp(rt, hdr):
    return _AVPS.get(hdr)


def _resolve_pv(rt, text, what):
    from kampy.script.ast import ConfigError, Pos
    from kampy.script.pvparse import parse_pv
    t = text.strip()
    if not t.startswith("$"):
        raise ConfigError(None, "uac: %s must be a pseudo-variable, not %r" % (what, text))
    spec, end = parse_pv(t, 0, Pos("modparam", 1, 1))
    if end != len(t):
        raise ConfigError(None, "uac: %s: trailing text in %r" % (what, text))
    pv = rt.script.registry.resolve(spec)
    if not getattr(pv, "writable", False):
        raise ConfigError(None, "uac: %s %r is not writable" % (what, text))
    return pv


# --- sequential requests ------------------------------------------------------------------------

def _apply_pair(ctx, hdr, direction, od, ou, nd, nu, source):
    """Map one replaced header of a sequential request between the two views.
    hdr is the header that was replaced in the initial request ("from"/"to")."""
    rt = ctx.rt
    msg = ctx.msg
    # downstream requests carry the replaced header where it was; upstream
    # ones carry it in the other header (the callee's To is the caller's From)
    target = hdr if direction == DOWNSTREAM else OTHER[hdr]
    want_uri, want_disp = (nu, nd) if direction == DOWNSTREAM else (ou, od)
    have_uri, have_disp = (ou, od) if direction == DOWNSTREAM else (nu, nd)
    na = msg.parsed(target)
    if na is None:
        return
    if na.uri_raw == want_uri and (nd == od or na.display == want_disp):
        return        # already as the far end knows it
    if ou is not None and na.uri_raw != have_uri and na.uri_raw != want_uri:
        log(rt, 0, "%s URI %s in a request of the dialog is neither the original nor the"
                   " replaced one (%s); left as it came" % (HDR[target], b2s(na.uri_raw), source))
        return
    _want_reply_restore(ctx, target)
    disp = want_disp if nd != od else KEEP
    msg.set_name_addr(HDR[target], display=disp, uri=want_uri)


def route_params(params: str) -> dict:
    """"lr;ftag=x;vsf=..." -> {"lr": "", "ftag": "x", ...} (names as written, as Kamailio)."""
    out = {}
    for p in params.split(";"):
        k, _, v = p.partition("=")
        k = k.strip(" \t")
        if k and k not in out:
            out[k] = v.strip(" \t")
    return out


def _direction_rr(ctx, params: dict):
    """Kamailio's flow check: the ftag of our Route equal to the From tag ->
    downstream; None without an ftag."""
    ftag = params.get("ftag")
    if not ftag:
        return None
    tag = ctx.msg.from_tag
    return UPSTREAM if tag is not None and b2s(tag) != ftag else DOWNSTREAM


def restore_from_rr(ctx, hdrs=("from", "to"), params=None) -> int:
    """Restore by our Route's vsf/vst params: 1 if something was there."""
    rt = ctx.rt
    if params is None:
        raw = rt.api("rr").get_route_params(ctx)
        if raw is None:
            return -1
        params = route_params(raw)
    pw = s2b(P.restore_passwd)
    done = -1
    direction = None
    for hdr in hdrs:
        name = P.rr_from_store_param if hdr == "from" else P.rr_to_store_param
        val = params.get(name)
        dval = params.get(name + "d")
        if not val and not dval:
            continue
        if direction is None:
            direction = _direction_rr(ctx, params)
            if direction is None:
                log(rt, -1, "cannot tell the direction of a sequential request: the Route"
                            " has no ftag (modparam(\"rr\", \"append_fromtag\", 1))")
                return -1
        target = hdr if direction == DOWNSTREAM else OTHER[hdr]
        na = ctx.msg.parsed(target)
        if na is None:
            continue
        od = nd = na.display
        check = None
        if dval:
            try:
                od, nd, check = decode_displays(dval, pw)
            except ValueError:
                od = nd = SAME
                log(rt, 0, "bad %s Route parameter; display left as it came" % (name + "d"))
            if od is SAME:
                od = nd = na.display
        if val:
            other = decode_rr(val, na.uri_raw, pw, checked=check is not None)
            if other is None:
                log(rt, 0, "%s URI %s does not match the %s Route parameter (changed by an"
                           " endpoint?); left as it came" % (HDR[target], b2s(na.uri_raw), name))
                continue
            if direction == DOWNSTREAM:
                ou, nu = na.uri_raw, other
            else:
                ou, nu = other, na.uri_raw
            if check is not None and check != pair_check(ou, nu):
                log(rt, 0, "%s URI %s is neither the original nor the replaced one (changed by"
                           " an endpoint?); left as it came" % (HDR[target], b2s(na.uri_raw)))
                continue
        else:
            ou = nu = na.uri_raw
        _apply_pair(ctx, hdr, direction, od, ou, nd, nu, "Record-Route")
        done = 1
    return done


def restore_from_dialog(ctx, dlg, direction, hdrs=("from", "to")) -> int:
    done = -1
    v = dlg.get("vars") or {}
    for hdr in hdrs:
        fu, funew, fdp, fdpnew = DLG_VARS[hdr]
        if fu not in v or funew not in v:
            continue

        def disp(name):
            s = v.get(name)
            return None if s is None or s == NO_DISPLAY else s2b(s)
        _apply_pair(ctx, hdr, direction, disp(fdp), s2b(v[fu]), disp(fdpnew), s2b(v[funew]),
                    "dialog")
        done = 1
    return done


def _rr_callback(ctx, params):
    """Auto mode, RR storage: every loose-routed request of the dialog."""
    if P.restore_mode != "auto" or not ctx.msg.is_request:
        return
    if ctx.data.get("uac.restored"):
        return
    if P.rr_from_store_param not in params and P.rr_to_store_param not in params:
        return          # cheap test first: most loose-routed requests carry neither
    p = route_params(params)
    if not any(p.get(n) for n in (P.rr_from_store_param, P.rr_to_store_param,
                                  P.rr_from_store_param + "d", P.rr_to_store_param + "d")):
        return
    ctx.data["uac.restored"] = True
    restore_from_rr(ctx, params=p)


def _dlg_callback(ctx, dlg, direction):
    """Auto mode, dialog storage: every request within a tracked dialog."""
    if P.restore_mode != "auto" or ctx is None or not ctx.msg.is_request:
        return
    if ctx.data.get("uac.restored"):
        return
    v = dlg.get("vars") or {}
    if "_uac_fu" not in v and "_uac_to" not in v:
        return
    ctx.data["uac.restored"] = True
    restore_from_dialog(ctx, dlg, direction)


def _restore(ctx, hdr) -> int:
    rt = ctx.rt
    if P.restore_mode == "none":
        return -1
    dlg = _dialog(ctx)
    if dlg is not None and DLG_VARS[hdr][0] in (dlg.get("vars") or {}):
        tag = ctx.msg.from_tag
        direction = DOWNSTREAM if tag is not None and b2s(tag) == dlg.get("from_tag") else UPSTREAM
        return restore_from_dialog(ctx, dlg, direction, (hdr,))
    if "rr" not in rt.modules:
        return -1
    return restore_from_rr(ctx, (hdr,))


# --- script functions ---------------------------------------------------------------------------

def uac_replace_from2(ctx, display: Fmt, uri: Fmt) -> int:
    """uac_replace_from(display, uri): "" display removes it, "" uri keeps it"""
    return replace(ctx, "from", display, uri)


def uac_replace_from1(ctx, uri: Fmt) -> int:
    """uac_replace_from(uri): the URI only, display kept"""
    return replace(ctx, "from", KEEP, uri)


def uac_replace_to2(ctx, display: Fmt, uri: Fmt) -> int:
    """uac_replace_to(display, uri)"""
    return replace(ctx, "to", display, uri)


def uac_replace_to1(ctx, uri: Fmt) -> int:
    """uac_replace_to(uri)"""
    return replace(ctx, "to", KEEP, uri)


def uac_restore_from(ctx) -> int:
    """uac_restore_from(): map the From (or, upstream, the To) of a sequential request"""
    return _restore(ctx, "from")


def uac_restore_to(ctx) -> int:
    """uac_restore_to(): map the To (or, upstream, the From) of a sequential request"""
    return _restore(ctx, "to")


RB = REQUEST_ROUTE | BRANCH_ROUTE
FUNCS = [
    Func("uac_replace_from", uac_replace_from2, RB),
    Func("uac_replace_from", uac_replace_from1, RB),
    Func("uac_replace_to", uac_replace_to2, RB),
    Func("uac_replace_to", uac_replace_to1, RB),
    Func("uac_restore_from", uac_restore_from, REQUEST_ROUTE),
    Func("uac_restore_to", uac_restore_to, REQUEST_ROUTE),
]


def mod_init(rt):
    from kampy.script.ast import ConfigError
    _AVPS.clear()
    for hdr, text in (("from", P.restore_from_avp), ("to", P.restore_to_avp)):
        if text:
            _AVPS[hdr] = _resolve_pv(rt, text, "restore_%s_avp" % hdr)
    tm = rt.api("tm")
    tm.register_reply_filter(FILTER, reply_filter)
    if P.restore_mode == "none":
        return
    # as Kamailio: any restore needs rr; auto needs rr's ftag, or the dialog module
    if "rr" not in rt.modules:
        raise ConfigError(None, "uac: restore_mode \"%s\" needs the rr module (or set"
                                " restore_mode to \"none\")" % P.restore_mode)
    if P.restore_dlg and "dialog" not in rt.modules:
        raise ConfigError(None, "uac: restore_dlg needs the dialog module")
    rr = rt.api("rr")
    if P.restore_mode == "auto":
        if not P.restore_dlg and not rr.append_fromtag:
            raise ConfigError(None, "uac: restore_mode \"auto\" needs modparam(\"rr\","
                                    " \"append_fromtag\", 1) (the direction of in-dialog"
                                    " requests comes from the ftag Route parameter)")
        rr.register_callback(_rr_callback)
    if "dialog" in rt.modules:
        rt.api("dialog").register_callback("in_dialog", _dlg_callback)
