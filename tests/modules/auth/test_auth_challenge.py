# SPDX-License-Identifier: GPL-2.0-or-later
"""auth challenges in-process: the 401/407 replies and their headers as
Kamailio writes them, empty realms, realm_prefix, algorithms, stateful or
stateless replies, auth_get_www_authenticate."""

import re

from kampy.sip import digest

from auth_util import make_rt, request, run

CFG = """
modparam("auth", "secret", "0123456789abcdef0123456789abcdef")
request_route {
    if ($hdr(X-Tm) == "yes") { t_newtran(); }
    $var(realm) = "";
    if ($hdr(X-Realm) != $null) { $var(realm) = $hdr(X-Realm); }
    if ($hdr(X-Mode) == "proxy") { proxy_challenge("$var(realm)", "$hdr(X-Flags)"); exit; }
    if ($hdr(X-Mode) == "auth") { auth_challenge("$var(realm)", "$hdr(X-Flags)"); exit; }
    if ($hdr(X-Mode) == "get") {
        auth_get_www_authenticate("$var(realm)", "$hdr(X-Flags)", "$var(wa)");
        $avp(wa) = $var(wa);
        exit;
    }
    www_challenge("$var(realm)", "$hdr(X-Flags)");
}
"""

NONCE = r'nonce="[A-Za-z0-9_-]{46}"'


def send(rt, method="REGISTER", mode="www", realm=None, flags="0", tm=False):
    extra = ["X-Mode: " + mode, "X-Flags: " + flags]
    if realm is not None:
        extra.append("X-Realm: " + realm)
    if tm:
        extra.append("X-Tm: yes")
    return run(rt, request(method, extra=extra))


def test_auth_www_challenge_is_a_401_with_kamailios_header():
    rt = make_rt(CFG)
    ctx, rep = send(rt, realm="example.org")
    assert rep.status == 401 and rep.reason == b"Unauthorized"
    assert rep.count("www-authenticate") == 1 and not rep.has("proxy-authenticate")
    value = rep.header("www-authenticate").decode()
    assert re.fullmatch(r'Digest realm="example\.org", %s' % NONCE, value), value
    assert rep.to_tag is not None and rep.call_id == b"call-1"
    assert rt.counters.get("sl:401_replies") == 1


def test_auth_challenge_flags_qop_stale_in_kamailios_order():
    rt = make_rt(CFG)
    for flags, tail in (("1", ', qop="auth"'), ("2", ', qop="auth-int"'), ("3", ', qop="auth-int"'),
                        ("16", ", stale=true"), ("17", ', qop="auth", stale=true')):
        _, rep = send(rt, realm="example.org", flags=flags)
        value = rep.header("www-authenticate").decode()
        assert re.fullmatch(r'Digest realm="example\.org", %s%s' % (NONCE, re.escape(tail)), value), \
            (flags, value)


def test_auth_proxy_challenge_is_a_407():
    rt = make_rt(CFG)
    _, rep = send(rt, "INVITE", mode="proxy", realm="example.org", flags="1")
    assert rep.status == 407 and rep.reason == b"Proxy Authentication Required"
    assert not rep.has("www-authenticate")
    ch = digest.parse_challenge(rep.header("proxy-authenticate"))
    assert ch.realm == "example.org" and ch.qop == ["auth"] and ch.algorithm == "MD5"
    assert ch.algorithm_raw is None


def test_auth_challenge_picks_401_for_register_407_for_others():
    rt = make_rt(CFG)
    _, rep = send(rt, "REGISTER", mode="auth", realm="r.test")
    assert rep.status == 401 and rep.has("www-authenticate")
    _, rep = send(rt, "MESSAGE", mode="auth", realm="r.test")
    assert rep.status == 407 and rep.has("proxy-authenticate")


def test_auth_empty_realm_is_the_to_domain_of_register_and_from_domain_otherwise():
    rt = make_rt(CFG)
    raw = request("REGISTER", domain="reg.example", extra=["X-Flags: 0"])
    _, rep = run(rt, raw)
    assert digest.parse_challenge(rep.header("www-authenticate")).realm == "reg.example"
    raw = request("INVITE", domain="call.example", extra=["X-Mode: proxy", "X-Flags: 0"],
                  ruri="sip:bob@elsewhere.example")
    _, rep = run(rt, raw)
    assert digest.parse_challenge(rep.header("proxy-authenticate")).realm == "call.example"


def test_auth_realm_prefix_is_stripped():
    rt = make_rt('modparam("auth", "realm_prefix", "sip.")\n' + CFG)
    _, rep = send(rt, realm="sip.example.org")
    assert digest.parse_challenge(rep.header("www-authenticate")).realm == "example.org"


def test_auth_sha256_algorithm_is_printed():
    rt = make_rt('modparam("auth", "algorithm", "SHA-256")\n' + CFG)
    _, rep = send(rt, realm="example.org", flags="1")
    value = rep.header("www-authenticate").decode()
    assert value.endswith(', qop="auth", algorithm=SHA-256'), value
    rt = make_rt('modparam("auth", "algorithm", "MD5")\n' + CFG)
    _, rep = send(rt, realm="example.org")
    assert rep.header("www-authenticate").decode().endswith(", algorithm=MD5")


def test_auth_challenge_goes_through_the_transaction_when_there_is_one():
    rt = make_rt(CFG)
    ctx, rep = send(rt, realm="example.org", tm=True)
    assert rep.status == 401 and rep.has("www-authenticate")
    assert rt.counters.get("sl:401_replies") == 0
    assert rt.counters.get("tm:local_replies") == 1
    rt = make_rt('modparam("auth", "force_stateless_reply", 1)\n' + CFG)
    ctx, rep = send(rt, realm="example.org", tm=True)
    assert rep.status == 401 and rt.counters.get("sl:401_replies") == 1


def test_auth_each_challenge_has_its_own_nonce():
    rt = make_rt(CFG)
    nonces = set()
    for _ in range(20):
        _, rep = send(rt, realm="example.org")
        nonces.add(digest.parse_challenge(rep.header("www-authenticate")).nonce)
    assert len(nonces) == 20


def test_auth_get_www_authenticate_fills_the_variable_and_sends_nothing():
    rt = make_rt(CFG)
    ctx, rep = send(rt, mode="get", realm="example.org", flags="1")
    assert rep is None
    value = ctx.avps.get("wa")
    assert value.startswith('WWW-Authenticate: Digest realm="example.org", nonce="')
    assert value.endswith('", qop="auth"\r\n')


def test_auth_challenge_with_no_realm_at_all_sends_500_unless_flag_4():
    rt = make_rt(CFG)
    raw = request("INVITE", extra=["X-Mode: proxy", "X-Flags: 0"]).replace(b"From: <sip:alice@example.org>",
                                                         b"From: <tel:+123456>")
    ctx, rep = run(rt, raw)
    assert rep.status == 500 and ctx.rc == -1
    ctx, rep = run(rt, raw.replace(b"X-Flags: 0", b"X-Flags: 4"))
    assert rep is None and ctx.rc == -1
