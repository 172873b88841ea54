# SPDX-License-Identifier: GPL-2.0-or-later
"""textops: text operations on the message (regex search/replace, headers, body)."""

from kampy.module import (
    ANY_ROUTE, BRANCH_ROUTE, CORE_REPLY_ROUTE, ERROR_ROUTE, FAILURE_ROUTE, Func,
    Module, ONREPLY_ROUTE, REQUEST_ROUTE,
)
from . import body as B
from . import hf as H
from . import search as S
from . import strings as T
from .rx import regex_fixup, subst_fixup

RQ = REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE
RQ_RPL = RQ | ONREPLY_ROUTE | CORE_REPLY_ROUTE
TO_REPLY = REQUEST_ROUTE | BRANCH_ROUTE | FAILURE_ROUTE | ERROR_ROUTE

exports = Module(
    name="textops",
    doc="Text operations on the SIP message: search, replace, headers, body.",
    functions=[
        # search / replace / subst
        Func("search", S.search, ANY_ROUTE, fixup=regex_fixup("search", 0)),
        Func("search_body", S.search_body, ANY_ROUTE, fixup=regex_fixup("search_body", 0)),
        Func("search_hf", S.search_hf, ANY_ROUTE, fixup=regex_fixup("search_hf", 1)),
        Func("search_str", S.search_str, ANY_ROUTE),
        Func("search_append", S.search_append, ANY_ROUTE, fixup=regex_fixup("search_append", 0)),
        Func("search_append_body", S.search_append_body, ANY_ROUTE,
             fixup=regex_fixup("search_append_body", 0)),
        Func("replace", S.replace, ANY_ROUTE, fixup=regex_fixup("replace", 0)),
        Func("replace_all", S.replace_all, ANY_ROUTE, fixup=regex_fixup("replace_all", 0)),
        Func("replace_body", S.replace_body, ANY_ROUTE, fixup=regex_fixup("replace_body", 0)),
        Func("replace_body_all", S.replace_body_all, ANY_ROUTE,
             fixup=regex_fixup("replace_body_all", 0)),
        Func("replace_body_atonce", S.replace_body_atonce, ANY_ROUTE,
             fixup=regex_fixup("replace_body_atonce", 0)),
        Func("replace_hdrs", S.replace_hdrs, ANY_ROUTE, fixup=regex_fixup("replace_hdrs", 0)),
        Func("replace_str", S.replace_str, ANY_ROUTE),
        Func("replace_body_str", S.replace_body_str, ANY_ROUTE),
        Func("replace_hdrs_str", S.replace_hdrs_str, ANY_ROUTE),
        Func("subst", S.subst, ANY_ROUTE, fixup=subst_fixup("subst")),
        Func("subst_uri", S.subst_uri, ANY_ROUTE, fixup=subst_fixup("subst_uri")),
        Func("subst_user", S.subst_user, ANY_ROUTE, fixup=subst_fixup("subst_user")),
        Func("subst_body", S.subst_body, ANY_ROUTE, fixup=subst_fixup("subst_body")),
        Func("subst_hf", S.subst_hf, ANY_ROUTE, fixup=subst_fixup("subst_hf", 1)),
        Func("subst_v", S.subst_v, ANY_ROUTE),
        Func("regex_substring", S.regex_substring, RQ),
        # headers
        Func("is_present_hf", H.is_present_hf, ANY_ROUTE, fixup=H.hname_fixup("is_present_hf")),
        Func("is_present_hf_pv", H.is_present_hf_pv, ANY_ROUTE),
        Func("is_present_hf_re", H.is_present_hf_re, ANY_ROUTE,
             fixup=regex_fixup("is_present_hf_re", 0)),
        Func("is_present_hf_re_pv", H.is_present_hf_re_pv, ANY_ROUTE),
        Func("remove_hf", H.remove_hf, ANY_ROUTE, fixup=H.hname_fixup("remove_hf")),
        Func("remove_hf_pv", H.remove_hf_pv, ANY_ROUTE),
        Func("remove_hf_re", H.remove_hf_re, ANY_ROUTE, fixup=regex_fixup("remove_hf_re", 0)),
        Func("remove_hf_re_pv", H.remove_hf_re_pv, ANY_ROUTE),
        Func("remove_hf_exp", H.remove_hf_exp, ANY_ROUTE,
             fixup=regex_fixup("remove_hf_exp", 0, 1)),
        Func("remove_hf_exp_pv", H.remove_hf_exp_pv, ANY_ROUTE),
        Func("remove_hf_idx", H.remove_hf_idx, ANY_ROUTE),
        Func("remove_hf_match", H.remove_hf_match, ANY_ROUTE),
        Func("append_hf", H.append_hf, ANY_ROUTE),
        Func("append_hf", H.append_hf2, ANY_ROUTE, fixup=H.hname_fixup("append_hf", 1)),
        Func("insert_hf", H.insert_hf, ANY_ROUTE),
        Func("insert_hf", H.insert_hf2, ANY_ROUTE, fixup=H.hname_fixup("insert_hf", 1)),
        Func("append_urihf", H.append_urihf, RQ),
        Func("append_time", H.append_time, RQ),
        Func("append_time_to_request", H.append_time_to_request, ANY_ROUTE),
        Func("append_to_reply", H.append_to_reply, TO_REPLY),
        Func("is_method", H.is_method, ANY_ROUTE, fixup=H.method_fixup),
        # body
        Func("has_body", B.has_body, ANY_ROUTE),
        Func("has_body", B.has_body1, ANY_ROUTE),
        Func("is_privacy", B.is_privacy, ANY_ROUTE),
        Func("is_audio_on_hold", B.is_audio_on_hold, ANY_ROUTE),
        Func("set_body", B.set_body, ANY_ROUTE),
        Func("set_reply_body", B.set_reply_body, RQ),
        Func("filter_body", B.filter_body, ANY_ROUTE),
        Func("append_body_part", B.append_body_part, RQ),
        Func("append_body_part", B.append_body_part3, RQ),
        Func("append_body_part_hex", B.append_body_part_hex, RQ),
        Func("append_body_part_hex", B.append_body_part_hex3, RQ),
        Func("get_body_part", B.get_body_part, RQ_RPL),
        Func("get_body_part_raw", B.get_body_part_raw, RQ_RPL),
        Func("remove_body_part", B.remove_body_part, RQ),
        # strings
        Func("cmp_str", T.cmp_str, ANY_ROUTE),
        Func("cmp_istr", T.cmp_istr, ANY_ROUTE),
        Func("starts_with", T.starts_with, ANY_ROUTE),
        Func("ends_with", T.ends_with, ANY_ROUTE),
        Func("str_find", T.str_find, ANY_ROUTE),
        Func("str_ifind", T.str_ifind, ANY_ROUTE),
        Func("str_any_in", T.str_any_in, ANY_ROUTE),
        Func("str_all_in", T.str_all_in, ANY_ROUTE),
        Func("in_list", T.in_list, ANY_ROUTE, fixup=T.separator_fixup("in_list", 2)),
        Func("in_list_prefix", T.in_list_prefix, ANY_ROUTE,
             fixup=T.separator_fixup("in_list_prefix", 2)),
    ],
    unsupported=("set_body_multipart", "via_param_rm"),
)
