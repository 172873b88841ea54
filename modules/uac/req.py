# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part: requests from the config — $uac_req(key), uac_req_send(),
event_route[uac:reply].

$uac_req is one set of values per process, as in Kamailio: the script
fills it, uac_req_send() sends what it holds through tm's module API.  The
reply may reach any process, so everything a later step needs (the values
as they were at send time, the From tag and Call-ID used, where the request
went) travels with the transaction as the callback's data.  While
event_route[uac:reply] runs, $uac_req shows those send-time values plus
evcode/evtype; the process's own values come back when the route ends
(Kamailio overwrites them for good).
"""

import re

from kampy.module import (
    BRANCH_ROUTE, CORE_REPLY_ROUTE, EVENT_ROUTE, FAILURE_ROUTE, LOCAL_ROUTE, ONREPLY_ROUTE,
    REQUEST_ROUTE, Func, PvDef,
)
from kampy.runtime import L_ERR
from kampy.script import core_funcs
from kampy.script.ast import ConfigError
from kampy.script.context import Context
from kampy.script.pv import PV, b2s, s2b
from kampy.sip import build, digest, parse
from kampy.sip.errors import ParseError
from kampy.sip.headers import header_key, parse_name_addr
from kampy.sip.uri import parse_uri

CALLBACK = "uac.req"
DEFAULT_CSEQ = 10          # tm's first CSeq of a new dialog
FLAG_HA1 = 1               # $uac_req(flags) bit: apasswd is an HA1

# Kamailio 5.6 buffer sizes (uac_send.h); a value must be shorter than its
# buffer, which keeps the terminating NUL.
MAX_URI = 1024
LIMITS = {
    "method": 32, "ruri": MAX_URI, "furi": MAX_URI, "turi": MAX_URI, "ouri": MAX_URI,
    "hdrs": 2048, "body": 32768, "callid": 128, "sock": MAX_URI, "auser": 128,
    "apasswd": 64, "evparam": 128,
}
INT_KEYS = ("flags", "cseqno", "evroute", "evcode", "evtype")
VIEW_KEYS = ("evcode", "evtype")          # set for the event route, read-only in the script
KEYS = tuple(LIMITS) + INT_KEYS + ("all",)

# headers tm writes itself: a second copy from hdrs would corrupt the request
_OWN_HEADERS = frozenset(("via", "from", "to", "call-id", "cseq", "content-length"))
_METHOD_RE = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+\Z")
_HDR_LINE_RE = re.compile(r"[!-9;-~]+[ \t]*:")

_own = {}        # this process's values: key -> str / int; unset keys absent
_cur = [_own]    # what $uac_req reads now: _own, or the send-time copy in the event route


def reset():
    """`$uac_req(all) = $null`."""
    _cur[0].clear()


# --- $uac_req(key) ---------------------------------------------------------------------

def _log(ctx, text):
    ctx.rt.log(L_ERR, text, "uac")


def set_value(ctx, key, value, where="") -> bool:
    """Assign one key with Kamailio's limits; a bad value is refused (logged),
    the key keeps what it had."""
    st = _cur[0]
    if value is None:
        st.pop(key, None)
        return True
    if key in INT_KEYS:
        if isinstance(value, str):
            v = value.strip()
            if not re.fullmatch(r"[+-]?[0-9]+", v):
                _log(ctx, "%s$uac_req(%s) takes an integer, not %r" % (where, key, value))
                return False
            value = int(v)
        value = int(value)
        if key == "evroute" and value not in (0, 1, 2):
            _log(ctx, "%s$uac_req(evroute) is 0, 1 or 2, not %d" % (where, value))
            return False
        if key in ("flags", "cseqno") and not 0 <= value < 2 ** 31:
            _log(ctx, "%s$uac_req(%s) is out of range: %d" % (where, key, value))
            return False
        st[key] = value
        return True
    value = value if isinstance(value, str) else str(value)
    n = len(s2b(value))
    if n >= LIMITS[key]:
        _log(ctx, "%s$uac_req(%s) is too long: %d bytes, at most %d" % (where, key, n, LIMITS[key] - 1))
        return False
    st[key] = value
    return True


class UacReqPV(PV):
    """$uac_req(key): one value of the request uac_req_send() will send."""

    __slots__ = ("key", "where")
    writable = True

    def __init__(self, spec, key):
        super().__init__(spec)
        self.key = key
        self.where = "%s: " % spec.pos if spec is not None and spec.pos else ""

    def get(self, ctx):
        v = _cur[0].get(self.key)
        if v is None and self.key in INT_KEYS:
            return 0
        return v

    def set(self, ctx, value):
        if isinstance(value, bool):
            value = int(value)
        set_value(ctx, self.key, value, self.where)


class UacReqViewPV(UacReqPV):
    """$uac_req(evcode), $uac_req(evtype): the reply event_route[uac:reply] runs for."""

    __slots__ = ()
    writable = False

    def set(self, ctx, value):
        raise ConfigError(self.spec.pos if self.spec else None,
                          "$uac_req(%s) is read-only" % self.key)


class UacReqAllPV(UacReqPV):
    """$uac_req(all) = $null resets every key."""

    __slots__ = ()
    null_only = True

    def get(self, ctx):
        return None

    def set(self, ctx, value):
        if value is None:
            reset()


def uac_req_factory(spec, resolve):
    key = spec.inner.strip() if isinstance(spec.inner, str) else spec.inner
    if not isinstance(key, str) or not key or key.startswith("$"):
        raise ConfigError(spec.pos, "$uac_req needs a fixed key: %s" % ", ".join(KEYS))
    if spec.index is not None:
        raise ConfigError(spec.pos, "$uac_req takes no index")
    if key not in KEYS:
        raise ConfigError(spec.pos, "unknown $uac_req key %r (known: %s)" % (key, ", ".join(KEYS)))
    if key == "all":
        return UacReqAllPV(spec, key)
    if key in VIEW_KEYS:
        return UacReqViewPV(spec, key)
    return UacReqPV(spec, key)


# --- building the request ---------------------------------------------------------------

_PROTOS = ("udp", "tcp", "tls", "sctp", "ws", "wss")
_HOSTPORT_RE = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]+))?|([^:\[\]]+)(?::([0-9]+))?")


def find_socket(rt, text):
    """The listen socket named "udp:ip:port" (proto and port optional), or None."""
    t = text.strip()
    proto = "udp"
    head, sep, rest = t.partition(":")
    if sep and head.lower() in _PROTOS:
        proto, t = head.lower(), rest
    m = _HOSTPORT_RE.fullmatch(t)
    if m is None:
        return None
    ip = (m.group(1) or m.group(3)).lower()
    port = int(m.group(2) or m.group(4) or 5060)
    for s in rt.sockets:
        if s.proto == proto and s.ip.lower() == ip and s.port == port:
            return s
    return None


def _name_addr(text, what):
    """(display, uri) of a From/To value: a bare URI, or [display] <uri>."""
    raw = s2b(text.strip())
    if b"<" not in raw:
        try:
            parse_uri(raw)
        except ParseError as e:
            raise ValueError("%s is not a SIP URI: %s" % (what, e)) from None
        return None, raw
    try:
        na = parse_name_addr(raw)
        na.uri
    except ParseError as e:
        raise ValueError("%s is not a valid name-addr: %s" % (what, e)) from None
    if na.params:
        raise ValueError("%s: header parameters after '>' are not supported (%s)"
                         % (what, b2s(na.params)))
    return na.display, na.uri_raw


def header_lines(hdrs: str) -> list:
    """$uac_req(hdrs) as header lines (CRLF-terminated as in Kamailio; a
    missing last CRLF and bare LFs are accepted)."""
    out = []
    for line in hdrs.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        if line[0] in " \t":
            if not out:
                raise ValueError("$uac_req(hdrs) starts with a continuation line")
            out[-1] += "\r\n" + line
            continue
        if not _HDR_LINE_RE.match(line):
            raise ValueError("$uac_req(hdrs): not a header line: %r" % line[:60])
        name = line.split(":", 1)[0].strip()
        try:
            key = header_key(name)
        except ParseError:
            raise ValueError("$uac_req(hdrs): bad header name %r" % name) from None
        if key in _OWN_HEADERS:
            raise ValueError("$uac_req(hdrs) must not hold %s: tm writes it" % name)
        out.append(line)
    return [s2b(x) for x in out]


def _hop_uri(ip, port):
    return "sip:%s:%d" % ("[%s]" % ip if ":" in ip else ip, port)


def _packed(st: dict) -> dict:
    """Values for the callback data: bytes, so any octet survives msgpack."""
    return {k: (s2b(v) if isinstance(v, str) else v) for k, v in st.items()}


def _unpacked(d: dict) -> dict:
    return {k: (b2s(v) if isinstance(v, bytes) else v) for k, v in d.items()}


def uac_req_send(ctx) -> int:
    """uac_req_send(): send the request described by $uac_req(...); 1 when
    sent, -1 (logged) when it cannot be."""
    rt = ctx.rt
    st = dict(_cur[0])
    method, ruri = st.get("method"), st.get("ruri")
    if not method or not ruri:
        _log(ctx, "uac_req_send: $uac_req(method) and $uac_req(ruri) must be set")
        return -1
    try:
        if not _METHOD_RE.match(method):
            raise ValueError("$uac_req(method) is not a SIP method: %r" % method)
        try:
            parse_uri(s2b(ruri))
        except ParseError as e:
            raise ValueError("$uac_req(ruri) is not a SIP URI: %s" % e) from None
        fdisp, furi = _name_addr(st.get("furi") or ruri, "$uac_req(furi)")
        tdisp, turi = _name_addr(st.get("turi") or ruri, "$uac_req(turi)")
        headers = header_lines(st.get("hdrs") or "")
    except ValueError as e:
        _log(ctx, "uac_req_send: %s" % e)
        return -1
    sock = None
    if st.get("sock"):
        sock = find_socket(rt, st["sock"])
        if sock is None:
            _log(ctx, "uac_req_send: $uac_req(sock) %r is not one of our sockets (%s)"
                 % (st["sock"], ", ".join(str(s) for s in rt.sockets) or "none"))
            return -1
    sock = sock or rt.default_socket()
    target = st.get("ouri") or ruri
    hop = core_funcs.next_hop(ctx, target)
    if hop is None:
        _log(ctx, "uac_req_send: cannot resolve the next hop %s" % target)
        return -1
    call_id = s2b(st["callid"]) if st.get("callid") else build.make_call_id(sock.host)
    from_tag = build.make_tag()
    cseq = st.get("cseqno") or DEFAULT_CSEQ
    needs_cb = st.get("evroute") or (st.get("auser") and st.get("apasswd"))
    data = None
    if needs_cb:
        data = {"v": _packed(st), "ft": from_tag, "ci": call_id, "cs": cseq, "hop": [hop[0], hop[1]],
                "sock": str(sock), "auth": 0}
    tid = rt.api("tm").send_request(
        method, ruri, furi, turi, from_tag=from_tag, call_id=call_id, cseq=cseq, headers=headers,
        body=s2b(st.get("body") or ""), next_hop=_hop_uri(hop[0], hop[1]), sock=sock,
        callback=CALLBACK if needs_cb else None, data=data, from_display=fdisp, to_display=tdisp)
    if tid is None:
        _log(ctx, "uac_req_send: tm could not send the %s to %s" % (method, ruri))
        return -1
    return 1


# --- replies: authentication and event_route[uac:reply] --------------------------------------

def on_reply(rt, tid, reply, code, data):
    """tm callback, in whichever process got the final reply or the timeout."""
    if code < 200 or not isinstance(data, dict):
        return
    st = _unpacked(data.get("v") or {})
    evroute = st.get("evroute") or 0
    if evroute == 2 or (evroute == 1 and reply is not None):
        run_event_route(rt, data, st, reply, code)
    if (reply is not None and code in (401, 407) and not data.get("auth")
            and st.get("auser") and st.get("apasswd")):
        authenticate(rt, tid, reply, code, data, st)


def authenticate(rt, tid, reply, code, data, st):
    """Answer the challenge once: same Call-ID and From tag, CSeq+1."""
    www = code == 401
    challenges = []
    try:
        for v in reply.headers("WWW-Authenticate" if www else "Proxy-Authenticate"):
            challenges.extend(digest.split_challenges(v))
    except (ParseError, ValueError) as e:
        rt.log(L_ERR, "uac_req_send: bad challenge in the %d reply: %s" % (code, e), "uac")
        return
    ch = digest.pick_challenge(challenges)
    if ch is None:
        algs = ", ".join(sorted({c.algorithm_raw or c.algorithm for c in challenges})) or "none"
        rt.log(L_ERR, "uac_req_send: no challenge we can answer in the %d reply (algorithms: %s)"
               % (code, algs), "uac")
        return
    secret = st["apasswd"]
    kw = {"ha1": secret} if (st.get("flags") or 0) & FLAG_HA1 else {"password": secret}
    try:
        creds = digest.make_credentials(ch, st["auser"], st["method"], st["ruri"],
                                        body=s2b(st.get("body") or ""), **kw)
        value = digest.format_credentials(creds)
    except ValueError as e:
        rt.log(L_ERR, "uac_req_send: cannot answer the %d challenge: %s" % (code, e), "uac")
        return
    line = ("Authorization: " if www else "Proxy-Authorization: ") + value
    new = dict(data)
    new["auth"] = 1
    new["cs"] = (data.get("cs") or DEFAULT_CSEQ) + 1
    if rt.api("tm").resend(tid, [s2b(line)], callback=CALLBACK, data=new) is None:
        rt.log(L_ERR, "uac_req_send: could not send the authenticated request", "uac")


def _timeout_reply(data, st, code):
    """What event_route[uac:reply] sees when no reply came: a local 408."""
    reason = build.REASONS.get(code, "Request Timeout")
    ruri = st.get("ruri") or ""
    fu = st.get("furi") or ruri
    tu = st.get("turi") or ruri
    lines = [
        "SIP/2.0 %d %s" % (code, reason),
        "From: %s;tag=%s" % (fu if "<" in fu else "<%s>" % fu, b2s(data.get("ft") or b"")),
        "To: %s" % (tu if "<" in tu else "<%s>" % tu),
        "Call-ID: %s" % b2s(data.get("ci") or b""),
        "CSeq: %d %s" % (data.get("cs") or DEFAULT_CSEQ, st.get("method") or ""),
        "Content-Length: 0",
    ]
    return parse(s2b("\r\n".join(lines) + "\r\n\r\n"))


def run_event_route(rt, data, st, reply, code):
    route = rt.script.event_routes.get("uac:reply")
    if route is None:
        return
    view = dict(st)
    view["evcode"] = code
    view["evtype"] = 1 if reply is not None else 2
    try:
        msg = reply if reply is not None else _timeout_reply(data, st, code)
    except ParseError as e:
        rt.log(L_ERR, "uac: cannot build the local %d for event_route[uac:reply]: %s" % (code, e), "uac")
        return
    sock = find_socket(rt, data.get("sock") or "") or rt.default_socket()
    hop = data.get("hop") or [sock.ip, sock.port]
    ctx = Context(rt, msg, hop[0], hop[1], "udp", sock, EVENT_ROUTE)
    ctx.event = {"name": "uac:reply"}
    saved = _cur[0]
    _cur[0] = view
    try:
        rt.run_route(route, ctx)
    except Exception as e:
        rt.log(L_ERR, "uac: event_route[uac:reply] failed: %r" % (e,), "uac")
    finally:
        _cur[0] = saved


def mod_init(rt):
    _own.clear()
    _cur[0] = _own
    rt.api("tm").register_callback(CALLBACK, on_reply)


SEND_ROUTES = (REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE | ONREPLY_ROUTE | CORE_REPLY_ROUTE
               | LOCAL_ROUTE | EVENT_ROUTE)

FUNCS = [Func("uac_req_send", uac_req_send, SEND_ROUTES)]
PVS = [PvDef("uac_req", uac_req_factory, "$uac_req(key): the request uac_req_send() sends")]
EVENT_ROUTES = ["uac:reply"]
