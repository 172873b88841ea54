# SPDX-License-Identifier: GPL-2.0-or-later
"""Checking answers to challenges in-process (pv_www_authenticate and
friends, so no database): MD5 and SHA-256, qop auth and auth-int, wrong
passwords, stale and future nonces, nonce counts, one-time nonces, nonces
checked by another Runtime with the same secret, message-bound nonces,
consume_credentials, $au & co, Authentication-Info."""

import time

from kampy.sip import digest, parse

from auth_util import answer, challenge_of, make_rt, register_challenge, request, run

SECRET = 'modparam("auth", "secret", "a-shared-secret-of-32-characters")\n'

ROUTE = """
request_route {
    if (is_method("REGISTER")) {
        pv_www_authenticate("", "secret", "$hdr(X-Flags)");
        $avp(rc) = $rc;
        if ($avp(rc) < 0) { www_challenge("", "1"); exit; }
        $avp(au) = $au; $avp(ad) = $ad; $avp(aU) = $aU; $avp(ar) = $ar;
        $avp(adu) = $adu; $avp(aa) = $aa;
        sl_send_reply("200", "OK");
        exit;
    }
    pv_proxy_authenticate("$fd", "secret", "0");
    $avp(rc) = $rc;
    if ($avp(rc) < 0) { proxy_challenge("$fd", "1"); exit; }
    consume_credentials();
    $avp(out) = $mb;
    sl_send_reply("200", "OK");
}
"""


def rt_with(params=""):
    return make_rt(SECRET + params + ROUTE)


def authed(rt, ch, flags="0", **kw):
    """A REGISTER answering ch; (rc, reply)."""
    req_kw = {k: kw.pop(k) for k in ("callid", "cseq", "user", "body", "from_user", "to_user")
              if k in kw}
    auth = answer(ch, user=req_kw.get("user", "alice"), body=req_kw.get("body", b""), **kw)
    raw = request(auth=auth, extra=["X-Flags: " + flags], cseq=req_kw.pop("cseq", 2), **req_kw)
    ctx, rep = run(rt, raw)
    return ctx.avps.get("rc"), rep, ctx


def test_auth_md5_answers_with_and_without_qop():
    rt = rt_with()
    ch = register_challenge(rt)
    assert ch.qop == ["auth"]
    rc, rep, ctx = authed(rt, ch)
    assert rc == 1 and rep.status == 200
    ch.qop = []
    rc, rep, _ = authed(rt, ch)
    assert rc == 1 and rep.status == 200


def test_auth_pvs_read_the_used_credentials():
    rt = rt_with()
    ch = register_challenge(rt)
    rc, rep, ctx = authed(rt, ch)
    assert rc == 1
    got = {k: ctx.avps.get(k) for k in ("au", "ad", "aU", "ar", "adu", "aa")}
    assert got == {"au": "alice", "ad": None, "aU": "alice", "ar": "example.org",
                   "adu": "sip:example.org", "aa": "MD5"}


def test_auth_qop_auth_int_covers_the_body():
    rt = rt_with()
    _, rep = run(rt, request())
    ch = challenge_of(rep)
    ch.qop = ["auth-int"]
    rc, rep, _ = authed(rt, ch, body=b"hello body")
    assert rc == 1
    auth = answer(ch, body=b"hello body")
    ctx, rep = run(rt, request(auth=auth, body=b"tampered!!", extra=["X-Flags: 0"]))
    assert ctx.avps.get("rc") == -2 and rep.status == 401


def test_auth_sha256():
    rt = rt_with('modparam("auth", "algorithm", "SHA-256")\n')
    ch = register_challenge(rt)
    assert ch.algorithm == "SHA-256"
    rc, rep, ctx = authed(rt, ch)
    assert rc == 1 and ctx.avps.get("aa") == "SHA-256"
    # an MD5 answer to a SHA-256 challenge has the wrong length: an error, not a wrong password
    ch.algorithm = "MD5"
    rc, _, _ = authed(rt, ch)
    assert rc == -1


def test_auth_algorithm_function_overrides_per_request():
    rt = make_rt(SECRET + """
request_route {
    if ($fU == "sha") { auth_algorithm("SHA-256"); }
    if (!pv_www_authenticate("example.org", "secret", "0")) { www_challenge("example.org", "0"); exit; }
    sl_send_reply("200", "OK");
}
""")
    _, rep = run(rt, request(user="sha"))
    ch = challenge_of(rep)
    assert ch.algorithm == "SHA-256"
    _, rep = run(rt, request(user="sha", auth=answer(ch, user="sha"), cseq=2))
    assert rep.status == 200
    _, rep = run(rt, request(user="md"))
    assert challenge_of(rep).algorithm_raw is None


def test_auth_wrong_password_and_no_credentials():
    rt = rt_with()
    ch = register_challenge(rt)
    rc, rep, _ = authed(rt, ch, password="nope")
    assert rc == -2 and rep.status == 401
    ctx, rep = run(rt, request(extra=["X-Flags: 0"]))
    assert ctx.avps.get("rc") == -5
    ch.realm = "other.realm"
    rc, _, _ = authed(rt, ch)
    assert rc == -5


def test_auth_forged_or_malformed_nonce_is_an_error():
    rt = rt_with()
    ch = register_challenge(rt)
    good = ch.nonce
    ch.nonce = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    rc, _, _ = authed(rt, ch)
    assert rc == -1
    ch.nonce = "deadbeef"
    rc, _, _ = authed(rt, ch)
    assert rc == -1
    ctx, _ = run(rt, request(auth='Digest username="alice", realm="example.org"', extra=["X-Flags: 0"]))
    assert ctx.avps.get("rc") == -1


def test_auth_expired_nonce_is_stale_and_the_new_challenge_says_so():
    rt = rt_with('modparam("auth", "nonce_expire", 30)\n')
    a = rt.api("auth")
    t0 = time.time()
    a.clock = lambda: t0
    ch = register_challenge(rt)
    a.clock = lambda: t0 + 29
    assert authed(rt, ch)[0] == 1
    a.clock = lambda: t0 + 32
    rc, rep, _ = authed(rt, ch)
    assert rc == -4 and rep.status == 401
    again = challenge_of(rep)
    assert again.stale and again.nonce != ch.nonce
    assert authed(rt, again)[0] == 1


def test_auth_nonce_from_the_future_or_before_start_is_stale():
    rt = rt_with()
    a = rt.api("auth")
    t0 = time.time()
    a.clock = lambda: t0 + 100
    ch = register_challenge(rt)
    a.clock = lambda: t0 + 96            # 4 s in the past of the nonce: beyond the 3 s drift
    assert authed(rt, ch)[0] == -4
    a.clock = lambda: t0 + 98
    assert authed(rt, ch)[0] == 1
    rt2 = rt_with()
    a2 = rt2.api("auth")
    a2.up_since = int(t0) + 200
    a2.clock = lambda: t0 + 201
    assert authed(rt2, ch)[0] == -4


def test_auth_nonce_checked_by_another_runtime_with_the_same_secret():
    rt1, rt2 = rt_with(), rt_with()
    ch = register_challenge(rt1)
    rc, rep, _ = authed(rt2, ch)
    assert rc == 1 and rep.status == 200
    other = make_rt('modparam("auth", "secret", "another-secret")\n' + ROUTE)
    assert authed(other, ch)[0] == -1


def test_auth_random_secret_is_per_start():
    rt1, rt2 = make_rt(ROUTE), make_rt(ROUTE)
    ch = register_challenge(rt1)
    assert authed(rt1, ch)[0] == 1
    assert authed(rt2, ch)[0] == -1


def test_auth_nonce_count_refuses_a_replayed_nc():
    rt = rt_with('modparam("auth", "nonce_count", 1)\n')
    ch = register_challenge(rt)
    assert authed(rt, ch, nc=1)[0] == 1
    assert authed(rt, ch, nc=1)[0] == -4          # Kamailio: a replayed nc is stale
    assert authed(rt, ch, nc=2)[0] == 1
    assert authed(rt, ch, nc=2)[0] == -4
    assert authed(rt, ch, nc=7)[0] == 1
    assert authed(rt, ch, nc=3)[0] == -4
    assert authed(rt, ch, nc=256)[0] == -4        # beyond what Kamailio tracks: re-challenge


def test_auth_a_wrong_answer_does_not_advance_the_nonce_count():
    rt = rt_with('modparam("auth", "nonce_count", 1)\n')
    ch = register_challenge(rt)
    assert authed(rt, ch, nc=9, password="guess")[0] == -2
    assert authed(rt, ch, nc=2)[0] == 1


def test_auth_nonce_count_state_is_shared_between_workers():
    """Two Runtimes over one table stand for two workers sharing shm."""
    from kampy import shm
    params = 'modparam("auth", "nonce_count", 1)\nmodparam("auth", "nc_array_size", 4096)\n'
    rt1, rt2 = rt_with(params), rt_with(params)
    arena = shm.Arena(4 * 1024 * 1024)
    buckets, heap = rt1.modules["auth"].tables[0].size_fn(rt1)
    table = shm.Table(arena, "auth", buckets=buckets, nlocks=8, heap_bytes=heap)
    rt1.tables["auth"] = rt2.tables["auth"] = table
    ch = register_challenge(rt1)
    assert authed(rt2, ch, nc=1)[0] == 1
    assert authed(rt1, ch, nc=1)[0] == -4
    assert authed(rt1, ch, nc=2)[0] == 1
    assert authed(rt2, ch, nc=2)[0] == -4
    # a worker that never saw the nonce issued (its own table) cannot vouch for it
    rt3 = rt_with(params)
    assert authed(rt3, ch, nc=3)[0] == -4


def test_auth_nonce_count_in_flight_limit():
    rt = rt_with('modparam("auth", "nonce_count", 1)\nmodparam("auth", "nc_array_size", 256)\n')
    first = register_challenge(rt)
    for _ in range(256):
        register_challenge(rt)
    assert authed(rt, first, nc=1)[0] == -4       # its slot was given to a newer nonce


def test_auth_one_time_nonce_is_used_once():
    rt = rt_with('modparam("auth", "one_time_nonce", 1)\n')
    ch = register_challenge(rt)
    assert authed(rt, ch)[0] == 1
    assert authed(rt, ch)[0] == -6
    ch2 = register_challenge(rt)
    assert authed(rt, ch2, password="bad")[0] == -2
    assert authed(rt, ch2)[0] == 1                # a failed try did not burn it


def test_auth_checks_bind_the_nonce_to_the_call_id():
    rt = rt_with('modparam("auth", "auth_checks_register", 2)\n')
    ch = register_challenge(rt, callid="c-A")
    assert authed(rt, ch, callid="c-A")[0] == 1
    assert authed(rt, ch, callid="c-B")[0] == -4


def test_auth_ha1_password_flag_and_challenge_avp():
    rt = make_rt(SECRET + """
request_route {
    $var(ha1) = $hdr(X-HA1);
    if (!pv_www_authenticate("example.org", "$var(ha1)", "5")) {
        append_to_reply("$avp(digest_challenge)");
        sl_send_reply("401", "Unauthorized");
        exit;
    }
    sl_send_reply("200", "OK");
}
""")
    ha1 = digest.ha1("MD5", "alice", "example.org", "secret")
    _, rep = run(rt, request(extra=["X-HA1: " + ha1]))
    assert rep.status == 401
    ch = challenge_of(rep)
    assert ch.qop == ["auth"] and ch.realm == "example.org"
    _, rep = run(rt, request(auth=answer(ch), extra=["X-HA1: " + ha1], cseq=2))
    assert rep.status == 200


def test_auth_consume_credentials_and_proxy_authorization():
    rt = rt_with()
    _, rep = run(rt, request("MESSAGE"))
    assert rep.status == 407
    ch = challenge_of(rep, "proxy-authenticate")
    auth = answer(ch, method="MESSAGE", uri="sip:bob@example.org")
    ctx, rep = run(rt, request("MESSAGE", auth=auth, hname="Proxy-Authorization", cseq=2))
    assert ctx.avps.get("rc") == 1 and rep.status == 200
    out = parse(ctx.msg.serialize())
    assert not out.has("proxy-authorization") and out.call_id == b"call-1"


def test_auth_pv_auth_check_user_mismatch():
    rt = make_rt(SECRET + """
request_route {
    pv_auth_check("example.org", "secret", "0", "1");
    $avp(rc) = $rc;
    if ($avp(rc) < 0) { auth_challenge("example.org", "1"); exit; }
    sl_send_reply("200", "OK");
}
""")
    ch = register_challenge(rt)
    ctx, rep = run(rt, request(auth=answer(ch), cseq=2))
    assert ctx.avps.get("rc") == 1
    ctx, rep = run(rt, request(auth=answer(ch), to_user="bob", cseq=3))
    assert ctx.avps.get("rc") == -8


def test_auth_has_credentials():
    rt = make_rt(SECRET + """
request_route {
    if (has_credentials("example.org")) { $avp(has) = 1; } else { $avp(has) = 0; }
}
""")
    ctx, _ = run(rt, request())
    assert ctx.avps.get("has") == 0
    ctx, _ = run(rt, request(auth='Digest username="a", realm="example.org", nonce="x", '
                                  'uri="sip:example.org", response="00"'))
    assert ctx.avps.get("has") == 1


def test_auth_authentication_info_header():
    rt = rt_with('modparam("auth", "add_authinfo_hdr", 1)\n')
    ch = register_challenge(rt)
    auth = answer(ch, cnonce="c0ffee")
    _, rep = run(rt, request(auth=auth, cseq=2, extra=["X-Flags: 0"]))
    assert rep.status == 200
    info = rep.header("authentication-info").decode()
    ha1 = digest.ha1("MD5", "alice", "example.org", "secret")
    rsp = digest.response("MD5", ha1, ch.nonce, "", "sip:example.org", "auth", "00000001", "c0ffee")
    assert info == ('nextnonce="%s", qop=auth, rspauth="%s", cnonce="c0ffee", nc=00000001'
                    % (ch.nonce, rsp))
