# SPDX-License-Identifier: GPL-2.0-or-later
"""uac remote registrations in-process: the record state machine driven by
canned replies through tm (RecordingTransport, LocalTimers with a moved clock)."""

import pytest

from kampy.runtime import Runtime
from kampy.rpc import RpcFault
from kampy.script.compiler import compile_text
from kampy.sip import digest, parse
from kampy.worker import Receiver

from kampy.modules.uac import reg as REG
from kampy.modules.uac import reg_core as C
from kampy.modules.uac import reg_rpc as R

BASE = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "uac.so"
modparam("rr", "append_fromtag", 1)
modparam("uac", "reg_contact_addr", "127.0.0.1:5060")
modparam("uac", "auth_realm_avp", "$avp(arealm)")
modparam("uac", "auth_username_avp", "$avp(auser)")
modparam("uac", "auth_password_avp", "$avp(apass)")
"""
T0 = 1_000_000   # ms on the wheel's clock at the start of each test
PROXY = "sip:127.0.0.1:5099"


class Env:
    def __init__(self, params="", route="exit;"):
        self.rt = Runtime(compile_text(BASE + params + "\nrequest_route {\n%s\n}\n" % route, "t.cfg"))
        self.rt.timers.now_ms = T0
        self.rt.init_modules()
        self.rx = Receiver(self.rt)
        self.seen = 0
        self.branches = set()

    def add(self, uuid="u1", user="alice", ruser="acc1", rdomain="prov.test", realm=".",
            auser=None, password="secret", ha1=".", proxy=PROXY, expires=3600, flags=0, delay=0,
            socket=".", contact="."):
        R.reg_add(self.rt, uuid, user, "local.test", ruser, rdomain, realm, auser or ruser,
                  password, ha1, proxy, expires, flags, delay, socket, contact)

    def at(self, seconds):
        """Move the clock to T0 + seconds and fire what is due."""
        self.rt.timers.now_ms = T0 + int(seconds * 1000)
        self.rt.fire_timers()

    def requests(self):
        """REGISTERs sent since the last call (tm's retransmissions left out)."""
        out = []
        for s in self.rt.transport.sent[self.seen:]:
            if s[3].startswith(b"REGISTER"):
                m = parse(s[3])
                if m.branch not in self.branches:
                    self.branches.add(m.branch)
                    out.append(m)
        self.seen = len(self.rt.transport.sent)
        return out

    def one(self):
        reqs = self.requests()
        assert len(reqs) == 1, [r.raw for r in reqs]
        return reqs[0]

    def answer(self, req, code, reason=b"OK", extra=b"", contact_expires=None, contact=None):
        lines = [b"SIP/2.0 %d %s" % (code, reason), b"Via: " + req.header("via"),
                 b"From: " + req.header("from"), b"To: " + req.header("to") + b";tag=srv",
                 b"Call-ID: " + req.call_id, b"CSeq: " + req.header("cseq")]
        if contact is not None:
            lines.append(b"Contact: " + contact)
        elif contact_expires is not None:
            lines.append(b"Contact: %s;expires=%d" % (req.header("contact"), contact_expires))
        data = b"\r\n".join(lines) + b"\r\n" + extra + b"Content-Length: 0\r\n\r\n"
        self.rx.handle(data, ("127.0.0.1", 5099), self.rt.default_socket())

    def rec(self, uuid="u1"):
        return C.table(self.rt).get(uuid)

    def ctx(self):
        """A request context (an INVITE from the provider) for calling functions."""
        msg = parse(b"INVITE sip:u1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
                    b"From: <sip:p@prov.test>;tag=a\r\nTo: <sip:u1@127.0.0.1>\r\nCall-ID: c\r\n"
                    b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
        return self.rt.new_context(msg)


CHALLENGE = b'WWW-Authenticate: Digest realm="prov.test", nonce="n0nce", qop="auth", algorithm=MD5\r\n'


def register_ok(env, uuid="u1", granted=600):
    req = env.one()
    env.answer(req, 401, b"Unauthorized", CHALLENGE)
    req2 = env.one()
    env.answer(req2, 200, contact_expires=granted)
    return req, req2


def test_challenge_then_200_registers_with_kamailio_request_shape():
    env = Env()
    env.add()
    assert env.rec()["fl"] == 0
    env.at(0)
    req = env.one()
    assert req.ruri == b"sip:prov.test"
    assert req.header("from").startswith(b"<sip:acc1@prov.test>;tag=")
    assert req.header("to") == b"<sip:acc1@prov.test>"
    assert req.header("contact") == b"<sip:u1@127.0.0.1:5060>"
    assert req.header("expires") == b"3600" and req.cseq.number == 10
    assert env.rec()["fl"] == C.INIT | C.ONGOING
    env.answer(req, 401, b"Unauthorized", CHALLENGE)
    req2 = env.one()
    assert req2.call_id == req.call_id and req2.from_tag == req.from_tag and req2.cseq.number == 11
    creds = digest.parse_credentials(req2.header("authorization"))
    assert creds.username == "acc1" and creds.realm == "prov.test" and creds.uri == "sip:prov.test"
    assert digest.check_response(creds, "REGISTER", digest.ha1("MD5", "acc1", "prov.test", "secret"))
    assert env.rec()["fl"] == C.INIT | C.ONGOING | C.AUTHSENT
    env.answer(req2, 200, contact_expires=600)
    rec = env.rec()
    assert rec["fl"] == 20 and rec["gx"] == 600 and rec["lc"] == 200
    assert rec["te"] == pytest.approx(T0 / 1000 + 600)
    # the refresh comes before expiry, and not before half of it
    assert T0 / 1000 + 300 <= rec["nx"] < T0 / 1000 + 600 - 5
    ctx = env.ctx()
    assert REG.uac_reg_status(ctx, "u1") == 1
    env.at(rec["nx"] - T0 / 1000 - 0.1)
    assert env.requests() == []
    env.at(rec["nx"] - T0 / 1000 + 0.02)
    again = env.one()
    assert again.call_id != req.call_id          # reg_keep_callid=0: a new Call-ID
    assert env.rec()["fl"] == C.INIT | C.ONLINE | C.ONGOING   # still registered while refreshing
    assert REG.uac_reg_status(ctx, "u1") == 1


def test_keep_callid_reuses_call_id_with_next_cseq():
    env = Env('modparam("uac", "reg_keep_callid", 1)')
    env.add()
    env.at(0)
    req, req2 = register_ok(env)
    env.at(env.rec()["nx"] - T0 / 1000 + 0.02)
    ref = env.one()
    assert ref.call_id == req.call_id and ref.cseq.number == 12 and ref.from_tag == req.from_tag


def test_expires_header_when_contact_has_none_and_expires_in_reply():
    env = Env()
    env.add()
    env.at(0)
    req = env.one()
    env.answer(req, 200, extra=b"Expires: 120\r\n", contact=req.header("contact"))
    assert env.rec()["gx"] == 120 and env.rec()["fl"] == 20


def test_binding_matched_by_line_param_or_only_contact_pointing_at_us():
    env = Env()
    env.add(uuid="u1")
    env.at(0)
    req = env.one()
    other = b"<sip:bob@10.0.0.9:5060>;expires=999"
    env.answer(req, 200, contact=other + b", <sip:x@127.0.0.1:5060;line=u1>;expires=77")
    assert env.rec()["gx"] == 77
    env.add(uuid="u2", ruser="acc2")
    env.at(1)
    req = env.one()
    env.answer(req, 200, contact=other + b", <sip:rewritten@127.0.0.1:5060>;expires=88")
    assert env.rec("u2")["gx"] == 88 and env.rec("u2")["fl"] == 20
    # two of ours and neither named: no binding, a failure
    env.add(uuid="u3", ruser="acc3")
    env.at(2)
    req = env.one()
    env.answer(req, 200, contact=b"<sip:a@127.0.0.1:5060>;expires=5, <sip:b@127.0.0.1>;expires=5")
    assert env.rec("u3")["fl"] & C.DISABLED and env.rec("u3")["lc"] == 200


def test_contact_user_column_gives_line_param():
    env = Env()
    cfg = {"lu": "u9", "lun": "al", "ld": "l", "run": "r", "rd": "prov.test", "rlm": "", "au": "r",
           "ap": "pw", "ah": "", "px": PROXY, "ex": 60, "dfl": 0, "rdly": 0, "ca": "", "sk": "",
           "cu": "trunk7"}
    assert C.add(env.rt, cfg, C.now(env.rt)) == "added"
    env.at(0)
    req = env.one()
    assert req.header("contact") == b"<sip:trunk7@127.0.0.1:5060;line=u9>"
    env.answer(req, 200, contact=b"<sip:trunk7@127.0.0.1:5060;line=u9>;expires=60")
    assert env.rec("u9")["fl"] == 20


def test_403_retries_after_interval_or_disables():
    env = Env('modparam("uac", "reg_retry_interval", 30)')
    env.add()
    env.at(0)
    env.answer(env.one(), 403, b"Forbidden")
    rec = env.rec()
    assert rec["fl"] == 16 and rec["lc"] == 403 and rec["lr"] == "Forbidden"
    assert rec["nx"] == pytest.approx(T0 / 1000 + 30)
    assert REG.uac_reg_status(env.ctx(), "u1") == -99
    env.at(29.9)
    assert env.requests() == []
    env.at(30)
    assert len(env.requests()) == 1
    env2 = Env()
    env2.add()
    env2.at(0)
    env2.answer(env2.one(), 403, b"Forbidden")
    assert env2.rec()["fl"] == 17 and env2.rec()["nx"] == 0
    assert REG.uac_reg_status(env2.ctx(), "u1") == -3
    env2.at(100)
    assert env2.requests() == []


def test_retry_after_is_honoured_when_longer():
    env = Env('modparam("uac", "reg_retry_interval", 10)')
    env.add()
    env.at(0)
    env.answer(env.one(), 503, b"Service Unavailable", b"Retry-After: 45\r\n")
    assert env.rec()["nx"] == pytest.approx(T0 / 1000 + 45)
    env.at(44)
    assert env.requests() == []
    env.at(45)
    assert len(env.requests()) == 1


def test_423_takes_min_expires_and_retries_at_once():
    env = Env()
    env.add(expires=60)
    env.at(0)
    env.answer(env.one(), 423, b"Interval Too Brief", b"Min-Expires: 1800\r\n")
    assert env.rec()["exc"] == 1800 and env.rec()["lc"] == 423
    env.at(0.01)
    req = env.one()
    assert req.header("expires") == b"1800"
    env.answer(req, 423, b"Interval Too Brief")     # no Min-Expires: twice as long
    env.at(0.02)
    assert env.one().header("expires") == b"3600"
    assert R.reg_info(env.rt, "l_uuid", "u1")["expires"] == 3600


def test_timeout_is_a_failure_with_retry():
    env = Env('modparam("uac", "reg_retry_interval", 60)\nmodparam("tm", "fr_timer", 2000)')
    env.add()
    env.at(0)
    env.one()
    for s in (0.5, 1.5, 2.0, 2.1):
        env.at(s)
    rec = env.rec()
    assert rec["lc"] == 408 and rec["fl"] == 16
    assert rec["nx"] == pytest.approx(T0 / 1000 + 2.0 + 60, abs=0.2)


def test_second_challenge_and_realm_mismatch_fail():
    env = Env()
    env.add()
    env.at(0)
    env.answer(env.one(), 401, b"Unauthorized", CHALLENGE)
    env.answer(env.one(), 401, b"Unauthorized", CHALLENGE)
    assert env.rec()["fl"] == 17 and "rejected" in env.rec()["lr"]
    env.add(uuid="u2", ruser="acc2", realm="other.test")
    env.at(1)
    env.answer(env.one(), 401, b"Unauthorized", CHALLENGE)
    assert env.requests() == []
    assert env.rec("u2")["fl"] == 17 and env.rec("u2")["lc"] == 401


def test_ha1_and_proxy_challenge():
    env = Env()
    ha1 = digest.ha1("MD5", "acc1", "prov.test", "secret")
    env.add(password=".", ha1=ha1.upper())
    env.at(0)
    env.answer(env.one(), 407, b"Proxy Authentication Required",
               CHALLENGE.replace(b"WWW-Authenticate", b"Proxy-Authenticate"))
    req = env.one()
    creds = digest.parse_credentials(req.header("proxy-authorization"))
    assert digest.check_response(creds, "REGISTER", ha1)


def test_reg_delay_and_random_delay():
    env = Env('modparam("uac", "reg_random_delay", 50)')
    env.add(uuid="d1", delay=20)
    env.add(uuid="d2", ruser="x2")
    assert env.rec("d1")["dly"] == 20 and 0 <= env.rec("d2")["dly"] <= 50
    env.at(19.9)
    assert not any(r.header("contact").startswith(b"<sip:d1@") for r in env.requests())
    env.at(20)
    assert any(r.header("contact").startswith(b"<sip:d1@") for r in env.requests())
    assert R.reg_info(env.rt, "l_uuid", "d1")["reg_delay"] == 20


def test_expires_zero_and_db_flag_disabled_are_not_registered():
    env = Env()
    env.add(uuid="s1", expires=0)
    env.add(uuid="s2", ruser="b", flags=1)
    env.at(5)
    assert env.requests() == []
    assert env.rec("s2")["fl"] == 1


def test_reg_active_zero_then_on():
    env = Env('modparam("uac", "reg_active", 0)')
    env.add()
    env.at(1)
    assert env.requests() == [] and env.rec()["fl"] == 0
    assert R.reg_active(env.rt, 1) == {"omode": 0, "nmode": 1}
    env.at(1.1)
    assert len(env.requests()) == 1
    assert R.reg_active(env.rt, 0) == {"omode": 1, "nmode": 0}


def test_disable_enable_register_unregister():
    env = Env()
    env.add()
    env.at(0)
    register_ok(env, granted=600)
    R.reg_disable(env.rt, "l_uuid", "u1")
    assert env.rec()["fl"] == 21 and env.rec()["nx"] == 0
    env.at(700)
    assert env.requests() == []
    ctx = env.ctx()
    assert REG.uac_reg_status(ctx, "u1") == -3          # binding expired, disabled
    R.reg_enable(env.rt, "r_username", "acc1")
    env.at(700.01)
    assert len(env.requests()) == 1
    # unregister: Expires 0, then disabled and not registered
    env.add(uuid="u2", ruser="acc2")
    env.at(701)
    env.answer(env.one(), 200, contact_expires=600)
    assert REG.uac_reg_send_unregister(ctx, "l_uuid", "u2") == 1
    env.at(701.01)
    req = env.one()
    assert req.header("expires") == b"0"
    env.answer(req, 200)
    assert env.rec("u2")["fl"] == 17 and REG.uac_reg_status(ctx, "u2") == -3
    assert REG.uac_reg_send_register(ctx, "auth_username", "acc2") == 1
    env.at(701.02)
    assert env.one().header("expires") == b"3600"
    assert REG.uac_reg_send_register(ctx, "l_uuid", "nobody") == -2
    assert REG.uac_reg_enable(ctx, "bogus", "x") == -3


def test_lookup_functions_and_request_to():
    env = Env()
    env.add(uuid="u1", user="alice", ruser="acc1", realm="prov.test")
    ctx = env.ctx()
    dst = env.rt.script.registry
    from kampy.script.pvparse import parse_pv
    from kampy.script.ast import Pos

    def pv(text):
        return dst.resolve(parse_pv(text, 0, Pos("t", 1, 1))[0])
    assert REG.uac_reg_lookup(ctx, "u1", pv("$ru")) == 1
    assert ctx.msg.ruri_uri.user == b"alice" and bytes(ctx.msg.ruri_uri.host) == b"local.test"
    assert REG.uac_reg_lookup(ctx, "nope", pv("$ru")) == -1
    assert REG.uac_reg_lookup_uri(ctx, "sip:alice@anywhere", pv("$var(id)")) == 1
    assert env.rt.vars["id"] == "u1"
    assert REG.uac_reg_request_to(ctx, "u1", 0) == 1
    assert ctx.msg.ruri_uri.user == b"acc1" and ctx.du == PROXY
    assert (ctx.avps.get("arealm"), ctx.avps.get("auser"), ctx.avps.get("apass")) == \
        ("prov.test", "acc1", "secret")
    assert REG.uac_reg_request_to(ctx, "alice", 1) == 1
    assert REG.uac_reg_request_to(ctx, "alice", 0) == -1
    assert REG.uac_reg_request_to(ctx, "u1", 2) == 1 and ctx.avps.get("apass") == ""


def test_use_domain_lookup():
    env = Env('modparam("uac", "reg_use_domain", 1)')
    env.add()
    ctx = env.ctx()
    assert REG.uac_reg_lookup_uri(ctx, "sip:alice@other.test", _var(env, "x")) == -1
    assert REG.uac_reg_lookup_uri(ctx, "sip:alice@local.test", _var(env, "x")) == 1


def _var(env, name):
    from kampy.script.pvparse import parse_pv
    from kampy.script.ast import Pos
    return env.rt.script.registry.resolve(parse_pv("$var(%s)" % name, 0, Pos("t", 1, 1))[0])


def test_rpc_shapes_masking_and_faults():
    env = Env()
    env.add(password="topsecret")
    info = R.reg_info(env.rt, "l_uuid", "u1")
    assert list(info)[:18] == ["l_uuid", "l_username", "l_domain", "r_username", "r_domain", "realm",
                               "auth_username", "auth_password", "auth_ha1", "auth_proxy", "expires",
                               "flags", "diff_expires", "timer_expires", "reg_init", "reg_delay",
                               "contact_addr", "socket"]
    assert info["auth_password"] == "***" and info["auth_ha1"] == "none"
    assert "topsecret" not in repr(R.reg_dump(env.rt))
    assert info["contact_addr"] == "127.0.0.1:5060" and info["socket"] == ""
    with pytest.raises(RpcFault) as e:
        R.reg_info(env.rt, "l_domain", "x")
    assert (e.value.code, e.value.message) == (400, "Unsupported filter attribute")
    with pytest.raises(RpcFault) as e:
        R.reg_info(env.rt, "l_uuid", "x")
    assert (e.value.code, e.value.message) == (404, "Record not found")
    with pytest.raises(RpcFault) as e:
        env.add()
    assert (e.value.code, e.value.message) == (409, "uuid already exists")
    with pytest.raises(RpcFault) as e:
        R.reg_add(env.rt, "u5", "a", "b")
    assert e.value.code == 400
    with pytest.raises(RpcFault) as e:
        R.reg_refresh(env.rt, "u1")
    assert e.value.code == 500            # no reg_db_url
    R.reg_remove(env.rt, "u1")
    with pytest.raises(RpcFault) as e:
        R.reg_remove(env.rt, "u1")
    assert e.value.code == 404
    env.add(uuid=12345678)                # kampyctl sends digits as an int
    assert R.reg_info(env.rt, "l_uuid", 12345678)["l_uuid"] == "12345678"


def test_counters_from_record_states():
    env = Env('modparam("uac", "reg_retry_interval", 0)')
    env.add(uuid="a", ruser="a")
    env.add(uuid="b", ruser="b")
    env.add(uuid="c", ruser="c", flags=1)
    env.at(0)
    reqs = env.requests()
    by = {r.header("contact").split(b"@")[0][5:].decode(): r for r in reqs}
    env.answer(by["a"], 200, contact_expires=60)
    env.answer(by["b"], 403, b"Forbidden")
    c = env.rt.counters
    assert (c.get("uac:regtotal"), c.get("uac:regactive"), c.get("uac:regdisabled")) == (3, 1, 2)
    env.at(61)           # a's refresh went out but got no answer yet: its binding expired
    assert c.get("uac:regactive") == 0


def test_stale_reply_to_an_older_attempt_is_ignored():
    env = Env()
    env.add()
    env.at(0)
    first = env.one()
    R.reg_register(env.rt, "l_uuid", "u1")    # a new attempt supersedes the first
    env.at(0.01)
    second = env.one()
    env.answer(first, 200, contact_expires=999)
    assert env.rec()["fl"] & C.ONGOING and env.rec()["gx"] == 0
    env.answer(second, 200, contact_expires=111)
    assert env.rec()["gx"] == 111


def test_sweep_fails_a_stuck_attempt_and_rearms_idle_records():
    env = Env('modparam("uac", "reg_retry_interval", 5)')
    env.add()
    env.at(0)
    env.one()
    C.change(env.rt, "u1", lambda r: dict(r, ts=r["ts"] - C.STUCK_AFTER - 1))
    C.sweep(env.rt)
    assert env.rec()["lc"] == 408 and not env.rec()["fl"] & C.ONGOING
    C.change(env.rt, "u1", lambda r: dict(r, nx=0.0, g=r["g"] + 1))
    C.sweep(env.rt)
    env.at(1)
    assert len(env.requests()) == 1


def test_refresh_spread_keeps_records_apart():
    env = Env()
    delays = [C.refresh_delay(env.rt, 3600) for _ in range(200)]
    assert min(delays) >= 3600 - 60 - 540 and max(delays) <= 3600 - 60
    assert max(delays) - min(delays) > 300


def test_default_socket_must_be_ours():
    with pytest.raises(ValueError):
        Env('modparam("uac", "default_socket", "udp:10.9.9.9:5060")')


def test_window_limits_registrations_in_flight(monkeypatch):
    monkeypatch.setattr(C, "WINDOW", 2)
    env = Env()
    for i in range(5):
        env.add(uuid="w%d" % i, ruser="w%d" % i)
    env.at(0)
    first = env.requests()
    assert len(first) == 2                      # three wait in the timer process's queue
    env.answer(first[0], 200, contact_expires=600)
    REG.tick(env.rt)
    assert len(env.requests()) == 1
    env.answer(first[1], 403, b"Forbidden")    # a failure ends an attempt too
    REG.tick(env.rt)
    third = env.requests()
    assert len(third) == 1
    C.sweep(env.rt)                             # re-bases the count on ONGOING records
    REG.tick(env.rt)
    assert env.requests() == []
    env.answer(third[0], 200, contact_expires=600)
    REG.tick(env.rt)
    assert len(env.requests()) == 1


def test_socket_column_and_default_socket():
    env = Env('listen=udp:127.0.0.1:5062\nlisten=udp:127.0.0.1:5064\n'
              'modparam("uac", "default_socket", "udp:127.0.0.1:5064")')
    env.add(uuid="s1", socket="udp:127.0.0.1:5062")
    env.add(uuid="s2", ruser="b")
    env.at(0)
    by = {}
    for sock, _ip, _port, data in env.rt.transport.sent:
        by[parse(data).header("contact")[5:7].decode()] = (sock.port, parse(data).via.port)
    assert by == {"s1": (5062, 5062), "s2": (5064, 5064)}


ROUTE = """
$var(lookup) = uac_reg_lookup("$rU", "$avp(dst)");
$var(dst) = $avp(dst);
$var(status) = uac_reg_status("$rU");
$var(byuri) = uac_reg_lookup_uri("sip:alice@elsewhere", "$avp(id)");
$var(id) = $avp(id);
$var(reqto) = uac_reg_request_to("alice", 1);
$var(ru) = $ru;
$var(du) = $du;
$var(auser) = $avp(auser);
$var(dis) = uac_reg_disable("l_uuid", "u1");
$var(st2) = uac_reg_status("u1");
$var(en) = uac_reg_enable("r_username", "acc1");
$var(none) = uac_reg_send_unregister("l_uuid", "nobody");
$var(bad) = uac_reg_disable("realm", "x");
$var(refresh) = uac_reg_refresh("u1");
exit;
"""


def test_functions_from_a_compiled_route():
    env = Env(route=ROUTE)
    env.add(realm="prov.test")
    ctx = env.ctx()
    env.rt.run_request(ctx)
    v = env.rt.vars
    assert (v["lookup"], v["dst"], v["status"]) == (1, "sip:alice@local.test", -99)
    assert (v["byuri"], v["id"]) == (1, "u1")
    assert (v["reqto"], v["ru"], v["du"], v["auser"]) == (1, "sip:acc1@prov.test", PROXY, "acc1")
    assert (v["dis"], v["st2"], v["en"]) == (1, -3, 1)
    assert (v["none"], v["bad"], v["refresh"]) == (-2, -3, -1)
