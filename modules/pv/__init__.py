# SPDX-License-Identifier: GPL-2.0-or-later
"""pv: Kamailio's pseudo-variable module.  The PVs themselves are in kampy's
core; this module adds the functions and the shvset/varset parameters."""

from kampy.module import ANY_ROUTE, Func, Module, Param
from . import funcs as F
from .params import apply, make_params

P = make_params(Param("avp_aliases", str, "", doc="accepted; kampy has no AVP aliases"))


def _mod_init(rt):
    apply(rt, P)


exports = Module(
    name="pv",
    doc="Functions on pseudo-variables; $shv/$var start values.",
    params=P,
    mod_init=_mod_init,
    functions=[
        Func("pv_isset", F.pv_isset, ANY_ROUTE),
        Func("pv_unset", F.pv_unset, ANY_ROUTE),
        Func("is_int", F.is_int, ANY_ROUTE),
        Func("typeof", F.typeof, ANY_ROUTE, fixup=F.type_fixup),
        Func("not_empty", F.not_empty, ANY_ROUTE),
        Func("xavp_params_explode", F.xavp_params_explode, ANY_ROUTE),
        Func("xavp_params_implode", F.xavp_params_implode, ANY_ROUTE),
        Func("xavp_rm", F.xavp_rm, ANY_ROUTE),
        Func("xavp_rm_child", F.xavp_rm_child, ANY_ROUTE),
        Func("xavp_child_seti", F.xavp_child_seti, ANY_ROUTE),
        Func("xavp_child_sets", F.xavp_child_sets, ANY_ROUTE),
    ],
    unsupported=(
        "sbranch_set_ruri", "sbranch_append", "sbranch_reset", "pv_var_to_xavp",
        "pv_xavp_to_var", "pv_xavp_print", "pv_xavu_print", "pv_xavi_print", "pv_evalx",
        "xavp_copy", "xavp_copy_dst", "xavp_lshift", "xavp_push_dst", "xavp_slist_explode",
        "xavi_child_seti", "xavi_child_sets", "xavi_rm", "xavi_rm_child",
        "xavu_rm", "xavu_rm_child", "xavu_child_seti", "xavu_child_sets",
        "avp_seti", "avp_sets", "avp_rm",
    ),
)
