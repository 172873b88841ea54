# SPDX-License-Identifier: GPL-2.0-or-later
"""Core parameters (`name = value` at the top of a config).

Each known name has a converter; values that only matter to Kamailio's TCP,
TLS or memory debugging are accepted and have no effect in kampy (UDP only),
so a real kamailio.cfg runs unchanged.  An unknown name is an error.
"""

import re

from .ast import ConfigError
from .context import Socket

_TRUE = {"yes", "on", "true", "1", "enable", "enabled"}
_FALSE = {"no", "off", "false", "0", "disable", "disabled"}


def _bool(v):
    if isinstance(v, int):
        return bool(v)
    s = str(v).lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("expects yes/no, not %r" % v)


def _int(v):
    if isinstance(v, int):
        return v
    try:
        return int(str(v), 0)
    except ValueError:
        raise ValueError("expects a number, not %r" % v) from None


def _str(v):
    return v if isinstance(v, str) else str(v)


def _level(v):
    from ..runtime import LEVEL_NAMES
    if isinstance(v, str) and v in LEVEL_NAMES:
        return LEVEL_NAMES[v]
    return _int(v)


# name -> (converter, repeatable, used by kampy)
CORE_PARAMS = {
    "debug": (_level, False, True),
    "log_stderror": (_bool, False, True),
    "log_facility": (_str, False, True),
    "log_prefix": (_str, False, True),
    "log_name": (_str, False, True),
    "log_color": (_bool, False, False),
    "fork": (_bool, False, True),
    "children": (_int, False, True),
    "listen": (_str, True, True),
    "port": (_int, False, True),
    "alias": (_str, True, True),
    "mpath": (_str, False, True),
    "loadpath": (_str, False, True),
    "shm_mem": (_int, False, True),
    "shm_mem_size": (_int, False, True),
    "pkg_mem": (_int, False, False),
    "server_header": (_str, False, True),
    "user_agent_header": (_str, False, True),
    "server_signature": (_bool, False, True),
    "rpc_socket": (_str, False, True),
    "auto_aliases": (_bool, False, True),
    "disable_tcp": (_bool, False, False),
    "disable_tls": (_bool, False, False),
    "enable_tls": (_bool, False, False),
    "enable_sctp": (_bool, False, False),
    "disable_sctp": (_bool, False, False),
    "dns": (_bool, False, True),
    "rev_dns": (_bool, False, True),
    "use_dns_cache": (_bool, False, False),
    "use_dns_failover": (_bool, False, False),
    "dns_cache_init": (_bool, False, False),
    "dns_try_ipv6": (_bool, False, False),
    "dns_srv_lb": (_bool, False, False),
    "dns_try_naptr": (_bool, False, False),
    "max_while_loops": (_int, False, True),
    "sip_warning": (_bool, False, False),
    "memdbg": (_level, False, False),
    "memlog": (_level, False, False),
    "mem_summary": (_int, False, False),
    "mem_join": (_int, False, False),
    "corelog": (_level, False, False),
    "latency_log": (_level, False, False),
    "latency_cfg_log": (_level, False, False),
    "latency_limit_action": (_int, False, False),
    "latency_limit_db": (_int, False, False),
    "tcp_connection_lifetime": (_int, False, False),
    "tcp_accept_no_cl": (_bool, False, False),
    "tcp_rd_buf_size": (_int, False, False),
    "tcp_max_connections": (_int, False, False),
    "tcp_connect_timeout": (_int, False, False),
    "tcp_send_timeout": (_int, False, False),
    "tcp_keepalive": (_bool, False, False),
    "tls_max_connections": (_int, False, False),
    "async_workers": (_int, False, False),
    "user": (_str, False, True),
    "group": (_str, False, True),
    "workdir": (_str, False, True),
    "chroot": (_str, False, False),
    "mhomed": (_bool, False, False),
    "maxbuffer": (_int, False, False),
    "udp_mtu": (_int, False, False),
    "pv_buffer_size": (_int, False, False),
    "pv_buffer_slots": (_int, False, False),
    "received_route_mode": (_int, False, False),
    "onsend_route_reply": (_bool, False, True),
    "reply_to_via": (_bool, False, True),
    "advertised_address": (_str, False, True),
    "advertised_port": (_int, False, True),
    "server_id": (_int, False, True),
    "tos": (_int, False, False),
    "sql_buffer_size": (_int, False, False),
    "exit_timeout": (_int, False, False),
    "ser_kill_timeout": (_int, False, False),
    "socket_workers": (_int, False, False),
    "statistics": (_str, False, False),
    "http_reply_parse": (_bool, False, False),
    "phone2tel": (_int, False, False),
    "uri_host_extra_chars": (_str, False, False),
    "verbose_startup": (_bool, False, False),
    "kemi.onsend_route_callback": (_str, False, False),
    "tcp_children": (_int, False, False),
    "open_files_limit": (_int, False, False),
    "tcp_async": (_bool, False, False),
    "mlock_pages": (_bool, False, False),
    "shm_force_alloc": (_bool, False, False),
    "dns_retr_time": (_int, False, False),
    "dns_retr_no": (_int, False, False),
    "dns_use_search_list": (_bool, False, False),
    "dns_server_balancing": (_bool, False, False),
    "use_dst_blacklist": (_bool, False, False),
    "dst_blacklist_init": (_bool, False, False),
    "pmtu_discovery": (_int, False, False),
    "sock_mode": (_int, False, False),
    "sock_user": (_str, False, False),
    "sock_group": (_str, False, False),
    "xavp_via_params": (_str, False, False),
    "xavp_via_fields": (_str, False, False),
    "log_engine_type": (_str, False, False),
    "log_engine_data": (_str, False, False),
    "log_prefix_mode": (_int, False, False),
    "check_via": (_bool, False, False),
    "tls_port_no": (_int, False, False),
    "rundir": (_str, False, True),
    "run_dir": (_str, False, True),
    "max_recursive_level": (_int, False, False),
    "modinit_delay": (_int, False, False),
    "cfgengine": (_str, False, False),
    "tcp_reuse_port": (_bool, False, False),
    "udp4_raw": (_int, False, False),
    "async_usleep": (_int, False, False),
    "stun_allow_stun": (_bool, False, False),
    "tcp_crlf_ping": (_bool, False, False),
    "tcp_defer_accept": (_int, False, False),
    "tcp_delayed_ack": (_bool, False, False),
    "tcp_fd_cache": (_bool, False, False),
    "tcp_keepcnt": (_int, False, False),
    "tcp_keepidle": (_int, False, False),
    "tcp_keepintvl": (_int, False, False),
    "tcp_linger2": (_int, False, False),
    "tcp_max_fd_no": (_int, False, False),
    "tcp_no_connect": (_bool, False, False),
    "tcp_rd_buf_size": (_int, False, False),
    "tcp_wq_blk_size": (_int, False, False),
    "tcp_wq_max": (_int, False, False),
    "tcp_conn_wq_max": (_int, False, False),
    "tcp_buf_write": (_bool, False, False),
    "tcp_source_ipv4": (_str, False, False),
    "tcp_source_ipv6": (_str, False, False),
    "tcp_syncnt": (_int, False, False),
    "tcp_script_mode": (_int, False, False),
    "tls_connection_lifetime": (_int, False, False),
    "sctp_children": (_int, False, False),
    "sctp_socket_rcvbuf": (_int, False, False),
    "sctp_socket_sndbuf": (_int, False, False),
    "socket_workers": (_int, False, False),
    "ip_free_bind": (_bool, False, False),
    "ipv6_hex_style": (_str, False, False),
    "local_rport": (_bool, False, True),
    "force_rport": (_bool, False, True),
    "flags": (_str, True, False),
    "auto_bind_ipv6": (_bool, False, False),
    "bind_ipv6_link_local": (_bool, False, False),
}

DEFAULTS = {
    "debug": 0, "log_stderror": False, "log_facility": "LOG_DAEMON",
    "log_prefix": "", "fork": True, "children": 8, "port": 5060, "mpath": "",
    "shm_mem": 64, "server_header": "Server: kampy", "user_agent_header": "User-Agent: kampy",
    "server_signature": True, "rpc_socket": "unix:/tmp/kampy_ctl", "auto_aliases": True,
    "dns": False, "rev_dns": False, "max_while_loops": 100,
}

# [proto:]host[:port] with IPv6 in brackets; host may be '*' or an interface name
_SOCK_RE = re.compile(r"^(?:(udp|tcp|tls|sctp|ws|wss|any):)?(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?$", re.I)


def parse_socket(text: str, default_port: int = 5060):
    """`udp:127.0.0.1:5060` → (proto, host, port)."""
    m = _SOCK_RE.match(text.strip())
    if m is None:
        raise ValueError("bad socket %r (expected [proto:]address[:port])" % text)
    proto, host, port = m.groups()
    proto = (proto or "udp").lower()
    if host.startswith("["):
        host = host[1:-1]
    return proto, host, int(port) if port else default_port


def _hostport(text: str):
    text = text.strip().strip('"')
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return host, int(port) if port else None


def resolve(params: list, errors: list):
    """Check and convert the CoreParams; returns (values, sockets, aliases)."""
    values = dict(DEFAULTS)
    listens = []
    aliases = []
    for p in params:
        entry = CORE_PARAMS.get(p.name)
        if entry is None:
            errors.append(ConfigError(p.pos, "unknown core parameter '%s'" % p.name))
            continue
        conv, multi, _used = entry
        try:
            v = conv(p.value)
        except ValueError as e:
            errors.append(ConfigError(p.pos, "core parameter '%s' %s" % (p.name, e)))
            continue
        if p.name == "listen":
            listens.append((v, p))
        elif p.name == "alias":
            try:
                aliases.append(_hostport(v))
            except ValueError as e:
                errors.append(ConfigError(p.pos, "alias: %s" % e))
        elif multi:
            values.setdefault(p.name, []).append(v)
        else:
            values[p.name] = v
    sockets = []
    for text, p in listens:
        try:
            proto, host, port = parse_socket(text, values.get("port", 5060))
        except ValueError as e:
            errors.append(ConfigError(p.pos, "listen: %s" % e))
            continue
        if proto not in ("udp", "any"):
            errors.append(ConfigError(p.pos, "listen: kampy serves UDP only, not %s" % proto))
            continue
        adv_host = adv_port = None
        if p.extra.get("advertise"):
            try:
                adv_host, adv_port = _hostport(p.extra["advertise"])
            except ValueError as e:
                errors.append(ConfigError(p.pos, "listen advertise: %s" % e))
        sockets.append(Socket("udp", host, port, adv_host, adv_port, p.extra.get("name")))
    return values, sockets, aliases
