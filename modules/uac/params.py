# SPDX-License-Identifier: GPL-2.0-or-later
"""uac parameters, Kamailio's names and defaults (the seed manual, UAC-NOTES.md).

One ParamValues for the whole module; each part (replace, auth, req, reg)
reads what it needs from P.  Cross-parameter checks happen in mod_init.
"""

from kampy.module import Param, ParamValues


def _mode(v):
    v = v.strip().lower()
    if v not in ("none", "manual", "auto"):
        raise ValueError("restore_mode is none, manual or auto, not %r" % v)
    return v


def _nonneg(v):
    if v < 0:
        raise ValueError("must not be negative")
    return v


def _credential(v):
    """Checked when set, so a bad value is reported at its modparam line."""
    user, sep1, rest = v.partition(":")
    realm, sep2, password = rest.partition(":")
    if not (sep1 and sep2 and user.strip() and realm.strip() and password.strip()):
        raise ValueError("credential %r is not user:realm:password" % (v,))
    return v


def _hash_size(v):
    if not 1 <= v <= 14:
        raise ValueError("reg_hash_size is a power of two exponent 1..14")
    return v


P = ParamValues([
    # From/To replacement (3.1-3.7)
    Param("rr_from_store_param", str, "vsf", doc="Record-Route param holding the encoded From URI"),
    Param("rr_to_store_param", str, "vst", doc="Record-Route param holding the encoded To URI"),
    Param("restore_mode", str, "auto", doc="none, manual or auto", check=_mode),
    Param("restore_dlg", int, 0, doc="keep old/new From/To in dialog variables"),
    Param("restore_passwd", str, "", doc="XOR key for the Record-Route values"),
    Param("restore_from_avp", str, "", doc="AVP keeping the original From URI for replies"),
    Param("restore_to_avp", str, "", doc="AVP keeping the original To URI for replies"),
    # client authentication (3.8-3.11)
    Param("credential", str, multi=True, doc="user:realm:password, repeatable", check=_credential),
    Param("auth_realm_avp", str, ""),
    Param("auth_username_avp", str, ""),
    Param("auth_password_avp", str, ""),
    # remote registrations (3.12-3.20 and later additions)
    Param("reg_db_url", str, ""),
    Param("reg_db_table", str, "uacreg"),
    Param("reg_contact_addr", str, ""),
    Param("reg_timer_interval", int, 90, check=_nonneg),
    Param("reg_retry_interval", int, 0, check=_nonneg),
    Param("reg_random_delay", int, 0, check=_nonneg),
    Param("reg_keep_callid", int, 0),
    Param("reg_active", int, 1),
    Param("reg_gc_interval", int, 150, check=_nonneg),
    Param("reg_hash_size", int, 4, check=_hash_size),
    Param("reg_use_domain", int, 0),
    Param("default_socket", str, ""),
    Param("reload_delta", int, 30, check=_nonneg),
])
