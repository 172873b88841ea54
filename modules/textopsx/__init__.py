# SPDX-License-Identifier: GPL-2.0-or-later
"""textopsx: textops extensions (apply changes, reply status, header values)."""

from kampy.module import (
    ANY_ROUTE, CORE_REPLY_ROUTE, Func, Module, ONREPLY_ROUTE, REQUEST_ROUTE,
)
from ..textops.rx import regex_fixup
from . import hfvalue as V
from . import msgops as M

APPLY = REQUEST_ROUTE | CORE_REPLY_ROUTE
REPLY = ONREPLY_ROUTE | CORE_REPLY_ROUTE

exports = Module(
    name="textopsx",
    doc="Extensions of textops: msg_apply_changes(), reply status, header values.",
    functions=[
        Func("msg_apply_changes", M.msg_apply_changes, APPLY),
        Func("msg_set_buffer", M.msg_set_buffer, APPLY),
        Func("change_reply_status", M.change_reply_status, REPLY),
        Func("change_reply_status_code", M.change_reply_status_code, REPLY),
        Func("remove_body", M.remove_body, ANY_ROUTE),
        Func("keep_hf", M.keep_hf, ANY_ROUTE),
        Func("keep_hf", M.keep_hf1, ANY_ROUTE, fixup=regex_fixup("keep_hf", 0)),
        Func("fnmatch", M.fnmatch, ANY_ROUTE),
        Func("fnmatch", M.fnmatch3, ANY_ROUTE),
        Func("append_hf_value", V.append_hf_value, ANY_ROUTE,
             fixup=V.spec_fixup("append_hf_value", allow_param=False)),
        Func("insert_hf_value", V.insert_hf_value, ANY_ROUTE,
             fixup=V.spec_fixup("insert_hf_value", allow_param=False)),
        Func("remove_hf_value", V.remove_hf_value, ANY_ROUTE, fixup=V.spec_fixup("remove_hf_value")),
        Func("remove_hf_value2", V.remove_hf_value2, ANY_ROUTE,
             fixup=V.spec_fixup("remove_hf_value2")),
        Func("assign_hf_value", V.assign_hf_value, ANY_ROUTE, fixup=V.spec_fixup("assign_hf_value")),
        Func("assign_hf_value2", V.assign_hf_value2, ANY_ROUTE,
             fixup=V.spec_fixup("assign_hf_value2")),
        Func("include_hf_value", V.include_hf_value, ANY_ROUTE,
             fixup=V.spec_fixup("include_hf_value", allow_param=False)),
        Func("exclude_hf_value", V.exclude_hf_value, ANY_ROUTE,
             fixup=V.spec_fixup("exclude_hf_value", allow_param=False)),
        Func("hf_value_exists", V.hf_value_exists, ANY_ROUTE,
             fixup=V.spec_fixup("hf_value_exists", allow_param=False)),
    ],
    unsupported=(
        "hf_iterator_start", "hf_iterator_end", "hf_iterator_next", "hf_iterator_prev",
        "hf_iterator_rm", "hf_iterator_append", "hf_iterator_insert",
        "bl_iterator_start", "bl_iterator_end", "bl_iterator_next", "bl_iterator_rm",
        "bl_iterator_append", "bl_iterator_insert",
    ),
)
