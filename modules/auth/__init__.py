# SPDX-License-Identifier: GPL-2.0-or-later
"""auth: digest challenges and checks shared by the auth backends (auth_db,
and the pv_* functions with passwords from variables).

  core    nonces in use, challenge headers, the check of an answer (the API)
  nonce   the stateless nonce format and the shared nc / one-time state
  funcs   the script functions
  pvs     $au $ad $aU $ar $adu $aa
"""

from kampy.module import (
    ANY_ROUTE, FAILURE_ROUTE, Func, Module, REQUEST_ROUTE, TableDef,
)

from . import funcs as F
from .core import Auth
from .nonce import table_size
from .params import P, nc_size, otn_size
from .pvs import PVS

CHALLENGE_ROUTES = REQUEST_ROUTE | FAILURE_ROUTE


def _table_size(rt):
    pools = 1 << (P.nid_pool_no.bit_length() - 1)
    return table_size(pools, nc_size() if P.nonce_count else 0,
                      otn_size() if P.one_time_nonce else 0)


def mod_init(rt):
    """Make the keys (a random secret when none is set) before the fork."""
    rt.api("auth")


exports = Module(
    name="auth",
    doc="Digest authentication: challenges, nonces, checks of credentials, $au/$ar/$adu.",
    params=P,
    functions=[
        Func("consume_credentials", F.consume_credentials, REQUEST_ROUTE),
        Func("has_credentials", F.has_credentials, REQUEST_ROUTE),
        Func("www_challenge", F.www_challenge, CHALLENGE_ROUTES),
        Func("proxy_challenge", F.proxy_challenge, CHALLENGE_ROUTES),
        Func("auth_challenge", F.auth_challenge, CHALLENGE_ROUTES),
        Func("pv_www_authenticate", F.pv_www_authenticate, REQUEST_ROUTE),
        Func("pv_www_authenticate", F.pv_www_authenticate4, REQUEST_ROUTE),
        Func("pv_www_authorize", F.pv_www_authenticate, REQUEST_ROUTE),
        Func("pv_proxy_authenticate", F.pv_proxy_authenticate, REQUEST_ROUTE),
        Func("pv_proxy_authorize", F.pv_proxy_authenticate, REQUEST_ROUTE),
        Func("pv_auth_check", F.pv_auth_check, REQUEST_ROUTE),
        Func("auth_get_www_authenticate", F.auth_get_www_authenticate, ANY_ROUTE),
        Func("auth_algorithm", F.auth_algorithm, REQUEST_ROUTE),
    ],
    pvs=PVS,
    tables=[TableDef("auth", _table_size, nlocks=64)],
    depends=["sl"],
    mod_init=mod_init,
    api=Auth,
)
