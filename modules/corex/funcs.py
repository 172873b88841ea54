# SPDX-License-Identifier: GPL-2.0-or-later
"""corex: branches, stateless sending of raw data, sockets, message flags,
files."""

from kampy.module import Fmt, IntV, PVW
from kampy.script import core_funcs
from kampy.script.coreparams import parse_socket
from kampy.script.pv import b2s, s2b


def _log(ctx, text):
    ctx.rt.log(-1, "corex: " + text)


# --- branches ----------------------------------------------------------------------------

def append_branch(ctx) -> int:
    """append_branch(): the R-URI and $du as a new branch"""
    return core_funcs.append_branch(ctx)


def append_branch1(ctx, uri: Fmt) -> int:
    """append_branch(uri)"""
    return core_funcs.append_branch1(ctx, uri)


def append_branch2(ctx, uri: Fmt, q: Fmt) -> int:
    """append_branch(uri, q)"""
    return core_funcs.append_branch2(ctx, uri, q)


# --- sending -------------------------------------------------------------------------------

def _socket_by_addr(ctx, text):
    try:
        proto, host, port = parse_socket(text)
    except ValueError:
        return None
    for s in ctx.rt.sockets:
        if s.ip == host and s.port == port and s.proto == proto:
            return s
    return None


def _send(ctx, hop, data: bytes, sock=None) -> int:
    if hop is None:
        _log(ctx, "cannot resolve the destination")
        return -1
    rt = ctx.rt
    sock = sock or ctx.send_socket or ctx.rcv or rt.default_socket()
    return 1 if rt.send(sock, hop[0], hop[1], data) else -1


def send_udp(ctx) -> int:
    """send_udp(): the message as received, no Via added, to $du or the R-URI"""
    msg = ctx.msg
    return _send(ctx, core_funcs.next_hop(ctx), msg.raw[:len(msg)])


def send_udp1(ctx, hostport: Fmt) -> int:
    """send_udp(host[:port])"""
    msg = ctx.msg
    target = hostport if hostport.lower().startswith(("sip:", "sips:")) else "sip:" + hostport
    return _send(ctx, core_funcs.next_hop(ctx, target), msg.raw[:len(msg)])


def send_data(ctx, uri: Fmt, data: Fmt) -> int:
    """send_data(uri, data): any text to the address of a SIP URI"""
    return _send(ctx, core_funcs.next_hop(ctx, uri), s2b(data))


def sendx(ctx, uri: Fmt, sock: Fmt, data: Fmt) -> int:
    """sendx(uri, sock, data): send_data() from one of our sockets"""
    s = _socket_by_addr(ctx, sock)
    if s is None:
        _log(ctx, "sendx: %s is not one of our sockets" % sock)
        return -1
    return _send(ctx, core_funcs.next_hop(ctx, uri), s2b(data), s)


def _forward_uac(ctx, uri=None) -> int:
    msg = ctx.msg
    for p in msg.positions("via"):
        msg.remove_header_at(p)
    return core_funcs.forward_request(ctx, uri)


def forward_uac(ctx) -> int:
    """forward_uac(): forward statelessly with our Via as the only one, so
    no reply comes back through us"""
    return _forward_uac(ctx)


def forward_uac_uri(ctx, vuri: Fmt) -> int:
    """forward_uac_uri(vuri)"""
    return _forward_uac(ctx, vuri)


# --- sockets and addresses ----------------------------------------------------------------

def set_send_socket(ctx, saddr: Fmt) -> int:
    """set_send_socket(saddr): like the core force_send_socket()"""
    s = _socket_by_addr(ctx, saddr)
    if s is None:
        _log(ctx, "set_send_socket: %s is not one of our sockets" % saddr)
        return -1
    ctx.send_socket = s
    return 1


def _by_name(ctx, name):
    for s in ctx.rt.sockets:
        if s.name is not None and s.name == name:
            return s
    return None


def set_send_socket_name(ctx, sname: Fmt) -> int:
    """set_send_socket_name(sname)"""
    s = _by_name(ctx, sname)
    if s is None:
        _log(ctx, "set_send_socket_name: no socket named %r" % sname)
        return -1
    ctx.send_socket = s
    return 1


def set_recv_socket(ctx, saddr: Fmt) -> int:
    """set_recv_socket(saddr): handle the message as if it came to saddr"""
    s = _socket_by_addr(ctx, saddr)
    if s is None:
        _log(ctx, "set_recv_socket: %s is not one of our sockets" % saddr)
        return -1
    ctx.rcv = s
    return 1


def set_recv_socket_name(ctx, sname: Fmt) -> int:
    """set_recv_socket_name(sname)"""
    s = _by_name(ctx, sname)
    if s is None:
        _log(ctx, "set_recv_socket_name: no socket named %r" % sname)
        return -1
    ctx.rcv = s
    return 1


def set_source_address(ctx, saddr: Fmt) -> int:
    """set_source_address(saddr): $si/$sp (and the proto) of the message"""
    try:
        proto, host, port = parse_socket(saddr)
    except ValueError:
        _log(ctx, "set_source_address: bad address %r" % saddr)
        return -1
    ctx.src_ip, ctx.src_port, ctx.proto = host, port, proto
    return 1


def is_socket_name(ctx, name: Fmt) -> int:
    """is_socket_name(sockname): one of our sockets has that name"""
    return 1 if _by_name(ctx, name) is not None else -1


def is_faked_msg(ctx) -> int:
    """is_faked_msg(): the message is a stand-in built for an event route
    (marked with ctx.data["faked_msg"] by whoever runs the route)"""
    return 1 if ctx.msg is None or ctx.data.get("faked_msg") else -1


# --- Via controls: read by the core when it adds our Via -------------------------------------

def via_add_srvid(ctx, flags: IntV) -> int:
    """via_add_srvid(flags): 1 adds ;srvid=server_id to our Via"""
    ctx.data["via_add_srvid"] = bool(flags)
    return 1


def via_add_xavp_params(ctx, flags: IntV) -> int:
    """via_add_xavp_params(flags): 1 adds the fields of $xavp(xavp_via_params)"""
    ctx.data["via_add_xavp_params"] = bool(flags)
    return 1


def via_use_xavp_fields(ctx, flags: IntV) -> int:
    """via_use_xavp_fields(flags): 1 builds our Via from $xavp(xavp_via_fields)"""
    ctx.data["via_use_xavp_fields"] = bool(flags)
    return 1


def via_reply_add_xavp_params(ctx, flags: IntV) -> int:
    """via_reply_add_xavp_params(flags)"""
    ctx.data["via_reply_add_xavp_params"] = bool(flags)
    return 1


# --- flags ------------------------------------------------------------------------------------

IFLAGS = "corex.iflags"
IFLAG_NAMES = frozenset(("USE_UAC_FROM", "USE_UAC_TO", "UAC_AUTH", "MSG_APPLY_CHANGES",
                         "NOREPLY", "FROM_PUBLIC", "TO_PUBLIC"))


def _iflag(ctx, name):
    n = name.strip().upper()
    if n.isdigit() and 0 <= int(n) <= 64:
        return int(n)
    if n in IFLAG_NAMES:
        return n
    _log(ctx, "unknown internal flag %r" % name)
    return None


def msg_iflag_set(ctx, name: Fmt) -> int:
    """msg_iflag_set(flagname)"""
    f = _iflag(ctx, name)
    if f is None:
        return -1
    ctx.data.setdefault(IFLAGS, set()).add(f)
    return 1


def msg_iflag_reset(ctx, name: Fmt) -> int:
    """msg_iflag_reset(flagname)"""
    f = _iflag(ctx, name)
    if f is None:
        return -1
    ctx.data.setdefault(IFLAGS, set()).discard(f)
    return 1


def msg_iflag_is_set(ctx, name: Fmt) -> int:
    """msg_iflag_is_set(flagname)"""
    f = _iflag(ctx, name)
    if f is None:
        return -1
    return 1 if f in ctx.data.get(IFLAGS, ()) else -1


XFLAGS = "corex.xflags"


def _xflag(ctx, flag):
    if 0 <= flag <= 63:
        return True
    _log(ctx, "xflag %d out of range 0..63" % flag)
    return False


def setxflag(ctx, flag: IntV) -> int:
    """setxflag(flag): an extended flag 0..63"""
    if not _xflag(ctx, flag):
        return -1
    ctx.data[XFLAGS] = ctx.data.get(XFLAGS, 0) | (1 << flag)
    return 1


def resetxflag(ctx, flag: IntV) -> int:
    """resetxflag(flag)"""
    if not _xflag(ctx, flag):
        return -1
    ctx.data[XFLAGS] = ctx.data.get(XFLAGS, 0) & ~(1 << flag)
    return 1


def isxflagset(ctx, flag: IntV) -> int:
    """isxflagset(flag)"""
    if not _xflag(ctx, flag):
        return -1
    return 1 if ctx.data.get(XFLAGS, 0) & (1 << flag) else -1


# --- files ------------------------------------------------------------------------------------

def file_read(ctx, fpath: Fmt, var: PVW) -> int:
    """file_read(fpath, var): the whole file as a string"""
    try:
        with open(fpath, "rb") as f:
            data = f.read()
    except OSError as e:
        _log(ctx, "file_read: %s: %s" % (fpath, e.strerror))
        return -1
    var.set(ctx, b2s(data))
    return 1


def file_write(ctx, fpath: Fmt, content: Fmt) -> int:
    """file_write(fpath, content): the file is replaced"""
    try:
        with open(fpath, "wb") as f:
            f.write(s2b(content))
    except OSError as e:
        _log(ctx, "file_write: %s: %s" % (fpath, e.strerror))
        return -1
    return 1
