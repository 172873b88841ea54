# SPDX-License-Identifier: GPL-2.0-or-later
"""siputils: SIP and URI checks, R-URI parameters, options_reply()."""

from kampy.module import (
    ANY_ROUTE, BRANCH_ROUTE, CORE_REPLY_ROUTE, FAILURE_ROUTE, Func, LOCAL_ROUTE,
    Module, ONREPLY_ROUTE, REQUEST_ROUTE,
)
from . import checks as C
from . import uris as U
from .options import P, options_reply

RQ = REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE

exports = Module(
    name="siputils",
    doc="SIP and URI checks, R-URI parameters, answering OPTIONS.",
    params=P,
    depends=["sl"],
    functions=[
        Func("options_reply", options_reply, REQUEST_ROUTE),
        Func("is_user", C.is_user, REQUEST_ROUTE),
        Func("has_totag", C.has_totag, ANY_ROUTE),
        Func("is_request", C.is_request, ANY_ROUTE),
        Func("is_reply", C.is_reply, ANY_ROUTE),
        Func("is_first_hop", C.is_first_hop, ANY_ROUTE),
        Func("is_supported", C.is_supported, ANY_ROUTE, fixup=C.option_fixup),
        Func("is_gruu", C.is_gruu, ANY_ROUTE),
        Func("is_gruu", C.is_gruu1, ANY_ROUTE),
        Func("is_e164", C.is_e164, RQ | LOCAL_ROUTE),
        Func("is_uri_user_e164", C.is_uri_user_e164, ANY_ROUTE),
        Func("is_tel_number", C.is_tel_number, ANY_ROUTE),
        Func("is_numeric", C.is_numeric, ANY_ROUTE),
        Func("is_alphanum", C.is_alphanum, ANY_ROUTE),
        Func("is_alphanumex", C.is_alphanumex, ANY_ROUTE),
        Func("is_uri", C.is_uri, ANY_ROUTE),
        Func("cmp_hdr_name", C.cmp_hdr_name, ANY_ROUTE),
        Func("uri_param", U.uri_param, RQ),
        Func("uri_param", U.uri_param2, RQ),
        Func("uri_param_any", U.uri_param_any, RQ),
        Func("uri_param_rm", U.uri_param_rm, RQ),
        Func("add_uri_param", U.add_uri_param, RQ),
        Func("get_uri_param", U.get_uri_param, RQ),
        Func("tel2sip", U.tel2sip, RQ | ONREPLY_ROUTE | CORE_REPLY_ROUTE),
        Func("cmp_uri", U.cmp_uri, ANY_ROUTE),
        Func("cmp_aor", U.cmp_aor, ANY_ROUTE),
        Func("set_uri_user", U.set_uri_user, ANY_ROUTE),
        Func("set_uri_host", U.set_uri_host, ANY_ROUTE),
    ],
    unsupported=(
        "ring_insert_callid", "encode_contact", "decode_contact", "decode_contact_header",
        "append_rpid_hf", "is_rpid_user_e164", "sip_p_charging_vector",
        "contact_param_encode", "contact_param_decode", "contact_param_decode_ruri",
        "contact_param_rm", "hdr_date_check",
    ),
)
