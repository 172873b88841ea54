# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar parameters: Kamailio's names and defaults.  One kampy cannot
honour is refused at startup unless left at its default."""

import sys

from kampy.module import Param, ParamValues

PATH_MODE_OFF, PATH_MODE_LAZY, PATH_MODE_STRICT = 0, 1, 2


def _range(lo, hi):
    def check(v):
        if not lo <= v <= hi:
            raise ValueError("must be between %d and %d" % (lo, hi))
        return v
    return check


def _not_supported(default, why=""):
    def check(v):
        if v != default:
            raise ValueError("not supported by kampy%s" % (": " + why if why else ""))
        return v
    return check


def _flag(v):
    if v != -1 and not 0 <= v <= 31:
        raise ValueError("a flag is 0..31 (-1: not set)")
    return v


def _removed(v):
    raise ValueError("this parameter was removed from Kamailio's registrar: use the uri "
                     "parameter of save(), lookup() and registered()")


class _Params(ParamValues):
    """Also forgets the location tables the previous config named."""

    def reset(self):
        super().reset()
        mod = sys.modules.get(__package__)
        if mod is not None and hasattr(mod, "TABLES"):
            mod.TABLES.clear()


P = _Params([
    Param("default_expires", int, 3600, doc="default_expires: expires of a contact when the "
                                            "REGISTER gives none"),
    Param("default_expires_range", int, 0, check=_range(0, 100),
          doc="default_expires_range: percent by which default_expires may be lowered at random"),
    Param("expires_range", int, 0, check=_range(0, 100),
          doc="expires_range: percent by which a requested expires may be lowered at random"),
    Param("min_expires", int, 60, doc="min_expires: lowest accepted expires (0: no check)"),
    Param("min_expires_mode", int, 0, check=_range(0, 1),
          doc="min_expires_mode: 0 raise a lower expires to min_expires, 1 answer 423 "
              "Interval Too Brief with Min-Expires"),
    Param("max_expires", int, 0, doc="max_expires: highest accepted expires (0: no check)"),
    Param("default_q", int, -1, check=_range(-1, 1000),
          doc="default_q: q x 1000 of a contact without q (-1: not given)"),
    Param("realm_prefix", str, "", doc="realm_prefix: prefix stripped from the AOR's domain"),
    Param("append_branches", int, 1, doc="append_branches: lookup() adds the other contacts "
                                         "as branches"),
    Param("case_sensitive", int, 0, doc="case_sensitive: 1 keeps the AOR's user part as written"),
    Param("received_avp", str, "", doc="received_avp: AVP whose value save() stores as the "
                                       "contact's received address"),
    Param("received_param", str, "received",
          doc="received_param: name of the Contact param carrying received in 200 OK"),
    Param("max_contacts", int, 0, doc="max_contacts: most contacts per AOR (0: no limit)"),
    Param("retry_after", int, 0, doc="retry_after: Retry-After of 5xx replies (0: none)"),
    Param("sock_flag", int, -1, check=_flag,
          doc="sock_flag: message flag asking save() to take the socket from sock_hdr_name"),
    Param("sock_hdr_name", str, "", doc="sock_hdr_name: header holding proto:ip:port"),
    Param("method_filtering", int, 0, doc="method_filtering: lookup() of an initial request "
                                          "keeps only contacts allowing its method"),
    Param("use_path", int, 0, doc="use_path: store Path headers with the contacts"),
    Param("path_mode", int, PATH_MODE_STRICT, check=_range(0, 2),
          doc="path_mode: 0 off, 1 lazy, 2 strict (420 without Supported: path)"),
    Param("path_use_received", int, 0,
          doc="path_use_received: the received param of the first Path URI is the contact's "
              "received address"),
    Param("path_check_local", int, 0,
          doc="path_check_local: lookup() skips a first Path hop that is this proxy"),
    Param("reg_callid_avp", str, "", doc="reg_callid_avp: registered() then also needs a "
                                         "contact with this Call-ID"),
    Param("xavp_cfg", str, "", doc="xavp_cfg: XAVP with per-request settings (max_contacts, "
                                   "q, expires, socket, match_callid, match_received, "
                                   "match_contact)"),
    Param("xavp_rcd", str, "", doc="xavp_rcd: XAVP lookup() and registered() fill with the "
                                   "contact's ruid, contact, expires and received"),
    Param("gruu_enabled", int, 1, doc="gruu_enabled: accepted; +sip.instance is stored, no "
                                      "GRUU is generated"),
    Param("outbound_mode", int, 0, check=_not_supported(0, "no RFC 5626 outbound"),
          doc="outbound_mode: 0 only"),
    Param("regid_mode", int, 0, check=_range(0, 1), doc="regid_mode: accepted"),
    Param("flow_timer", int, 0, check=_not_supported(0, "needs outbound_mode"),
          doc="flow_timer: 0 only"),
    Param("contact_max_size", int, 512, doc="contact_max_size: longest accepted Contact URI"),
    Param("event_callback", str, "", check=_not_supported("", "no KEMI"), doc="not supported"),
    Param("tcp_persistent_flag", int, -1, doc="tcp_persistent_flag: accepted, no effect (UDP)"),
    Param("aor_avp", str, "", check=_removed, doc="removed"),
])
