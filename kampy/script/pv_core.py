# SPDX-License-Identifier: GPL-2.0-or-later
"""The core pseudo-variables: what Kamailio's pv module gives every config.

Factories run once at startup: they check the inner name and the index and
resolve all they can (header keys, AVP keys, time fields), so `get` only
reads.  `get` never raises for bad message content: a header that does not
parse reads as $null, as in Kamailio where the parser error is logged and the
PV gives $null.

Where Kamailio 5.6 behaves in a surprising way, we follow it, because a
config written for Kamailio must keep working here:
- `$avp(x) = $null` removes only the most recent value; `$(avp(x)[*]) = $null`
  removes them all; an integer index on assignment is ignored (the value is
  added), and `$(avp(x)[*]) = v` replaces every value by v.
- `$(avp(x)[*])` read as one value joins the values with ", ";
  `$(hdr(x)[*])` joins the header bodies with ",".
- `$xavp(r=>f) = v` creates a new item at the head of r; `$xavp(r[0]=>f) = v`
  adds a value to an existing item.  `$xavp(r) = $null` removes item 0,
  `$xavp(r[*]) = $null` the whole root, `$xavp(r=>f) = $null` the first value
  of f in item 0.
- `$var(x)` and `$shv(x)` read 0 until set; assigning $null sets them to 0.
- `$rP` is the transport parameter as written, "UDP" when there is none.
- `$Ts`, `$Tf` and `$time(...)` read the clock once per message.
"""

import logging
import operator
import os
import re

from ..sip import ParseError, header_key, parse_uri
from ..sip.headers import parse_name_addr_list
from .ast import ConfigError, PVSpec
from .pv import ConstPV, FuncPV, PV, b2s, s2b, to_int, to_str

_L_ERR = -1  # Kamailio's L_ERR (kampy.runtime.L_ERR; not imported, to keep imports one-way)
_MISS = object()   # also the compiled code's "not in the message cache"


def _log_err(ctx, text):
    log = getattr(ctx.rt, "log", None)
    if log is not None:
        log(_L_ERR, text)
    else:
        logging.getLogger("kampy").error(text)


# --- startup helpers -----------------------------------------------------------------

_INNER_PV_RE = re.compile(r"\$(\w+)(?:\((.*)\))?\Z", re.S)


def _sub_pv(spec, what, resolve):
    """A PV written inside a name or index (`$avp($var(n))`), resolved now."""
    if isinstance(what, PVSpec):
        return resolve(what)
    m = _INNER_PV_RE.match(what.strip())
    if m is None:
        raise ConfigError(spec.pos, "bad pseudo-variable %r in $%s" % (what, spec.name))
    return resolve(PVSpec(m.group(1), m.group(2), None, [], spec.pos, what))


def _parse_index(spec, idx, resolve):
    """(static index, index PV): static is None, an int or "*"."""
    if idx is None or idx == "*" or (isinstance(idx, int) and not isinstance(idx, bool)):
        return idx, None
    if isinstance(idx, str):
        t = idx.strip()
        if t == "*":
            return "*", None
        if re.fullmatch(r"[+-]?\d+", t):
            return int(t), None
        if t.startswith("$"):
            return None, _sub_pv(spec, t, resolve)
        raise ConfigError(spec.pos, "bad index [%s] in $%s" % (idx, spec.name))
    return None, resolve(idx)


def _index_now(idx, idx_pv, ctx):
    return idx if idx_pv is None else to_int(idx_pv.get(ctx))


def _no_index(spec):
    if spec.index is not None:
        raise ConfigError(spec.pos, "$%s takes no index" % spec.name)


def _no_inner(spec):
    if spec.inner is not None:
        raise ConfigError(spec.pos, "$%s takes no name in parentheses" % spec.name)
    _no_index(spec)


def _need_inner(spec) -> str:
    inner = spec.inner
    if inner is None or (isinstance(inner, str) and not inner.strip()):
        raise ConfigError(spec.pos, "$%s needs a name in parentheses" % spec.name)
    return inner.strip() if isinstance(inner, str) else inner


# --- PV classes ------------------------------------------------------------------------

class MsgPV(PV):
    """Read-only, from the message.  The try block is free in CPython 3.11
    unless it fires, and it turns any parser complaint into $null.

    `fast`, when given, is a getter that keeps the value in the message
    (see _memo): compiled code calls it instead of get."""

    __slots__ = ("fn", "fast", "kind", "memo")

    def __init__(self, spec, fn, fast=None, kind="any", memo=None):
        super().__init__(spec)
        self.fn = fn
        self.fast = fast
        self.kind = kind
        self.memo = memo    # ("msg" or "ruri", key in the message's cache): compiled code reads it inline

    def get(self, ctx):
        msg = ctx.msg
        if msg is None:
            return None
        try:
            return self.fn(msg)
        except ParseError:
            return None

    def getter(self):
        return self.fast or self.get


# Per-message memo: values read from the message as received are kept in the
# message's own cache (Message._cache) under "$name" keys, so a route that
# reads $rU five times parses and decodes it once.  Values of the R-URI are
# kept with the R-URI bytes they came from: a rewrite makes them stale.

def _memo(key, fn):
    def get(ctx):
        msg = ctx.msg
        if msg is None:
            return None
        c = msg._cache
        v = c.get(key, _MISS)
        if v is _MISS:
            try:
                v = fn(msg)
            except ParseError:
                v = None
            c[key] = v
        return v
    return get


def _memo_ruri(key, fn):
    def get(ctx):
        msg = ctx.msg
        if msg is None:
            return None
        c = msg._cache
        ruri = msg.ruri
        e = c.get(key)
        if e is not None and e[0] is ruri:
            return e[1]
        try:
            v = fn(msg)
        except ParseError:
            v = None
        c[key] = (ruri, v)
        return v
    return get


def _msg_factory(fn, memo=None, kind="any"):
    """memo: None, "msg" (a value of the received message) or "ruri" (of the
    current R-URI)."""
    def factory(spec, resolve):
        _no_inner(spec)
        fast = None
        if memo == "msg":
            fast = _memo("$" + spec.name, fn)
        elif memo == "ruri":
            fast = _memo_ruri("$" + spec.name, fn)
        return MsgPV(spec, fn, fast, kind, (memo, "$" + spec.name) if memo else None)
    return factory


def _ctx_factory(fn):
    def factory(spec, resolve):
        _no_inner(spec)
        return FuncPV(spec, fn)
    return factory


# --- Request-URI ------------------------------------------------------------------------

def _ruri(msg):
    return msg.ruri_uri if msg.is_request else None


_ouri_cache = [None, None]   # first_line object, its parsed URI (None: did not parse)


def _ouri(msg):
    """The R-URI as received; parsed once per message, not per read."""
    if not msg.is_request:
        return None
    fl = msg.first_line
    c = _ouri_cache
    if c[0] is not fl:
        try:
            u = parse_uri(fl.split(b" ")[1])
        except (ParseError, IndexError):
            u = None
        c[1] = u
        c[0] = fl
    return c[1]


def _u_whole(u):
    return None if u is None else b2s(u.raw)


def _u_user(u):
    if u is None or not u.user:
        return None
    return b2s(u.user)


def _u_host(u):
    if u is None or not u.host:
        return None
    return b2s(u.host)


def _u_port(u):
    if u is None:
        return None
    if u.port is not None:
        return u.port
    t = u.transport
    if t == "tls" or (t is None and u.scheme == "sips"):
        return 5061
    return 5060


def _u_proto(u):
    if u is None:
        return None
    t = u.param(b"transport")
    return "UDP" if t is None else b2s(t)


def _u_scheme(u):
    return None if u is None else u.scheme


def _compose(get_uri, part):
    return lambda msg: part(get_uri(msg))


class RuriPV(MsgPV):
    """$ru, $rU, $rd, $rp: writable parts of the current R-URI."""

    __slots__ = ("part",)
    writable = True

    def __init__(self, spec, fn, part, kind="any"):
        super().__init__(spec, fn, _memo_ruri("$" + spec.name, fn), kind, ("ruri", "$" + spec.name))
        self.part = part

    def set(self, ctx, value):
        msg = ctx.msg
        if msg is None or not msg.is_request:
            _log_err(ctx, "%s: no request to change the R-URI of" % self.spec.text)
            return
        part = self.part
        if part == "uri":
            if value is None or value == "":
                _log_err(ctx, "%s: cannot set the R-URI to $null" % self.spec.text)
                return
            msg.set_ruri(s2b(to_str(value)))
            return
        try:
            u = msg.ruri_uri
            if part == "user":
                new = u.replace(user=None if value is None or value == "" else s2b(to_str(value)))
            elif part == "host":
                if value is None or value == "":
                    _log_err(ctx, "%s: the R-URI needs a host" % self.spec.text)
                    return
                new = u.replace(host=s2b(to_str(value)))
            else:
                port = None if value is None or value == "" else to_int(value)
                if port is not None and not 0 < port < 65536:
                    _log_err(ctx, "%s: bad port %r" % (self.spec.text, value))
                    return
                new = u.replace(port=port)
        except ValueError as e:   # ParseError included
            _log_err(ctx, "%s: cannot rewrite the R-URI: %s" % (self.spec.text, e))
            return
        msg.set_ruri(bytes(new))


def _ruri_factory(fn, part, kind="any"):
    def factory(spec, resolve):
        _no_inner(spec)
        return RuriPV(spec, fn, part, kind)
    return factory


def _ru(msg):
    if not msg.is_request:
        return None
    msg.ruri_uri   # Kamailio gives $null for an R-URI that does not parse
    return b2s(msg.ruri)


# --- destination, forced socket ---------------------------------------------------------

class DuPV(PV):
    __slots__ = ()
    writable = True

    def get(self, ctx):
        return ctx.du

    def set(self, ctx, value):
        ctx.du = None if value is None or value == "" else to_str(value)


_PROTOS = frozenset(("udp", "tcp", "tls", "sctp", "ws", "wss"))


def parse_socket(text):
    """`[proto:]host[:port]` as Kamailio writes sockets -> (proto, host, port),
    None for the parts not given; None when malformed."""
    t = text.strip()
    head, sep, rest = t.partition(":")
    proto = None
    if sep and head.lower() in _PROTOS:
        proto = head.lower()
        t = rest
    if t.startswith("["):
        end = t.find("]")
        if end < 0:
            return None
        host, rest = t[1:end], t[end + 1:]
        if rest and rest[0] != ":":
            return None
        port = rest[1:] if rest else None
    elif t.count(":") == 1:
        host, _, port = t.partition(":")
    else:
        host, port = t, None
    if not host:
        return None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            return None
        port = int(port)
    return proto, host.lower(), port


class FsPV(PV):
    __slots__ = ()
    writable = True

    def get(self, ctx):
        s = ctx.send_socket
        return None if s is None else str(s)

    def set(self, ctx, value):
        if value is None:
            ctx.send_socket = None
            return
        p = parse_socket(to_str(value))
        if p is not None:
            proto, host, port = p
            for s in ctx.rt.sockets:
                if (s.ip.lower() == host and (proto is None or s.proto == proto)
                        and (port is None or s.port == port)):
                    ctx.send_socket = s
                    return
        _log_err(ctx, "%s: no listening socket matches %r" % (self.spec.text, value))


# --- From / To and other headers ----------------------------------------------------------

def _name_addr_fns(prop):
    get_na = operator.attrgetter(prop)

    def uri(msg):
        na = get_na(msg)
        return None if na is None else b2s(na.uri_raw)

    def user(msg):
        na = get_na(msg)
        return None if na is None else _u_user(na.uri)

    def host(msg):
        na = get_na(msg)
        return None if na is None else _u_host(na.uri)

    def display(msg):
        na = get_na(msg)
        return None if na is None or not na.display else b2s(na.display)

    def tag(msg):
        na = get_na(msg)
        if na is None:
            return None
        t = na.tag
        return b2s(t) if t else None

    return uri, user, host, display, tag


def _header_fn(key):
    header_key(key)   # makes the key its own cache entry: msg.header(key) stays a dict hit

    def fn(msg):
        v = msg.header(key)
        return None if v is None else b2s(v)
    return fn


def _call_id(msg):
    v = msg.call_id
    return None if v is None else b2s(v)


def _cseq(msg):
    c = msg.cseq
    return None if c is None else c.number


def _method(msg):
    if msg.is_request:
        return msg.method
    c = msg.cseq
    return None if c is None else c.method


def _status(msg):
    return None if msg.is_request else msg.status


def _reason(msg):
    return None if msg.is_request else b2s(msg.reason)


def _diversion(msg):
    raw = msg.parsed("diversion")
    return None if raw is None else b2s(parse_name_addr_list(raw)[0].uri_raw)


class PaiPV(PV):
    """$ai, $(ai[n]): Kamailio indexes the identities across all PAI lines."""

    __slots__ = ("idx", "idx_pv")

    def __init__(self, spec, idx, idx_pv):
        super().__init__(spec)
        self.idx = idx or 0
        self.idx_pv = idx_pv

    def get(self, ctx):
        msg = ctx.msg
        if msg is None:
            return None
        try:
            ids = msg.parsed("p-asserted-identity")
            if not ids:
                return None
            return b2s(ids[_index_now(self.idx, self.idx_pv, ctx)].uri_raw)
        except (ParseError, IndexError):
            return None


def _pai_factory(spec, resolve):
    if spec.inner is not None:
        raise ConfigError(spec.pos, "$ai takes no name in parentheses")
    idx, idx_pv = _parse_index(spec, spec.index, resolve)
    if idx == "*":
        raise ConfigError(spec.pos, "$ai does not take [*]")
    return PaiPV(spec, idx, idx_pv)


def _dyn_header_key(name_pv, ctx):
    v = name_pv.get(ctx)
    if v is None or v == "":
        return None
    try:
        return header_key(to_str(v))
    except ValueError:   # ParseError and non-latin-1 names
        return None


class _NamedHeaderPV(PV):
    """A PV reading the header named in its brackets (a fixed name or a PV)."""

    __slots__ = ("key", "name_pv")

    def __init__(self, spec, key, name_pv):
        super().__init__(spec)
        self.key = key
        self.name_pv = name_pv

    def key_of(self, ctx):
        return self.key if self.name_pv is None else _dyn_header_key(self.name_pv, ctx)


class HdrPV(_NamedHeaderPV):
    """$hdr(name), $(hdr(name)[n]), $(hdr(name)[*])."""

    __slots__ = ("idx", "idx_pv")

    def __init__(self, spec, key, name_pv, idx, idx_pv):
        super().__init__(spec, key, name_pv)
        self.idx = idx
        self.idx_pv = idx_pv

    def get(self, ctx):
        msg = ctx.msg
        if msg is None:
            return None
        key = self.key_of(ctx)
        if key is None:
            return None
        try:
            i = _index_now(self.idx, self.idx_pv, ctx)
            if not i:
                v = msg.header(key)
                return None if v is None else b2s(v)
            vals = msg.headers(key)
            if i == "*":
                return b2s(b",".join(vals)) if vals else None
            return b2s(vals[i])
        except (ParseError, IndexError):
            return None

    def get_all(self, ctx):
        if self.idx != "*":
            return super().get_all(ctx)
        msg = ctx.msg
        key = self.key_of(ctx)
        if msg is None or key is None:
            return []
        try:
            return [b2s(v) for v in msg.headers(key)]
        except ParseError:
            return []


def _header_name(spec, resolve):
    """(key, name PV) of $hdr/$hdrc."""
    inner = _need_inner(spec)
    if not isinstance(inner, str) or inner.startswith("$"):
        return None, _sub_pv(spec, inner, resolve)
    try:
        key = header_key(inner)
    except ValueError:
        raise ConfigError(spec.pos, "bad header name %r in $%s" % (inner, spec.name)) from None
    header_key(key)
    return key, None


def _hdr_factory(spec, resolve, cls=None):
    key, name_pv = _header_name(spec, resolve)
    idx, idx_pv = _parse_index(spec, spec.index, resolve)
    return (cls or HdrPV)(spec, key, name_pv, idx, idx_pv)


class HdrcPV(_NamedHeaderPV):
    __slots__ = ()

    def get(self, ctx):
        msg = ctx.msg
        if msg is None:
            return 0
        key = self.key_of(ctx)
        return 0 if key is None else msg.count(key)


def _hdrc_factory(spec, resolve, cls=None):
    key, name_pv = _header_name(spec, resolve)
    _no_index(spec)
    return (cls or HdrcPV)(spec, key, name_pv)


# --- network ----------------------------------------------------------------------------

def _ip_text(ip):
    return "[%s]" % ip if ":" in ip and not ip.startswith("[") else ip


def _proto(ctx):
    p = ctx.proto
    return p.lower() if p else None


def _rcv_attr(fn):
    def get(ctx):
        s = ctx.rcv
        return None if s is None else fn(s)
    return get


def _sas(ctx):
    return "%s:%s:%d" % (_proto(ctx), _ip_text(ctx.src_ip), ctx.src_port)


# --- AVPs, $var, $shv ---------------------------------------------------------------------

def _avp_key(name: str) -> str:
    """AVP store key: `s:x` is `x`; `i:5` stays apart from the string name `5`."""
    if name.startswith("s:"):
        return name[2:]
    return name


class AvpPV(PV):
    __slots__ = ("key", "name_pv", "idx", "idx_pv")
    writable = True

    def __init__(self, spec, key, name_pv, idx, idx_pv):
        super().__init__(spec)
        self.key = key
        self.name_pv = name_pv
        self.idx = idx
        self.idx_pv = idx_pv

    def _key(self, ctx):
        if self.name_pv is None:
            return self.key
        v = self.name_pv.get(ctx)
        if v is None:
            return None
        return "i:%d" % v if isinstance(v, int) else v

    def get(self, ctx):
        key = self._key(ctx)
        if key is None:
            return None
        i = _index_now(self.idx, self.idx_pv, ctx)
        if i == "*":
            vals = ctx.avps.d.get(key)
            return ", ".join([to_str(v) for v in vals]) if vals else None
        return ctx.avps.get(key, i or 0)

    def get_all(self, ctx):
        if self.idx != "*":
            return super().get_all(ctx)
        key = self._key(ctx)
        return [] if key is None else ctx.avps.all(key)

    def getter(self):
        if self.name_pv is not None or self.idx_pv is not None or self.idx not in (None, 0):
            return self.get
        key = self.key

        def get(ctx):
            lst = ctx.avps.d.get(key)
            return lst[0] if lst else None
        return get

    def set(self, ctx, value):
        key = self._key(ctx)
        if key is None:
            _log_err(ctx, "%s: the AVP name is $null" % self.spec.text)
            return
        avps = ctx.avps
        if self.idx == "*":
            avps.delete(key)
        elif value is None:
            avps.delete(key, 0)
        if value is not None:
            avps.add(key, value)


def _avp_factory(spec, resolve):
    inner = _need_inner(spec)
    key = name_pv = None
    if not isinstance(inner, str) or inner.startswith("$"):
        name_pv = _sub_pv(spec, inner, resolve)
    elif inner.startswith("i:"):
        try:
            key = "i:%d" % int(inner[2:].strip(), 10)
        except ValueError:
            raise ConfigError(spec.pos, "bad integer AVP name %r" % inner) from None
    else:
        key = _avp_key(inner)
        if not key:
            raise ConfigError(spec.pos, "empty AVP name")
    idx, idx_pv = _parse_index(spec, spec.index, resolve)
    return AvpPV(spec, key, name_pv, idx, idx_pv)


class VarPV(PV):
    """$var(x): per process, kept across messages; Kamailio creates every
    $var with the integer 0 at startup, so an unset one reads 0."""

    __slots__ = ("name",)
    writable = True
    kind = "val"

    def __init__(self, spec, name):
        super().__init__(spec)
        self.name = name

    def get(self, ctx):
        return ctx.rt.vars.get(self.name, 0)

    def set(self, ctx, value):
        ctx.rt.vars[self.name] = 0 if value is None else value


class ShvPV(VarPV):
    """$shv(x): shared by all processes; like $var, 0 until set."""

    __slots__ = ()

    def get(self, ctx):
        v = ctx.rt.shv.get(self.name)
        return 0 if v is None else v

    def set(self, ctx, value):
        ctx.rt.shv.set(self.name, value)


def _named_factory(cls):
    def factory(spec, resolve):
        name = _need_inner(spec)
        if not isinstance(name, str):
            raise ConfigError(spec.pos, "$%s takes a fixed name" % spec.name)
        _no_index(spec)
        return cls(spec, name)
    return factory


# --- $xavp -----------------------------------------------------------------------------------

_XNAME_RE = re.compile(r"\s*([^\s\[\]=]+)\s*(?:\[([^\]]*)\])?\s*\Z")


class XavpPV(PV):
    """$xavp(root[i]=>field[j]) over ctx.xavps: root -> [item, ...] (0 is the
    newest), item = {field: [value, ...]} (0 is the newest)."""

    __slots__ = ("root", "ridx", "ridx_pv", "field", "fidx", "fidx_pv", "null_only")
    writable = True

    def __init__(self, spec, root, ridx, ridx_pv, field, fidx, fidx_pv):
        super().__init__(spec)
        self.root = root
        self.ridx, self.ridx_pv = ridx, ridx_pv
        self.field = field
        self.fidx, self.fidx_pv = fidx, fidx_pv
        # `$xavp(root) = value` has no place in our item model; the compiler
        # rejects it at startup unless the value is $null.
        self.null_only = field is None

    def _item(self, ctx):
        items = ctx.xavps.get(self.root)
        if not items:
            return None
        ri = _index_now(self.ridx, self.ridx_pv, ctx)
        try:
            return items[0 if ri is None or ri == "*" else ri]
        except IndexError:
            return None

    def get(self, ctx):
        item = self._item(ctx)
        if item is None:
            return None
        if self.field is None:
            return "<<xavp:%x>>" % id(item)
        vals = item.get(self.field)
        if not vals:
            return None
        fi = _index_now(self.fidx, self.fidx_pv, ctx)
        if fi == "*":
            return ", ".join([to_str(v) for v in vals])
        try:
            return vals[fi or 0]
        except IndexError:
            return None

    def get_all(self, ctx):
        if self.field is None or self.fidx != "*":
            return super().get_all(ctx)
        item = self._item(ctx)
        return [] if item is None else list(item.get(self.field, ()))

    def set(self, ctx, value):
        if value is None:
            self._delete(ctx)
            return
        if self.field is None:
            _log_err(ctx, "%s: only $null can be assigned to an xavp root" % self.spec.text)
            return
        xavps = ctx.xavps
        ri = _index_now(self.ridx, self.ridx_pv, ctx)
        if ri is None:
            xavps.setdefault(self.root, []).insert(0, {self.field: [value]})
            return
        if ri == "*":
            return   # Kamailio ignores it: which of the items would it be?
        item = self._item(ctx)
        if item is None:
            return
        fi = _index_now(self.fidx, self.fidx_pv, ctx)
        vals = item.get(self.field)
        if fi is None:
            if vals is None:
                item[self.field] = [value]
            else:
                vals.insert(0, value)
        elif fi != "*" and vals:
            try:
                vals[fi] = value
            except IndexError:
                pass

    def _delete(self, ctx):
        xavps = ctx.xavps
        items = xavps.get(self.root)
        if not items:
            return
        ri = _index_now(self.ridx, self.ridx_pv, ctx)
        if self.field is None:
            if ri == "*":
                del xavps[self.root]
                return
            try:
                del items[ri or 0]
            except IndexError:
                pass
            if not items:
                del xavps[self.root]
            return
        if ri == "*":
            targets = items
        else:
            try:
                targets = (items[ri or 0],)
            except IndexError:
                return
        fi = _index_now(self.fidx, self.fidx_pv, ctx)
        for item in targets:
            vals = item.get(self.field)
            if not vals:
                continue
            if fi == "*":
                del item[self.field]
                continue
            try:
                del vals[fi or 0]
            except IndexError:
                pass
            if not vals:
                del item[self.field]


def _xavp_factory(spec, resolve):
    inner = _need_inner(spec)
    _no_index(spec)
    if not isinstance(inner, str):
        raise ConfigError(spec.pos, "$xavp takes a fixed name")
    root_part, arrow, field_part = inner.partition("=>")
    parts = []
    for text in (root_part, field_part) if arrow else (root_part,):
        m = _XNAME_RE.match(text)
        if m is None:
            raise ConfigError(spec.pos, "bad $xavp name %r" % inner)
        idx = m.group(2)
        if idx is not None and not idx.strip():
            raise ConfigError(spec.pos, "empty index in $xavp(%s)" % inner)
        parts.append((m.group(1),) + _parse_index(spec, idx, resolve))
    if not arrow:
        parts.append((None, None, None))
    (root, ri, ri_pv), (field, fi, fi_pv) = parts
    return XavpPV(spec, root, ri, ri_pv, field, fi, fi_pv)


# --- defines, environment, version -----------------------------------------------------------

_INT_RE = re.compile(r"[+-]?\d+\Z")


def define_value(text):
    """A #!define value as $def gives it: quotes dropped, numbers as ints,
    "" for a name defined without a value."""
    if text is None:
        return ""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    if _INT_RE.match(t):
        return int(t)
    return t


def _def_factory(spec, resolve):
    name = _need_inner(spec)
    _no_index(spec)

    def get(ctx):
        v = ctx.rt.defines.get(name, _MISS)
        return None if v is _MISS else define_value(v)
    return FuncPV(spec, get)


def _env_factory(spec, resolve):
    name = _need_inner(spec)
    _no_index(spec)
    return FuncPV(spec, lambda ctx: os.environ.get(name))


def _version_texts():
    import platform
    import sys
    from .. import __version__
    return {
        "num": __version__,
        "full": "kampy %s (%s/%s)" % (__version__, platform.machine() or "unknown", sys.platform),
        "hash": "kampy-" + __version__,   # no build id: the version names the build
    }


def _version_factory(spec, resolve):
    """$version(num|full|hash), as Kamailio's pv module gives its own."""
    name = _need_inner(spec)
    _no_index(spec)
    texts = _version_texts()
    if name not in texts:
        raise ConfigError(spec.pos, "unknown $version field %r (one of num, full, hash)" % name)
    return ConstPV(spec, texts[name])


def _sel_factory(spec, resolve):
    raise ConfigError(spec.pos, "$sel(...) is not supported by kampy: Kamailio's selects "
                      "(@from.uri and the like) are not implemented; use the pseudo-variables")


def _null_factory(spec, resolve):
    _no_inner(spec)
    return ConstPV(spec, None)


def _plain(cls):
    def factory(spec, resolve):
        _no_inner(spec)
        return cls(spec)
    return factory


# --- the table ---------------------------------------------------------------------------------

def _table():
    # the PV families kept in their own files use the helpers above
    from .pv_hdr import HDR_PVS
    from .pv_net import NET_PVS
    from .pv_time import TIME_PVS
    fu, fU, fd, fn, ft = _name_addr_fns("from_")
    tu, tU, td, tn, tt = _name_addr_fns("to")
    m = _msg_factory
    c = _ctx_factory
    t = {
        "ru": _ruri_factory(_ru, "uri", "strn"),
        "rU": _ruri_factory(_compose(_ruri, _u_user), "user", "strn"),
        "rd": _ruri_factory(_compose(_ruri, _u_host), "host", "strn"),
        "rp": _ruri_factory(_compose(_ruri, _u_port), "port"),
        "rP": m(_compose(_ruri, _u_proto), "ruri", "strn"),
        "rz": m(_compose(_ruri, _u_scheme), "ruri", "strn"),
        "ou": m(_compose(_ouri, _u_whole)),
        "oU": m(_compose(_ouri, _u_user)),
        "od": m(_compose(_ouri, _u_host)),
        "op": m(_compose(_ouri, _u_port)),
        "oP": m(_compose(_ouri, _u_proto)),
        "du": _plain(DuPV),
        "fs": _plain(FsPV),
        "fu": m(fu, "msg", "strn"), "fU": m(fU, "msg", "strn"), "fd": m(fd, "msg", "strn"),
        "fn": m(fn, "msg", "strn"), "ft": m(ft, "msg", "strn"),
        "tu": m(tu, "msg", "strn"), "tU": m(tU, "msg", "strn"), "td": m(td, "msg", "strn"),
        "tn": m(tn, "msg", "strn"), "tt": m(tt, "msg", "strn"),
        "ci": m(_call_id, "msg", "strn"),
        "cs": m(_cseq, "msg"),
        "rm": m(_method, "msg", "strn"),
        "rs": m(_status),
        "rr": m(_reason),
        "rb": m(lambda msg: b2s(msg.body)),
        "rv": m(lambda msg: b2s(msg.version)),
        "mb": m(lambda msg: b2s(msg.raw[:len(msg)])),
        "ml": m(len),
        "ua": m(_header_fn("user-agent"), "msg", "strn"),
        "ct": m(_header_fn("contact"), "msg", "strn"),
        "cT": m(_header_fn("content-type"), "msg", "strn"),
        "cl": m(operator.attrgetter("content_length")),
        "bs": m(lambda msg: len(msg.body)),
        "mi": c(operator.attrgetter("msg_id")),
        "ai": _pai_factory,
        "di": m(_diversion),
        "pr": c(_proto),
        "proto": c(_proto),
        "hdr": _hdr_factory,
        "hdrc": _hdrc_factory,
        "si": c(operator.attrgetter("src_ip")),
        "sp": c(operator.attrgetter("src_port")),
        "sP": c(_proto),
        "Ri": c(_rcv_attr(lambda s: s.ip)),
        "Rp": c(_rcv_attr(lambda s: s.port)),
        "RAi": c(_rcv_attr(lambda s: s.advertise_host or s.ip)),
        "RAp": c(_rcv_attr(lambda s: s.advertise_port or s.port)),
        "sas": c(_sas),
        "avp": _avp_factory,
        "var": _named_factory(VarPV),
        "shv": _named_factory(ShvPV),
        "xavp": _xavp_factory,
        "null": _null_factory,
        "rc": c(operator.attrgetter("rc")),
        "retcode": c(operator.attrgetter("rc")),
        "RANDOM": c(lambda ctx: ctx.rt.random.getrandbits(31)),
        "pp": c(lambda ctx: os.getpid()),
        "def": _def_factory,
        "env": _env_factory,
        "version": _version_factory,
        "sel": _sel_factory,
    }
    t.update(TIME_PVS)
    t.update(NET_PVS)
    t.update(HDR_PVS)
    return t


_FACTORIES = _table()
CORE_PV_NAMES = tuple(_FACTORIES)


def register_core_pvs(registry):
    for name, factory in _FACTORIES.items():
        registry.add_pv(name, factory)
