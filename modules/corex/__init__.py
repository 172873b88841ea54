# SPDX-License-Identifier: GPL-2.0-or-later
"""corex: core functions with dynamic parameters, sending raw data, sockets, flags."""

from kampy.module import (
    ANY_ROUTE, FAILURE_ROUTE, Func, Module, Param, ParamValues, REQUEST_ROUTE,
)
from . import funcs as F

RF = REQUEST_ROUTE | FAILURE_ROUTE


def _no_nio(v):
    if v:
        raise ValueError("event_route[network:msg] is not supported by kampy: keep nio_intercept 0")
    return v


P = ParamValues([
    Param("alias_subdomains", str, multi=True, doc="accepted; not used by kampy yet"),
    Param("dns_cache", str, multi=True, doc="accepted; not used by kampy yet"),
    Param("dns_file", str, multi=True, doc="accepted; not used by kampy yet"),
    Param("evcb_reply_out", str, "", doc="accepted; kampy has no KEMI"),
    Param("nio_intercept", int, 0, check=_no_nio,
          doc="must stay 0: event_route[network:msg] is not supported"),
    Param("nio_min_msg_len", int, 0),
    Param("nio_msg_avp", str, ""),
])

exports = Module(
    name="corex",
    doc="Core extensions: append_branch, send_data, sockets, internal flags, files.",
    params=P,
    functions=[
        Func("append_branch", F.append_branch, RF),
        Func("append_branch", F.append_branch1, RF),
        Func("append_branch", F.append_branch2, RF),
        Func("send_udp", F.send_udp, RF),
        Func("send_udp", F.send_udp1, RF),
        Func("send_data", F.send_data, ANY_ROUTE),
        Func("sendx", F.sendx, ANY_ROUTE),
        Func("forward_uac", F.forward_uac, REQUEST_ROUTE),
        Func("forward_uac_uri", F.forward_uac_uri, REQUEST_ROUTE),
        Func("set_send_socket", F.set_send_socket, ANY_ROUTE),
        Func("set_send_socket_name", F.set_send_socket_name, ANY_ROUTE),
        Func("set_recv_socket", F.set_recv_socket, ANY_ROUTE),
        Func("set_recv_socket_name", F.set_recv_socket_name, ANY_ROUTE),
        Func("set_source_address", F.set_source_address, ANY_ROUTE),
        Func("is_socket_name", F.is_socket_name, ANY_ROUTE),
        Func("is_faked_msg", F.is_faked_msg, ANY_ROUTE),
        Func("via_add_srvid", F.via_add_srvid, ANY_ROUTE),
        Func("via_add_xavp_params", F.via_add_xavp_params, ANY_ROUTE),
        Func("via_use_xavp_fields", F.via_use_xavp_fields, ANY_ROUTE),
        Func("via_reply_add_xavp_params", F.via_reply_add_xavp_params, ANY_ROUTE),
        Func("msg_iflag_set", F.msg_iflag_set, ANY_ROUTE),
        Func("msg_iflag_reset", F.msg_iflag_reset, ANY_ROUTE),
        Func("msg_iflag_is_set", F.msg_iflag_is_set, ANY_ROUTE),
        Func("setxflag", F.setxflag, ANY_ROUTE),
        Func("resetxflag", F.resetxflag, ANY_ROUTE),
        Func("isxflagset", F.isxflagset, ANY_ROUTE),
        Func("file_read", F.file_read, ANY_ROUTE),
        Func("file_write", F.file_write, ANY_ROUTE),
    ],
    unsupported=(
        "send_tcp", "is_incoming", "forward_reply", "add_tcp_alias",
        "msg_vbflag_set", "msg_vbflag_reset", "msg_vbflag_is_set",
    ),
)
