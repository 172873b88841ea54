# SPDX-License-Identifier: GPL-2.0-or-later
"""The rr module's parameters (modparam("rr", ...))."""

import re

from kampy.module import Param, ParamValues

_AVP_RE = re.compile(r"\s*\$avp\(\s*([^()\s]+)\s*\)\s*")


def avp_key(spec: str):
    """`$avp(name)`, `$avp(s:name)` or `$avp(i:5)` -> the AVP store key
    (kampy's $avp naming); "" for an empty spec.  Raises ValueError."""
    if not spec:
        return ""
    m = _AVP_RE.fullmatch(spec)
    if m is None:
        raise ValueError("custom_user_avp must be an AVP like $avp(name), not %r" % spec)
    name = m.group(1)
    if name.startswith("s:"):
        name = name[2:]
    elif name.startswith("i:"):
        name = "i:%d" % int(name[2:], 10)
    if not name:
        raise ValueError("custom_user_avp: empty AVP name")
    return name


def _avp_check(v):
    avp_key(v)
    return v


def _double_rr(v):
    if v not in (0, 1, 2):
        raise ValueError("enable_double_rr is 0, 1 or 2")
    return v


P = ParamValues([
    Param("enable_full_lr", int, 0, doc="write ;lr=on instead of ;lr"),
    Param("append_fromtag", int, 0, doc="add ;ftag=<From tag> to our Record-Route"),
    Param("enable_double_rr", int, 1, check=_double_rr,
          doc="two Record-Route headers when the request leaves on another socket (2: always)"),
    Param("add_username", int, 0, doc="put the R-URI user (or custom_user_avp) in the Record-Route URI"),
    Param("enable_socket_mismatch_warning", int, 1,
          doc="warn when the second Route of a double RR matches none of our sockets"),
    Param("custom_user_avp", str, "", check=_avp_check,
          doc="AVP whose value is the Record-Route user when add_username is set"),
    Param("force_send_socket", int, 0,
          doc="force the socket of our Route also for a single Record-Route"),
    Param("ignore_user", str, "", doc="a Route whose user is this value is not ours"),
    Param("ignore_sips", int, 0, doc="always sip: in Record-Route, even for a sips R-URI"),
    Param("sockname_mode", int, 0,
          doc="add ;sn=<socket name> to Record-Route and pick the socket by it in loose_route()"),
])
