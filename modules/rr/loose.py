# SPDX-License-Identifier: GPL-2.0-or-later
"""Loose routing of requests that carry a Route set (RFC 3261 §16.4,
§16.12, §12.2.1.1) with Kamailio's compatibility for strict routers, and
what the Route that pointed at us says (its URI parameters).

The cases, as Kamailio's loose_route() takes them:

- the request has no To tag (a "preloaded" route set) or its R-URI is not
  ours: the top Route is looked at.  If it is ours it is removed (and the
  next one too when ours carries ;r2 and double RR is on: the two headers of
  a double Record-Route); the Route now on top is the next hop: a loose
  router (;lr) becomes $du, the R-URI stays; a strict router (no ;lr) gets
  the R-URI and the old R-URI goes to a new Route at the end.  Nothing left
  after ours: routed by the R-URI (true in a dialog, false for a preloaded
  request).  A top Route that is not ours is the next hop as it is.
- the request is in a dialog and its R-URI is ours: the previous hop was a
  strict router and put our Record-Route URI there.  The remote target is
  the last Route: it becomes the R-URI again and is removed, and the top
  Route becomes $du (when it is a strict router it gets the R-URI instead).
"""

from kampy.module import IntV, Regex, Str
from kampy.script.pv import b2s
from kampy.sip.errors import ParseError
from kampy.sip.headers import parse_name_addr_list

from .params import P
from .record import data, log

RR_DRIVEN = 1
NOT_RR_DRIVEN = -1
RR_ERROR = -1


class RouteSet:
    """The received Route values with their header lines; removals are
    recorded and written once (a line loses some values or goes)."""

    def __init__(self, msg):
        self.msg = msg
        self.items = []       # [(line position, NameAddr)]
        for pos, v in zip(msg.positions("route"), msg.headers("route")):
            for na in parse_name_addr_list(v):
                self.items.append((pos, na))
        self.removed = set()

    def __len__(self):
        return len(self.items)

    def uri(self, i):
        return self.items[i][1].uri

    def uri_raw(self, i) -> bytes:
        return self.items[i][1].uri_raw

    def remove(self, i):
        self.removed.add(i)

    def apply(self):
        lines = {}
        for i, (pos, na) in enumerate(self.items):
            lines.setdefault(pos, []).append((i, na))
        for pos, vals in lines.items():
            keep = [na.raw for i, na in vals if i not in self.removed]
            if len(keep) == len(vals):
                continue
            if keep:
                self.msg.set_header_value(pos, b", ".join(keep))
            else:
                self.msg.remove_header_at(pos)


# --- helpers ----------------------------------------------------------------------------

def is_myself(rt, uri) -> bool:
    """The URI's host and port (default 5060, 5061 for sips) are ours, and
    its user is not the ignore_user one."""
    if uri.scheme not in ("sip", "sips") or not uri.host:
        return False
    port = uri.port or (5061 if uri.scheme == "sips" else 5060)
    if not rt.is_myself(uri.host, port):
        return False
    if P.ignore_user and uri.user is not None and b2s(uri.user) == P.ignore_user:
        return False
    return True


def _is_2rr(uri) -> bool:
    return uri.param(b"r2") is not None


def _is_strict(uri) -> bool:
    return not uri.lr


def maddr_uri(uri, raw: bytes) -> bytes:
    """A Route URI as the next hop: `sip:MADDR[:port]` when it has maddr."""
    maddr = uri.param(b"maddr")
    if not maddr:
        return raw
    return b"sip:" + maddr + (b":%d" % uri.port if uri.port is not None else b"")


def find_socket(rt, uri):
    """Our socket a Route URI names (by ;sn= with sockname_mode), or None."""
    if P.sockname_mode:
        sn = uri.param(b"sn")
        if sn:
            name = b2s(sn)
            for s in rt.sockets:
                if s.name == name:
                    return s
    host = b2s(uri.host).lower()
    if host.startswith("["):
        host = host[1:-1]
    port = uri.port or (5061 if uri.scheme == "sips" else 5060)
    proto = uri.transport or "udp"
    for s in rt.sockets:
        if (s.proto or "udp").lower() != proto:
            continue
        names = (s.ip.lower(), (s.advertise_host or "").lower().strip("[]"))
        if host in names and port in (s.port, s.public_port):
            return s
    return None


def _force_socket(ctx, uri, double: bool):
    sock = find_socket(ctx.rt, uri)
    if sock is not None:
        ctx.send_socket = sock
        return True
    if double and P.enable_socket_mismatch_warning:
        log(ctx, 0, "no socket found to match the second Route (%s)" % b2s(uri.raw))
    return False


def _run_callbacks(ctx, params):
    api = ctx.rt.api("rr")
    text = b2s(params)
    for _prio, fn in api.callbacks:
        fn(ctx, text)


# --- the two ways through ----------------------------------------------------------------

def _strict_next_hop(ctx, rs, i):
    """The next hop is a strict router: it gets the R-URI; the R-URI as
    received goes to a new Route at the end (Kamailio's save_ruri)."""
    msg = ctx.msg
    received_ruri = msg.first_line.split(b" ")[1]
    msg.append_header(b"Route: <" + received_ruri + b">")
    msg.set_ruri(maddr_uri(rs.uri(i), rs.uri_raw(i)))
    rs.remove(i)


def after_loose(ctx, rs, preloaded: bool) -> int:
    rt = ctx.rt
    d = data(ctx)
    try:
        puri = rs.uri(0)
    except ParseError:
        log(ctx, -1, "cannot parse the first Route URI")
        return RR_ERROR
    i = 0
    status = RR_DRIVEN
    if is_myself(rt, puri):
        d.routed_params = puri.params
        rs.remove(0)
        i = 1
        if i == len(rs):
            status = NOT_RR_DRIVEN if preloaded else RR_DRIVEN
            return _done(ctx, rs, status)
        if P.enable_double_rr and _is_2rr(puri):
            try:
                second = rs.uri(1)
            except ParseError:
                log(ctx, -1, "cannot parse the second Route URI")
                return _done(ctx, rs, RR_ERROR)
            if not _force_socket(ctx, second, True) and not is_myself(rt, second):
                log(ctx, -1, "the second Route (%s) is not ours" % b2s(second.raw))
                return _done(ctx, rs, RR_ERROR)
            rs.remove(1)
            i = 2
            if i == len(rs):
                status = NOT_RR_DRIVEN if preloaded else RR_DRIVEN
                return _done(ctx, rs, status)
        elif P.force_send_socket:
            _force_socket(ctx, puri, False)
        try:
            nxt = rs.uri(i)
        except ParseError:
            log(ctx, -1, "cannot parse the next Route URI")
            return _done(ctx, rs, RR_ERROR)
    else:
        d.routed_params = None
        nxt = puri
    if _is_strict(nxt):
        _strict_next_hop(ctx, rs, i)
    else:
        ctx.du = b2s(maddr_uri(nxt, rs.uri_raw(i)))
    return _done(ctx, rs, status)


def after_strict(ctx, rs) -> int:
    """The R-URI is ours: the previous hop routed strictly."""
    rt = ctx.rt
    d = data(ctx)
    msg = ctx.msg
    try:
        puri = rs.uri(0)
    except ParseError:
        log(ctx, -1, "cannot parse the first Route URI")
        return RR_ERROR
    i = 0
    if P.enable_double_rr and _is_2rr(puri) and is_myself(rt, puri):
        # the other half of our double Record-Route
        _force_socket(ctx, puri, True)
        rs.remove(0)
        i = 1
        if i == len(rs):
            rs.apply()
            return NOT_RR_DRIVEN
    try:
        nxt = rs.uri(i)
    except ParseError:
        log(ctx, -1, "cannot parse the next Route URI")
        return RR_ERROR
    d.routed_params = msg.ruri_uri.params
    if _is_strict(nxt):
        # a strict router again: route like one
        msg.set_ruri(maddr_uri(nxt, rs.uri_raw(i)))
        rs.remove(i)
    else:
        ctx.du = b2s(maddr_uri(nxt, rs.uri_raw(i)))
        last = len(rs) - 1                 # the remote target
        try:
            luri = rs.uri(last)
        except ParseError:
            log(ctx, -1, "cannot parse the last Route URI")
            return _done(ctx, rs, RR_ERROR)
        msg.set_ruri(maddr_uri(luri, rs.uri_raw(last)))
        rs.remove(last)
    return _done(ctx, rs, RR_DRIVEN)


def _done(ctx, rs, status) -> int:
    rs.apply()
    params = data(ctx).routed_params
    if params:
        _run_callbacks(ctx, params)
    return status


def do_loose_route(ctx, mode: int = 0) -> int:
    """Kamailio's loose_route_mode(): mode 1 leaves out the R-URI-is-ours
    (strict previous hop) case."""
    msg = ctx.msg
    d = data(ctx)
    d.routed_params = None
    if not msg.is_request or not msg.has("route"):
        return NOT_RR_DRIVEN
    try:
        rs = RouteSet(msg)
    except ParseError:
        log(ctx, -1, "cannot parse the Route headers")
        return RR_ERROR
    if not rs.items:
        return NOT_RR_DRIVEN
    if not msg.has("to"):
        log(ctx, -1, "no To header")
        return RR_ERROR
    preloaded = not msg.to_tag
    if preloaded:
        return after_loose(ctx, rs, True)
    if not mode & 1:
        try:
            ruri = msg.ruri_uri
        except ParseError:
            log(ctx, -1, "cannot parse the Request-URI")
            return RR_ERROR
        if is_myself(ctx.rt, ruri) and ruri.param(b"gr") is None:
            return after_strict(ctx, rs)
    return after_loose(ctx, rs, False)


# --- what our Route said ---------------------------------------------------------------------

def route_params(ctx):
    """The URI params (bytes, no leading ';') of the Route that pointed at us
    in this request, or None."""
    d = ctx.data.get("rr")
    return d.routed_params if d is not None else None


def get_route_param(ctx, name: str):
    """Value of a param of our Route ("" without a value), None if absent.
    Names compare case-sensitively, as in Kamailio."""
    params = route_params(ctx)
    if not params:
        return None
    want = name.encode() if isinstance(name, str) else name
    for p in params.split(b";"):
        k, eq, v = p.partition(b"=")
        if k.strip(b" \t") == want:
            v = v.strip(b" \t")
            if len(v) >= 2 and v[:1] in (b'"', b"'") and v[-1:] == v[:1]:
                v = v[1:-1]
            return b2s(v) if eq else ""
    return None


def is_direction(ctx, downstream: bool) -> bool:
    """Kamailio's flow check: the ftag of our Route differs from the From
    tag -> upstream; equal, or no ftag / From tag -> downstream."""
    ftag = get_route_param(ctx, "ftag")
    up = False
    if ftag:
        tag = ctx.msg.from_tag
        if tag:
            up = b2s(tag) != ftag
    return up != downstream


def check_route_param(ctx, rx) -> bool:
    params = route_params(ctx)
    if not params:
        return False
    return rx.search(";" + b2s(params)) is not None


# --- script functions ------------------------------------------------------------------------

def loose_route(ctx) -> int:
    """loose_route()

    Route a request by its Route headers: 1 when it was (our Route removed,
    $du or the R-URI set to the next hop), -1 when it has no Route header
    (or only ours in a request without To tag) or on error."""
    return do_loose_route(ctx)


def loose_route_mode(ctx, mode: IntV) -> int:
    """loose_route_mode(vmode)

    loose_route(); vmode 1: only loose routing (no strict previous hop case)."""
    return do_loose_route(ctx, mode)


def loose_route_preloaded(ctx) -> int:
    """loose_route_preloaded()

    loose_route() for a request without To tag (preloaded Route set); -1 for
    a request in a dialog, which is left as it is."""
    msg = ctx.msg
    if not msg.is_request or not msg.has("to") or msg.to_tag:
        return -1
    return do_loose_route(ctx)


def w_check_route_param(ctx, rx: Regex) -> int:
    """check_route_param(re)

    The URI params of our Route (";lr;ftag=...") match the regular expression."""
    return 1 if check_route_param(ctx, rx) else -1


def w_is_direction(ctx, direction: Str) -> int:
    """is_direction(dir)

    dir "downstream" (from the caller) or "upstream": compares the ftag of our
    Route with the From tag; needs append_fromtag."""
    return 1 if is_direction(ctx, direction.strip().lower() == "downstream") else -1
