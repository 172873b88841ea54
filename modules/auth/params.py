# SPDX-License-Identifier: GPL-2.0-or-later
"""auth: module parameters (Kamailio's names, types and defaults)."""

from kampy.module import Param, ParamValues

ALGORITHMS = ("MD5", "SHA-256")


def _nonneg(v):
    if v < 0:
        raise ValueError("must be >= 0")
    return v


def _positive(v):
    if v <= 0:
        raise ValueError("must be > 0")
    return v


def _qop(v):
    v = v.strip()
    if v not in ("", "auth", "auth-int"):
        raise ValueError("qop must be \"auth\", \"auth-int\" or \"\"")
    return v


def _algorithm(v):
    v = v.strip()
    if v and v not in ALGORITHMS:
        raise ValueError("algorithm must be \"\", \"MD5\" or \"SHA-256\"")
    return v


def _order(v):
    if not 1 <= v <= 30:
        raise ValueError("must be 1..30")
    return v


def _pool(v):
    if not 1 <= v <= 64:
        raise ValueError("must be 1..64")
    return v


def avp_key(spec: str) -> str:
    """The AVP store key of "$name", "$avp(name)", "$avp(s:name)", "$avp(i:5)"."""
    s = spec.strip()
    if s.startswith("$"):
        s = s[1:]
    if s.startswith("avp(") and s.endswith(")"):
        s = s[4:-1].strip()
    if s.startswith("s:"):
        s = s[2:]
    elif s.startswith("i:"):
        s = "i:%d" % int(s[2:].strip(), 10)
    return s


def _attr(v):
    v = v.strip()
    try:
        ok = v.startswith("$") and bool(avp_key(v))
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("must name an AVP, e.g. \"$digest_challenge\"")
    return v


def _header_name(v):
    v = v.strip()
    if not v or any(c in v for c in ": \t\r\n"):
        raise ValueError("must be a header name")
    return v


P = ParamValues([
    Param("secret", str, None, doc="secret of the nonce MACs; random per start when unset "
          "(set it to the same value on servers that must accept each other's nonces)"),
    Param("nonce_expire", int, 300, check=_positive, doc="nonce lifetime in seconds"),
    Param("nonce_auth_max_drift", int, 3, check=_nonneg,
          doc="seconds a nonce's creation time may lie in the future"),
    Param("protect_contacts", int, 0, doc="accepted, no effect (as in Kamailio 5.x)"),
    Param("challenge_attr", str, "$digest_challenge", check=_attr,
          doc="AVP that pv_*_authenticate() fills with a challenge header (flags 2/4/8)"),
    Param("proxy_challenge_header", str, "Proxy-Authenticate", check=_header_name),
    Param("www_challenge_header", str, "WWW-Authenticate", check=_header_name),
    Param("qop", str, "auth", check=_qop,
          doc="needed (non-empty) for nonce_count; the challenges take qop from their flags"),
    Param("auth_checks_register", int, 0, check=_nonneg,
          doc="bits of REGISTER bound into the nonce: 1 R-URI, 2 Call-ID, 4 From tag, 8 source IP"),
    Param("auth_checks_no_dlg", int, 0, check=_nonneg, doc="the same for requests without To tag"),
    Param("auth_checks_in_dlg", int, 0, check=_nonneg, doc="the same for requests with a To tag"),
    Param("nonce_count", int, 0, doc="remember each nonce's nc: a response must bring a higher one"),
    Param("nc_array_size", int, 1048576, check=_positive, doc="nonces tracked for nonce_count (2^k)"),
    Param("nc_array_order", int, 20, check=_order, doc="log2 of nc_array_size"),
    Param("one_time_nonce", int, 0, doc="each nonce authenticates one request only"),
    Param("otn_in_flight_no", int, 1048576, check=_positive,
          doc="nonces tracked for one_time_nonce (2^k)"),
    Param("otn_in_flight_order", int, 20, check=_order, doc="log2 of otn_in_flight_no"),
    Param("nid_pool_no", int, 1, check=_pool, doc="partitions of the nonce-id space (1..64, 2^k)"),
    Param("force_stateless_reply", int, 0, doc="challenge with sl even when a transaction exists"),
    Param("realm_prefix", str, "", doc="prefix stripped from realms (e.g. \"sip.\")"),
    Param("use_domain", int, 0, doc="pv_auth_check(): also compare URI domains"),
    Param("algorithm", str, "", check=_algorithm,
          doc="MD5 (default, not printed in challenges) or SHA-256 (RFC 8760)"),
    Param("add_authinfo_hdr", int, 0, doc="add Authentication-Info (rspauth, nextnonce) to the reply"),
])


def pow2_floor(n: int) -> int:
    """Kamailio rounds the array sizes down to a power of two."""
    return 1 << (max(1, n).bit_length() - 1)


def nc_size() -> int:
    if P.nc_array_order != 20:
        return 1 << P.nc_array_order
    return pow2_floor(P.nc_array_size)


def otn_size() -> int:
    if P.otn_in_flight_order != 20:
        return 1 << P.otn_in_flight_order
    return pow2_floor(P.otn_in_flight_no)
