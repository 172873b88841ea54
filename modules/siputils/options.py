# SPDX-License-Identifier: GPL-2.0-or-later
"""options_reply(): answer an OPTIONS sent to the proxy itself."""

from kampy.module import Param, ParamValues
from kampy.sip.errors import ParseError

from ..sl.reply import reply

P = ParamValues([
    Param("options_accept", str, "*/*", doc="the Accept header of the answer"),
    Param("options_accept_encoding", str, "", doc="the Accept-Encoding header"),
    Param("options_accept_language", str, "en", doc="the Accept-Language header"),
    Param("options_support", str, "", doc="the Supported header"),
    Param("ring_timeout", int, 0, doc="accepted; ring_insert_callid() is not supported"),
    Param("contact_flds_separator", str, "*", doc="accepted; encode_contact() is not supported"),
    Param("rpid_prefix", str, "", doc="accepted; append_rpid_hf() is not supported"),
    Param("rpid_suffix", str, ";party=calling;id-type=subscriber;screen=yes"),
    Param("rpid_avp", str, "$avp(s:rpid)"),
])

# the methods a Kamailio proxy says it allows
ALLOW = "INVITE, ACK, CANCEL, OPTIONS, BYE, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, MESSAGE, PUBLISH"


def options_reply(ctx) -> int:
    """options_reply()

    Only an OPTIONS whose R-URI has no user is answered (200 with Allow,
    Accept, Accept-Encoding, Accept-Language and Supported); the script must
    check that the R-URI is myself, as in Kamailio."""
    msg = ctx.msg
    if not msg.is_request or msg.method != "OPTIONS":
        ctx.rt.log(-1, "siputils: options_reply: called for a %s, not an OPTIONS"
                   % (msg.method or "reply"))
        return -1
    try:
        user = msg.ruri_uri.user
    except ParseError:
        return reply(ctx, 500, "Server Internal Error")
    if user:
        ctx.rt.log(-1, "siputils: options_reply: the R-URI has a user")
        return -1
    headers = [
        ("Allow", ALLOW),
        ("Accept", P.options_accept),
        ("Accept-Encoding", P.options_accept_encoding),
        ("Accept-Language", P.options_accept_language),
        ("Supported", P.options_support),
    ]
    return reply(ctx, 200, "OK", headers)
