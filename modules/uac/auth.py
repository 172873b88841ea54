# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part: client digest authentication (uac_auth, credential, auth_*_avp).

Theory of operation.  failure_route gets the request as tm stored it and
the 401/407 that made the branch fail.  uac_auth() picks, per realm of the
challenge, the strongest challenge we can answer and credentials for it
(the auth_*_avp triple first, then the `credential` list), adds one
Authorization / Proxy-Authorization per realm to the request and raises its
CSeq, so that the next t_relay() sends a request the challenger accepts.

What was sent is kept in the transaction (tm's reply-filter data "uac.cs",
which also restores the caller's CSeq in every reply, see auth_cseq.py):
the credentials of each realm (the base HA1, never the password, with the
challenge and its nonce count) and how many times the request was raised.
So a later challenge in the same transaction (proxy then registrar) keeps
the credentials already accepted and adds the new realm; a stale=true
challenge for a realm we answered is answered once more with its new
nonce; a challenge for a realm we answered without stale means the
credentials were refused, and uac_auth() fails so the 401/407 goes upstream.
"""

from kampy.module import (
    BRANCH_FAILURE_ROUTE, EVENT_ROUTE, FAILURE_ROUTE, Func, IntV,
)
from kampy.script.ast import ConfigError, Pos
from kampy.script.pv import b2s, s2b, to_str
from kampy.script.pvparse import parse_pv
from kampy.sip import digest
from kampy.sip.errors import ParseError

from .params import P
from . import auth_cseq as CS

ROUTES = FAILURE_ROUTE | BRANCH_FAILURE_ROUTE | EVENT_ROUTE
HA1_MODE = 1               # uac_auth_mode() flag: the password is an HA1

_HEADERS = {401: ("www-authenticate", "Authorization"),
            407: ("proxy-authenticate", "Proxy-Authorization")}


def log(rt, level, text):
    rt.log(level, "uac_auth: " + text, "uac")


# --- parameters, checked at startup -----------------------------------------------------

def parse_credential(text: str) -> tuple:
    """'user:realm:password' -> (user, realm, password), spaces around each
    part dropped; ValueError naming the value when a part is missing."""
    user, sep1, rest = str(text).partition(":")
    realm, sep2, password = rest.partition(":")
    user, realm, password = user.strip(), realm.strip(), password.strip()
    if not (sep1 and sep2 and user and realm and password):
        raise ValueError("credential %r is not user:realm:password" % (text,))
    return user, realm, password


def check_params():
    """The credential list, parsed; ValueError for a bad value or an
    incomplete auth_*_avp triple."""
    names = (P.auth_realm_avp, P.auth_username_avp, P.auth_password_avp)
    if any(names) and not all(names):
        missing = [n for n, v in zip(("auth_realm_avp", "auth_username_avp", "auth_password_avp"), names)
                   if not v]
        raise ValueError("auth_realm_avp, auth_username_avp and auth_password_avp go together: "
                         "%s not set" % ", ".join(missing))
    return [parse_credential(c) for c in P.credential]


def _resolve_pv(rt, text, param):
    """The PV a parameter names, through the config's PV registry."""
    text = text.strip()
    pos = Pos("modparam uac " + param, 1, 1)
    try:
        if not text.startswith("$"):
            raise ConfigError(pos, "not a pseudo-variable")
        spec, end = parse_pv(text, 0, pos)
        if end != len(text):
            raise ConfigError(pos, "text after the pseudo-variable")
        return rt.script.registry.resolve(spec)
    except ConfigError as e:
        raise ValueError("%s %r: %s" % (param, text, e.message)) from None


class _Setup:
    """What uac_auth() needs, prepared once per compiled config."""

    def __init__(self, rt):
        self.script = rt.script
        self.creds = check_params()
        self.pvs = None
        if P.auth_realm_avp:
            self.pvs = (_resolve_pv(rt, P.auth_realm_avp, "auth_realm_avp"),
                        _resolve_pv(rt, P.auth_username_avp, "auth_username_avp"),
                        _resolve_pv(rt, P.auth_password_avp, "auth_password_avp"))


_SETUP = {"s": None}


def _setup(rt) -> _Setup:
    s = _SETUP["s"]
    if s is None or s.script is not rt.script:
        s = _SETUP["s"] = _Setup(rt)
    return s


def mod_init(rt):
    """Check the auth parameters; hook the CSeq shift into tm and rr."""
    _setup(rt)
    CS.mod_init(rt)


def _fixup(args, pos):
    """Startup errors at the uac_auth() call too, so `kampy -c` shows them."""
    try:
        check_params()
    except ValueError as e:
        raise ConfigError(pos, str(e)) from None
    return args


# --- picking credentials --------------------------------------------------------------------

def find_credentials(ctx, realm: str):
    """(username, secret) for realm: the auth_*_avp triple when it is set and
    its realm is empty or equal, else the first `credential` for realm."""
    s = _setup(ctx.rt)
    if s.pvs is not None:
        r, u, p = (to_str(pv.get(ctx)) for pv in s.pvs)
        if u and p and (not r or r == realm):
            return u, p
    for user, crealm, password in s.creds:
        if crealm == realm:
            return user, password
    return None


# --- the challenge ----------------------------------------------------------------------------

def _challenge_of(ctx):
    """(reply, Request-URI of the challenged branch) in failure_route and its kin."""
    reply = ctx.reply
    if reply is None and ctx.msg is not None and not ctx.msg.is_request:
        reply = ctx.msg
    uri = None
    t = ctx.t or {}
    rec = t.get("rec")
    if rec is None and t.get("tid") and "tm" in ctx.rt.modules:
        rec = ctx.rt.api("tm").transaction(ctx)
    if rec is not None:
        best = rec.get("best")
        if best and 0 <= best[2] < len(rec.get("b", ())):
            uri = rec["b"][best[2]].get("u")
    return reply, uri


def _by_realm(rt, reply, hdr):
    """{realm: [Challenge, ...]} in the order the realms first appear; a
    header we cannot parse is logged and left out."""
    out = {}
    for value in reply.headers(hdr):
        try:
            chs = digest.split_challenges(value)
        except ParseError as e:
            log(rt, -1, "cannot parse %s %r: %s" % (hdr, b2s(value[:80]), e.reason))
            continue
        for ch in chs:
            out.setdefault(ch.realm or "", []).append(ch)
    return out


def _ch_state(ch) -> dict:
    return {"realm": ch.realm, "nonce": ch.nonce, "opaque": ch.opaque, "alg": ch.algorithm,
            "qop": list(ch.qop), "uh": ch.userhash}


def _ch_from(d) -> digest.Challenge:
    return digest.Challenge(scheme="Digest", realm=d["realm"], nonce=d["nonce"], opaque=d["opaque"],
                            algorithm=d["alg"], qop=list(d["qop"]), userhash=d["uh"])


def _base_alg(alg: str) -> str:
    return alg[:-5] if alg.endswith("-sess") else alg


_HEX_LEN = {"MD5": 32, "SHA-256": 64, "SHA-512-256": 64}


def _pick(rt, realm, chs, ha1_len):
    """The strongest challenge of one realm we can answer, or None (logged)."""
    if ha1_len is not None:
        fits = [c for c in chs if c.supported and _HEX_LEN.get(_base_alg(c.algorithm)) == ha1_len]
        best = digest.pick_challenge(fits)
        if best is None:
            log(rt, -1, "realm %r: an HA1 of %d hex digits fits none of the offered algorithms (%s)"
                % (realm, ha1_len, ", ".join(sorted({c.algorithm_raw or c.algorithm for c in chs}))))
        return best
    best = digest.pick_challenge(chs)
    if best is None:
        offered = sorted({"%s %s" % (c.scheme, c.algorithm_raw or c.algorithm) for c in chs})
        log(rt, -1, "realm %r: no challenge we can answer (offered: %s; supported: Digest with %s, "
            "qop auth or auth-int)" % (realm, "; ".join(offered), ", ".join(digest.ALGORITHMS)))
    return best


def _answer_realm(ctx, realm, chs, hname, prev, ha1_mode):
    """A new credentials entry for one challenged realm, or None (logged)."""
    rt = ctx.rt
    found = find_credentials(ctx, realm)
    if found is None:
        log(rt, 0, "no credentials for realm %r" % realm)
        return None
    user, secret = found
    if ha1_mode:
        if not all(c in "0123456789abcdefABCDEF" for c in secret):
            log(rt, -1, "realm %r: uac_auth mode 1 needs an HA1 (hex digits) as password" % realm)
            return None
    ch = _pick(rt, realm, chs, len(secret) if ha1_mode else None)
    if ch is None:
        return None
    if prev is not None:
        if not ch.stale:
            log(rt, 0, "realm %r refused the credentials of %r" % (realm, user))
            return None
        if prev.get("st"):
            log(rt, 0, "realm %r: a second stale nonce in one transaction, giving up" % realm)
            return None
    base = _base_alg(ch.algorithm)
    ha1 = secret.lower() if ha1_mode else digest.ha1(base, user, realm, secret)
    return {"h": hname, "r": realm, "u": user, "k": ha1, "c": _ch_state(ch), "nc": 0,
            "st": 1 if prev is not None else 0}


def _credentials_line(entry, method, uri, body) -> bytes:
    entry["nc"] += 1
    creds = digest.make_credentials(_ch_from(entry["c"]), entry["u"], method, uri, ha1=entry["k"],
                                    body=body, nc=entry["nc"])
    return s2b(entry["h"]) + b": " + s2b(digest.format_credentials(creds))


def do_auth(ctx, mode: int) -> int:
    """The work of uac_auth(): 1 when the request now carries credentials."""
    rt = ctx.rt
    msg = ctx.msg
    if msg is None or not msg.is_request:
        log(rt, -1, "no request to authenticate here")
        return -1
    if ctx.data.get("uac.auth"):
        return 1              # already done for this run: one answer per challenge
    reply, branch_uri = _challenge_of(ctx)
    if reply is None or reply.status not in _HEADERS:
        log(rt, -1, "the failed branch has no 401/407 reply (%s)"
            % ("none" if reply is None else reply.status))
        return -1
    hdr, hname = _HEADERS[reply.status]
    realms = _by_realm(rt, reply, hdr)
    if not realms:
        log(rt, -1, "%d reply without a usable %s header" % (reply.status, hdr))
        return -1
    state = dict(CS.state(ctx) or {})
    entries = [dict(e) for e in state.get("a", ())]
    known = {(e["h"], e["r"]): i for i, e in enumerate(entries)}
    answered = 0
    for realm, chs in realms.items():
        i = known.get((hname, realm))
        entry = _answer_realm(ctx, realm, chs, hname, entries[i] if i is not None else None,
                              mode & HA1_MODE)
        if entry is None:
            if i is not None:
                return -1     # credentials refused: the challenge goes upstream
            continue
        answered += 1
        if i is None:
            entries.append(entry)
        else:
            entries[i] = entry
    if not answered:
        return -1
    if branch_uri and s2b(branch_uri) != msg.ruri:
        msg.set_ruri(s2b(branch_uri))
    uri = b2s(msg.ruri)
    method = msg.method
    body = msg.body
    try:
        lines = [_credentials_line(e, method, uri, body) for e in entries]
    except ValueError as e:
        log(rt, -1, "cannot build the credentials: %s" % e)
        return -1
    for line in lines:
        msg.append_header(line)
    state["a"] = entries
    if not CS.raise_cseq(ctx, state):
        return -1
    ctx.data["uac.auth"] = True
    return 1


# --- script functions ---------------------------------------------------------------------------

def uac_auth(ctx) -> int:
    """uac_auth()

    In failure_route, answer the 401/407 of the failed branch: the request
    gets Authorization / Proxy-Authorization and CSeq+1 for the next
    t_relay().  1 on success, -1 (logged) otherwise."""
    return do_auth(ctx, 0)


def uac_auth_m(ctx, mode: IntV) -> int:
    """uac_auth(mode)

    uac_auth(); mode 1: the password (AVP or credential) is an HA1 hash."""
    return do_auth(ctx, mode)


def uac_auth_mode(ctx, mode: IntV) -> int:
    """uac_auth_mode(mode)

    The same as uac_auth(mode)."""
    return do_auth(ctx, mode)


FUNCS = [
    Func("uac_auth", uac_auth, ROUTES, fixup=_fixup),
    Func("uac_auth", uac_auth_m, ROUTES, fixup=_fixup),
    Func("uac_auth_mode", uac_auth_mode, ROUTES, fixup=_fixup),
]
