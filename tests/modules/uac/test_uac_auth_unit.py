# SPDX-License-Identifier: GPL-2.0-or-later
"""uac_auth() in-process: compiled configs, a worker's receive path with a
recording transport; credentials checked with digest.check_response against
the known password, CSeq checked on both sides of the proxy."""

import logging

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import digest, parse
from kampy.worker import Receiver
from kampy.modules.uac import auth_cseq

CALLER = ("127.0.0.1", 5099)
CALLEE = ("127.0.0.1", 5071)

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "siputils.so"
loadmodule "textops.so"
DIALOG
loadmodule "uac.so"
modparam("rr", "append_fromtag", FTAG)
PARAMS
request_route {
    if (has_totag()) {
        if (loose_route()) { if (is_method("INVITE")) t_on_failure("AUTH"); t_relay(); exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) { t_relay(); exit; }
    MANAGE
    REQAVP
    record_route();
    t_on_failure("AUTH");
    t_relay("127.0.0.1", 5071);
}
failure_route[AUTH] {
    if (t_is_canceled()) exit;
    if (t_check_status("401|407")) {
        SETAVP
        if (AUTHCALL) { t_on_failure("AUTH"); t_relay("127.0.0.1", 5071); }
        exit;
    }
}
"""

SDP = b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"


def invite(cseq=7, body=b"", method=b"INVITE"):
    ctype = b"Content-Type: application/sdp\r\n" if body else b""
    return (method + b" sip:bob@127.0.0.1:5071 SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKinv%d;rport\r\n"
            b"From: <sip:alice@example.test>;tag=f1\r\nTo: <sip:bob@example.test>\r\nCall-ID: c1\r\n"
            b"CSeq: %d %s\r\nContact: <sip:alice@127.0.0.1:5099>\r\nMax-Forwards: 70\r\n%s"
            b"Content-Length: %d\r\n\r\n%s" % (cseq, cseq, method, ctype, len(body), body))


class Proxy:
    """A compiled config, its runtime and a receiver, with the caller and
    the callee on two loopback ports."""

    def __init__(self, params="", auth="uac_auth()", setavp="", dialog=False, ftag=1, reqavp="", rr=True):
        if not ftag:   # replace's default auto restore mode needs the ftag
            params += 'modparam("uac", "restore_mode", "none")\n'
        cfg = CFG.replace("PARAMS", params).replace("AUTHCALL", auth).replace("SETAVP", setavp)
        cfg = cfg.replace("REQAVP", reqavp).replace("record_route();", "record_route();" if rr else "")
        cfg = cfg.replace("DIALOG", 'loadmodule "dialog.so"' if dialog else "")
        cfg = cfg.replace("MANAGE", "dlg_manage();" if dialog else "").replace("FTAG", str(ftag))
        self.rt = Runtime(compile_text(cfg, "t.cfg"))
        self.rt.init_modules()
        self.rx = Receiver(self.rt)
        self.sock = self.rt.default_socket()

    def from_caller(self, data):
        self.rx.handle(data, CALLER, self.sock)

    def from_callee(self, data):
        self.rx.handle(data, CALLEE, self.sock)

    def to(self, who):
        return [d for _s, _ip, p, d in self.rt.transport.sent if p == who[1]]

    def last_request(self, method="INVITE"):
        reqs = [d for d in self.to(CALLEE) if d.startswith(method.encode() + b" ")]
        return parse(reqs[-1]) if reqs else None

    def last_reply(self):
        replies = [d for d in self.to(CALLER) if d.startswith(b"SIP/2.0") and not d.startswith(b"SIP/2.0 100")]
        return parse(replies[-1]) if replies else None

    def requests(self, method):
        return [parse(d) for d in self.to(CALLEE) if d.startswith(method.encode() + b" ")]


def reply_to(req, code, reason, tag=b"t2", extra=(), body=b""):
    lines = [b"SIP/2.0 %d %s" % (code, reason)]
    lines += [b"Via: " + v for v in req.headers("via")]
    lines += [b"Record-Route: " + v for v in req.headers("record-route")]
    lines += [b"From: " + req.header("from"), b"To: " + req.header("to") + (b";tag=" + tag if tag else b""),
              b"Call-ID: " + req.call_id, b"CSeq: %d %s" % (req.cseq.number, req.cseq.method.encode()),
              b"Contact: <sip:bob@127.0.0.1:5071>"]
    lines += list(extra)
    lines += [b"Content-Length: %d" % len(body), b"", b""]
    return b"\r\n".join(lines) + body


def challenge(code=407, realm="proxy.test", nonce="n1", qop="auth", algorithm="MD5", stale=False,
              opaque=None):
    name = b"Proxy-Authenticate" if code == 407 else b"WWW-Authenticate"
    return name + b": " + digest.format_challenge(realm, nonce, algorithm, qop, opaque, stale).encode()


def challenged(p, req, code=407, **kw):
    extra = kw.pop("extra", None) or [challenge(code, **kw)]
    p.from_callee(reply_to(req, code, b"Auth Required", tag=b"t%d" % req.cseq.number, extra=extra))


def creds_of(req, name="Proxy-Authorization"):
    return [digest.parse_credentials(v) for v in req.headers(name)]


def ok_for(cr, method, password, user="alice", body=b""):
    alg = cr.algorithm or "MD5"
    base = alg[:-5] if alg.endswith("-sess") else alg
    return digest.check_response(cr, method, digest.ha1(base, user, cr.realm, password), body)


CRED = 'modparam("uac", "credential", "alice:proxy.test:secret")\n'
TWO = CRED + 'modparam("uac", "credential", "carol:other.test:pw2")\n'
AVPS = ('modparam("uac", "auth_realm_avp", "$avp(arealm)")\n'
        'modparam("uac", "auth_username_avp", "$avp(auser)")\n'
        'modparam("uac", "auth_password_avp", "$avp(apass)")\n')


# --- credential selection -------------------------------------------------------------------

def test_credential_list_by_realm_cseq_raised_and_record_route_param():
    p = Proxy(TWO)
    p.from_caller(invite())
    first = p.last_request()
    assert first.cseq.number == 7 and not first.has("Proxy-Authorization")
    challenged(p, first, realm="other.test")
    second = p.last_request()
    assert second.cseq.number == 8 and second.branch != first.branch
    (cr,) = creds_of(second)
    assert (cr.username, cr.realm, cr.uri, cr.qop, cr.nc) == ("carol", "other.test", "sip:bob@127.0.0.1:5071",
                                                               "auth", "00000001")
    assert ok_for(cr, "INVITE", "pw2", "carol") and not ok_for(cr, "INVITE", "secret", "carol")
    assert second.header("Record-Route") == b"<sip:127.0.0.1;lr;ftag=f1;ucs=1>"
    p.from_callee(reply_to(second, 200, b"OK"))
    ok = p.last_reply()
    assert ok.status == 200 and ok.cseq.number == 7 and ok.cseq.method == "INVITE"


def test_avp_triple_with_its_realm():
    p = Proxy(AVPS + CRED, setavp='$avp(arealm) = "proxy.test"; $avp(auser) = "bob"; $avp(apass) = "avpw";')
    p.from_caller(invite())
    challenged(p, p.last_request())
    (cr,) = creds_of(p.last_request())
    assert cr.username == "bob" and ok_for(cr, "INVITE", "avpw", "bob")


def test_avp_triple_empty_realm_takes_the_challenge_realm():
    p = Proxy(AVPS, setavp='$avp(arealm) = ""; $avp(auser) = "bob"; $avp(apass) = "avpw";')
    p.from_caller(invite())
    challenged(p, p.last_request(), realm="anything.test")
    (cr,) = creds_of(p.last_request())
    assert (cr.username, cr.realm) == ("bob", "anything.test") and ok_for(cr, "INVITE", "avpw", "bob")


def test_avps_set_before_t_relay_travel_with_the_transaction():
    p = Proxy(AVPS, reqavp='$avp(arealm) = ""; $avp(auser) = "dave"; $avp(apass) = "dpw";')
    p.from_caller(invite())
    challenged(p, p.last_request())
    (cr,) = creds_of(p.last_request())
    assert cr.username == "dave" and ok_for(cr, "INVITE", "dpw", "dave")


def test_avp_triple_unset_and_no_list_fails():
    p = Proxy(AVPS)
    p.from_caller(invite())
    challenged(p, p.last_request())
    assert len(p.requests("INVITE")) == 1 and p.last_reply().status == 407


def test_avp_realm_mismatch_falls_back_to_the_credential_list():
    p = Proxy(AVPS + CRED, setavp='$avp(arealm) = "elsewhere"; $avp(auser) = "bob"; $avp(apass) = "avpw";')
    p.from_caller(invite())
    challenged(p, p.last_request())
    (cr,) = creds_of(p.last_request())
    assert cr.username == "alice" and ok_for(cr, "INVITE", "secret")


def test_no_credentials_for_the_realm_fails_and_the_challenge_goes_upstream(caplog):
    p = Proxy(CRED)
    p.from_caller(invite())
    with caplog.at_level(logging.WARNING, logger="kampy"):
        challenged(p, p.last_request(), realm="unknown.test")
    assert len(p.requests("INVITE")) == 1
    up = p.last_reply()
    assert up.status == 407 and up.cseq.number == 7
    assert "no credentials for realm 'unknown.test'" in caplog.text


# --- HA1 mode ---------------------------------------------------------------------------------

def test_ha1_mode_md5():
    ha1 = digest.ha1("MD5", "alice", "proxy.test", "secret")
    p = Proxy('modparam("uac", "credential", "alice:proxy.test:%s")\n' % ha1, auth="uac_auth(1)")
    p.from_caller(invite())
    challenged(p, p.last_request())
    (cr,) = creds_of(p.last_request())
    assert ok_for(cr, "INVITE", "secret")


def test_ha1_mode_picks_an_algorithm_of_the_ha1_length():
    ha1 = digest.ha1("SHA-256", "alice", "proxy.test", "secret")
    p = Proxy('modparam("uac", "credential", "alice:proxy.test:%s")\n' % ha1, auth="uac_auth_mode(1)")
    p.from_caller(invite())
    challenged(p, p.last_request(), extra=[challenge(algorithm="MD5"), challenge(algorithm="SHA-256")])
    (cr,) = creds_of(p.last_request())
    assert cr.algorithm == "SHA-256" and ok_for(cr, "INVITE", "secret")


def test_ha1_mode_with_a_password_that_is_not_hex_fails(caplog):
    p = Proxy(CRED, auth="uac_auth_mode(1)")
    p.from_caller(invite())
    with caplog.at_level(logging.ERROR, logger="kampy"):
        challenged(p, p.last_request())
    assert len(p.requests("INVITE")) == 1 and p.last_reply().status == 407
    assert "needs an HA1" in caplog.text


def test_ha1_mode_length_fits_no_algorithm(caplog):
    ha1 = digest.ha1("MD5", "alice", "proxy.test", "secret")
    p = Proxy('modparam("uac", "credential", "alice:proxy.test:%s")\n' % ha1, auth="uac_auth(1)")
    p.from_caller(invite())
    with caplog.at_level(logging.ERROR, logger="kampy"):
        challenged(p, p.last_request(), algorithm="SHA-256")
    assert len(p.requests("INVITE")) == 1
    assert "HA1 of 32 hex digits fits none" in caplog.text


# --- algorithms and qop -------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", digest.ALGORITHMS)
@pytest.mark.parametrize("qop", [None, "auth", "auth-int"])
def test_every_algorithm_and_qop(algorithm, qop):
    p = Proxy(CRED)
    p.from_caller(invite(body=SDP))
    challenged(p, p.last_request(), algorithm=algorithm, qop=qop, opaque="op1")
    req = p.last_request()
    (cr,) = creds_of(req)
    assert cr.algorithm == algorithm and cr.qop == qop and cr.opaque == "op1"
    assert ok_for(cr, "INVITE", "secret", body=req.body)
    assert not ok_for(cr, "INVITE", "wrong", body=req.body)
    if qop is not None:
        assert cr.nc == "00000001" and len(cr.cnonce) == 32
    if qop == "auth-int":
        assert not ok_for(cr, "INVITE", "secret", body=req.body + b"a=x\r\n")


def test_cnonce_is_random():
    cnonces = set()
    for _ in range(2):
        p = Proxy(CRED)
        p.from_caller(invite())
        challenged(p, p.last_request())
        cnonces.add(creds_of(p.last_request())[0].cnonce)
    assert len(cnonces) == 2


def test_401_gets_authorization():
    p = Proxy(CRED)
    p.from_caller(invite(method=b"MESSAGE", body=b"hello"))
    first = p.last_request("MESSAGE")
    challenged(p, first, code=401)
    second = p.last_request("MESSAGE")
    assert second.cseq.number == 8 and not second.has("Proxy-Authorization")
    (cr,) = creds_of(second, "Authorization")
    assert ok_for(cr, "MESSAGE", "secret")
    p.from_callee(reply_to(second, 200, b"OK", tag=b"m2"))
    ok = p.last_reply()
    assert ok.status == 200 and (ok.cseq.number, ok.cseq.method) == (7, "MESSAGE")


def test_strongest_of_several_challenges():
    p = Proxy(CRED)
    p.from_caller(invite())
    both = b"Proxy-Authenticate: " + b", ".join(
        digest.format_challenge("proxy.test", "n-" + a, a).encode() for a in ("MD5", "SHA-512-256-sess"))
    challenged(p, p.last_request(), extra=[challenge(algorithm="SHA-256", nonce="n-256"), both,
                                           challenge(algorithm="MD5-sess", nonce="n-ms")])
    (cr,) = creds_of(p.last_request())
    assert (cr.algorithm, cr.nonce) == ("SHA-512-256-sess", "n-SHA-512-256-sess")
    assert ok_for(cr, "INVITE", "secret")


def test_unsupported_algorithm_only_fails_with_a_log_line(caplog):
    p = Proxy(CRED)
    p.from_caller(invite())
    bad = [b'Proxy-Authenticate: Digest realm="proxy.test", nonce="x", algorithm=AKAv1-MD5',
           b'Proxy-Authenticate: Basic realm="proxy.test"']
    with caplog.at_level(logging.ERROR, logger="kampy"):
        challenged(p, p.last_request(), extra=bad)
    assert len(p.requests("INVITE")) == 1
    up = p.last_reply()
    assert up.status == 407 and up.cseq.number == 7
    assert "no challenge we can answer" in caplog.text and "AKAv1-MD5" in caplog.text


def test_reply_without_challenge_fails(caplog):
    p = Proxy(CRED)
    p.from_caller(invite())
    with caplog.at_level(logging.ERROR, logger="kampy"):
        p.from_callee(reply_to(p.last_request(), 407, b"Auth Required"))
    assert len(p.requests("INVITE")) == 1 and p.last_reply().status == 407
    assert "without a usable proxy-authenticate" in caplog.text


def test_not_allowed_in_request_route():
    cfg = CFG.replace("MANAGE", "uac_auth();")
    for k, v in (("PARAMS", CRED), ("AUTHCALL", "1"), ("SETAVP", ""), ("DIALOG", ""), ("FTAG", "1"),
                 ("REQAVP", "")):
        cfg = cfg.replace(k, v)
    with pytest.raises(ConfigErrors) as ei:
        compile_text(cfg, "t.cfg")
    assert "uac_auth" in str(ei.value)


# --- stale and repeated challenges ------------------------------------------------------------------

def test_stale_nonce_answered_once_more():
    p = Proxy(CRED)
    p.from_caller(invite())
    challenged(p, p.last_request(), nonce="old")
    second = p.last_request()
    challenged(p, second, nonce="fresh", stale=True)
    third = p.last_request()
    assert third.cseq.number == 9
    (cr,) = creds_of(third)
    assert (cr.nonce, cr.nc) == ("fresh", "00000001") and ok_for(cr, "INVITE", "secret")
    assert third.header("Record-Route") == b"<sip:127.0.0.1;lr;ftag=f1;ucs=2>"
    p.from_callee(reply_to(third, 200, b"OK"))
    assert (p.last_reply().status, p.last_reply().cseq.number) == (200, 7)


def test_second_stale_gives_up():
    p = Proxy(CRED)
    p.from_caller(invite())
    challenged(p, p.last_request(), nonce="a")
    challenged(p, p.last_request(), nonce="b", stale=True)
    challenged(p, p.last_request(), nonce="c", stale=True)
    assert len(p.requests("INVITE")) == 3
    up = p.last_reply()
    assert up.status == 407 and up.cseq.number == 7


def test_challenge_again_without_stale_means_refused(caplog):
    p = Proxy(CRED)
    p.from_caller(invite())
    challenged(p, p.last_request(), nonce="a")
    with caplog.at_level(logging.WARNING, logger="kampy"):
        challenged(p, p.last_request(), nonce="b")
    assert len(p.requests("INVITE")) == 2
    up = p.last_reply()
    assert up.status == 407 and up.cseq.number == 7
    assert "refused the credentials" in caplog.text


def test_proxy_then_registrar_add_up():
    p = Proxy(CRED + 'modparam("uac", "credential", "alice:registrar.test:regpw")\n')
    p.from_caller(invite())
    challenged(p, p.last_request(), realm="proxy.test", nonce="pn")
    second = p.last_request()
    challenged(p, second, code=401, realm="registrar.test", nonce="rn")
    third = p.last_request()
    assert third.cseq.number == 9
    (pa,) = creds_of(third)
    (wa,) = creds_of(third, "Authorization")
    assert (pa.realm, pa.nonce, pa.nc) == ("proxy.test", "pn", "00000002") and ok_for(pa, "INVITE", "secret")
    assert (wa.realm, wa.nonce, wa.nc) == ("registrar.test", "rn", "00000001") and ok_for(wa, "INVITE", "regpw")
    assert third.header("Record-Route") == b"<sip:127.0.0.1;lr;ftag=f1;ucs=2>"
    p.from_callee(reply_to(third, 180, b"Ringing"))
    assert (p.last_reply().status, p.last_reply().cseq.number) == (180, 7)
    p.from_callee(reply_to(third, 200, b"OK"))
    ok = p.last_reply()
    assert (ok.status, ok.cseq.number) == (200, 7)
    ack = (b"ACK sip:bob@127.0.0.1:5071 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKack\r\n"
           b"Route: " + ok.header("Record-Route") + b"\r\nFrom: <sip:alice@example.test>;tag=f1\r\n"
           b"To: <sip:bob@example.test>;tag=t2\r\nCall-ID: c1\r\nCSeq: 7 ACK\r\nMax-Forwards: 70\r\n"
           b"Content-Length: 0\r\n\r\n")
    p.from_caller(ack)
    assert p.last_request("ACK").cseq.number == 9


# --- the rest of the call ------------------------------------------------------------------------

def in_dialog(method, cseq, route, from_caller=True, branch=b"z9hG4bKs1", body=b""):
    if from_caller:
        ruri, frm, to = b"sip:bob@127.0.0.1:5071", b"<sip:alice@example.test>;tag=f1", b"<sip:bob@example.test>;tag=t2"
        via = b"127.0.0.1:5099"
    else:
        ruri, frm, to = b"sip:alice@127.0.0.1:5099", b"<sip:bob@example.test>;tag=t2", b"<sip:alice@example.test>;tag=f1"
        via = b"127.0.0.1:5071"
    return (method + b" " + ruri + b" SIP/2.0\r\nVia: SIP/2.0/UDP " + via + b";branch=" + branch + b"\r\n"
            + (b"Route: " + route + b"\r\n" if route else b"") + b"From: " + frm + b"\r\nTo: " + to
            + b"\r\nCall-ID: c1\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: %d\r\n\r\n"
            % (cseq, method, len(body)) + body)


def established(p, code=407):
    """INVITE, challenge, authenticated INVITE answered 200: the caller's 200."""
    p.from_caller(invite())
    challenged(p, p.last_request(), code=code)
    p.from_callee(reply_to(p.last_request(), 200, b"OK"))
    ok = p.last_reply()
    assert (ok.status, ok.cseq.number) == (200, 7)
    return ok


def test_caller_ack_bye_reinvite_shifted_and_replies_restored():
    p = Proxy(CRED)
    ok = established(p)
    route = ok.header("Record-Route")
    assert b"ucs=1" in route
    p.from_caller(in_dialog(b"ACK", 7, route))
    ack = p.last_request("ACK")
    assert ack.cseq.number == 8 and ack.cseq.method == "ACK"
    p.from_caller(in_dialog(b"INVITE", 8, route, branch=b"z9hG4bKre", body=SDP))
    re = p.last_request()
    assert re.cseq.number == 9 and re.has("to") and re.to_tag == b"t2"
    p.from_callee(reply_to(re, 200, b"OK", tag=None))
    assert (p.last_reply().status, p.last_reply().cseq.number, p.last_reply().cseq.method) == (200, 8, "INVITE")
    p.from_caller(in_dialog(b"ACK", 8, route, branch=b"z9hG4bKra"))
    assert p.last_request("ACK").cseq.number == 9
    p.from_caller(in_dialog(b"BYE", 9, route, branch=b"z9hG4bKby"))
    bye = p.last_request("BYE")
    assert bye.cseq.number == 10
    p.from_callee(reply_to(bye, 200, b"OK", tag=None))
    assert (p.last_reply().cseq.number, p.last_reply().cseq.method) == (9, "BYE")


def test_callee_requests_and_their_replies_are_not_shifted():
    p = Proxy(CRED)
    route = established(p).header("Record-Route")
    p.from_callee(in_dialog(b"BYE", 1, route, from_caller=False, branch=b"z9hG4bKcb"))
    bye = [parse(d) for d in p.to(CALLER) if d.startswith(b"BYE ")][-1]
    assert bye.cseq.number == 1
    reply = reply_to(bye, 200, b"OK", tag=None)
    p.rx.handle(reply, CALLER, p.sock)
    back = [parse(d) for d in p.to(CALLEE) if d.startswith(b"SIP/2.0 200")][-1]
    assert back.cseq.number == 1 and back.cseq.method == "BYE"


def test_cancel_matches_the_resent_invite_and_487_gets_the_callers_cseq():
    p = Proxy(CRED)
    p.from_caller(invite())
    challenged(p, p.last_request())
    second = p.last_request()
    p.from_callee(reply_to(second, 180, b"Ringing"))
    assert (p.last_reply().status, p.last_reply().cseq.number) == (180, 7)
    cancel = invite().replace(b"INVITE sip", b"CANCEL sip").replace(b"CSeq: 7 INVITE", b"CSeq: 7 CANCEL")
    p.from_caller(cancel)
    sent = p.last_request("CANCEL")
    assert sent.cseq.number == 8 and sent.cseq.method == "CANCEL" and sent.branch == second.branch
    p.from_callee(reply_to(second, 487, b"Request Terminated"))
    final = p.last_reply()
    assert (final.status, final.cseq.number) == (487, 7)
    ack = p.last_request("ACK")
    assert ack.cseq.number == 8 and ack.branch == second.branch


def test_double_record_route_gets_the_param_on_both():
    p = Proxy(CRED + 'modparam("rr", "enable_double_rr", 2)\n')
    p.from_caller(invite())
    challenged(p, p.last_request())
    rrs = p.last_request().headers("Record-Route")
    assert len(rrs) == 2 and all(v.endswith(b";ucs=1>") for v in rrs)
    assert rrs[0].count(b"ucs=") == 1


def test_without_ftag_and_dialog_the_direction_is_unknown_and_nothing_shifted(caplog):
    p = Proxy(CRED, ftag=0)
    route = established(p).header("Record-Route")
    assert b"ftag" not in route and b"ucs=1" in route
    auth_cseq._WARNED.discard("dir")
    with caplog.at_level(logging.WARNING, logger="kampy"):
        p.from_caller(in_dialog(b"BYE", 8, route))
    assert p.last_request("BYE").cseq.number == 8
    assert "cannot tell the direction" in caplog.text


def test_no_record_route_and_no_dialog_warns(caplog):
    p = Proxy(CRED, rr=False)
    p.from_caller(invite())
    with caplog.at_level(logging.WARNING, logger="kampy"):
        challenged(p, p.last_request())
    assert p.last_request().cseq.number == 8 and not p.last_request().has("Record-Route")
    assert "neither a dialog nor our Record-Route keeps the shift" in caplog.text


# --- with the dialog module -----------------------------------------------------------------------

def test_dialog_var_shift_after_a_challenged_reinvite():
    """A confirmed dialog; the caller's re-INVITE is challenged: the shift
    goes to the dialog and the caller's BYE follows it (direction from the
    dialog, no ftag)."""
    p = Proxy(CRED, dialog=True, ftag=0)
    p.from_caller(invite())
    p.from_callee(reply_to(p.last_request(), 200, b"OK"))
    route = p.last_reply().header("Record-Route")
    assert b"did=" in route and b"ucs" not in route
    p.from_caller(in_dialog(b"ACK", 7, route, branch=b"z9hG4bKa1"))
    assert p.last_request("ACK").cseq.number == 7
    p.from_caller(in_dialog(b"INVITE", 8, route, branch=b"z9hG4bKre"))
    re = p.last_request()
    challenged(p, re)
    re2 = p.last_request()
    assert re2.cseq.number == 9 and creds_of(re2)
    dlg = [v for k, v in p.rt.tables["dialog"].items() if k.startswith("d:")][0]
    assert dlg["v"]["_uac_cseq"] == "1"
    p.from_callee(reply_to(re2, 200, b"OK", tag=None))
    assert (p.last_reply().status, p.last_reply().cseq.number) == (200, 8)
    p.from_caller(in_dialog(b"BYE", 9, route, branch=b"z9hG4bKby"))
    bye = p.last_request("BYE")
    assert bye.cseq.number == 10
    p.from_callee(reply_to(bye, 200, b"OK", tag=None))
    assert (p.last_reply().cseq.number, p.last_reply().cseq.method) == (9, "BYE")


def test_dialog_mode_call_stays_consistent():
    p = Proxy(CRED, dialog=True)
    route = established(p).header("Record-Route")
    p.from_caller(in_dialog(b"ACK", 7, route))
    assert p.last_request("ACK").cseq.number == 8
    p.from_caller(in_dialog(b"BYE", 8, route, branch=b"z9hG4bKby"))
    bye = p.last_request("BYE")
    assert bye.cseq.number == 9
    p.from_callee(reply_to(bye, 200, b"OK", tag=None))
    assert p.last_reply().cseq.number == 8


def test_dialog_mode_keeps_the_shift_in_the_dialog_not_the_record_route():
    p = Proxy(CRED, dialog=True)
    route = established(p).header("Record-Route")
    assert b"ucs" not in route
    dlg = [v for k, v in p.rt.tables["dialog"].items() if k.startswith("d:")][0]
    assert dlg["v"]["_uac_cseq"] == "1" and dlg["st"] in (3, 4)


# --- startup errors ----------------------------------------------------------------------------------

def _cfg(params, fn="uac_auth()"):
    cfg = CFG
    for k, v in (("PARAMS", params), ("AUTHCALL", fn), ("SETAVP", ""), ("DIALOG", ""), ("MANAGE", ""),
                 ("FTAG", "1"), ("REQAVP", "")):
        cfg = cfg.replace(k, v)
    return cfg


def test_incomplete_avp_triple_is_a_startup_error():
    params = ('modparam("uac", "auth_realm_avp", "$avp(r)")\n'
              'modparam("uac", "auth_username_avp", "$avp(u)")\n')
    with pytest.raises(ConfigErrors) as ei:
        compile_text(_cfg(params), "t.cfg")
    assert "t.cfg:" in str(ei.value) and "auth_password_avp not set" in str(ei.value)
    rt = Runtime(compile_text(_cfg(params, fn="1"), "t.cfg"))
    with pytest.raises(ValueError, match="auth_password_avp not set"):
        rt.init_modules()


def test_malformed_credential_names_the_value():
    params = CRED + 'modparam("uac", "credential", "bob:nopassword")\n'
    with pytest.raises(ConfigErrors) as ei:
        compile_text(_cfg(params), "t.cfg")
    assert "'bob:nopassword' is not user:realm:password" in str(ei.value)
    # reported at the modparam line, whether uac_auth() is used or not
    with pytest.raises(ConfigErrors) as ei:
        compile_text(_cfg(params, fn="1"), "t.cfg")
    assert "modparam uac.credential: credential 'bob:nopassword'" in str(ei.value)


def test_avp_param_that_is_not_a_pv_is_a_startup_error():
    params = AVPS.replace("$avp(auser)", "auser")
    rt = Runtime(compile_text(_cfg(params), "t.cfg"))
    with pytest.raises(ValueError, match="auth_username_avp 'auser'"):
        rt.init_modules()


# --- helpers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("uri, want", [
    (b"sip:10.0.0.1;lr", b"sip:10.0.0.1;lr;ucs=3"),
    (b"sip:10.0.0.1:5080;lr;ucs=1;ftag=x", b"sip:10.0.0.1:5080;lr;ftag=x;ucs=3"),
    (b"sip:10.0.0.1", b"sip:10.0.0.1;ucs=3"),
    (b"sip:u;x=1@10.0.0.1;lr", b"sip:u;x=1@10.0.0.1;lr;ucs=3"),
])
def test_with_uri_param(uri, want):
    assert auth_cseq.with_uri_param(uri, b"ucs", b"3") == want
