# SPDX-License-Identifier: GPL-2.0-or-later
"""Language pieces Kamailio has and kampy lacked: octal and binary numbers,
address masks, modparam order, the core send(), UDP-only refusals, and
onsend_route with $snd."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse

HEAD = """#!KAMAILIO
listen=udp:127.0.0.1:5060 name "main"
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "textopsx.so"
"""

INVITE = (
    b"INVITE sip:bob@127.0.0.1:5099 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK1;rport\r\n"
    b"From: <sip:alice@example.com>;tag=f1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1@10.1.2.3\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def compiled(text):
    return compile_text(text, "t.cfg")


def run(body, extra="", src=("10.1.2.3", 5060), msg=INVITE):
    rt = Runtime(compiled(HEAD + extra + "\nrequest_route {\n" + body + "\n}\n"))
    ctx = rt.new_context(parse(msg), *src)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def errors_of(text):
    with pytest.raises(ConfigErrors) as ei:
        compiled(text)
    return [str(e) for e in ei.value.errors]


# --- numbers --------------------------------------------------------------------------------

def test_octal_hex_binary_and_decimal_literals():
    rt, _ctx, _rc = run("$var(o) = 0755; $var(z) = 0; $var(h) = 0x1F; $var(b) = 101b;"
                        " $var(d) = 10; $var(s) = 010 + 1;")
    assert rt.vars == {"o": 493, "z": 0, "h": 31, "b": 5, "d": 10, "s": 9}


def test_a_number_glued_to_letters_is_an_error_with_its_position():
    errs = errors_of(HEAD + "request_route {\n    $var(x) = 08;\n}\n")
    assert errs == ["t.cfg:7:15: bad number '08' (a leading 0 means octal; letters are not digits)"]


def test_octal_modparam_integer_and_string_parameters():
    script = compiled(HEAD + 'loadmodule "maxfwd.so"\nloadmodule "ctl.so"\n'
                      'modparam("maxfwd", "max_limit", 010)\nmodparam("ctl", "mode", 0640)\n'
                      "request_route { }\n")
    assert script.modules["maxfwd"].params.max_limit == 8       # an integer: the octal value
    assert script.modules["ctl"].params.mode == 0o640           # a string: the digits as written


# --- address masks --------------------------------------------------------------------------

@pytest.mark.parametrize("cond, src, expect", [
    ("src_ip == 10.0.0.0/8", "10.1.2.3", True),
    ("src_ip == 10.0.0.0/8", "11.1.2.3", False),
    ("src_ip == 10.1.0.0/255.255.0.0", "10.1.2.3", True),
    ("src_ip == 10.1.0.0/255.255.0.0", "10.2.2.3", False),
    ("src_ip != 192.168.0.0/255.255.0.0", "10.1.2.3", True),
    ("src_ip == 10.1.2.3", "10.1.2.3", True),
    ("dst_ip == 127.0.0.0/255.0.0.0", "10.1.2.3", True),
    ("dst_ip == 127.0.0.0/8 && src_ip == 10.0.0.0/255.0.0.0", "10.1.2.3", True),
])
def test_address_masks(cond, src, expect):
    rt, _ctx, _rc = run("if (%s) { $var(r) = 1; } else { $var(r) = 0; }" % cond, src=(src, 5060))
    assert rt.vars["r"] == (1 if expect else 0)


# --- modparam order ----------------------------------------------------------------------------

def test_modparam_before_its_loadmodule_is_an_error_at_the_modparam():
    errs = errors_of('#!KAMAILIO\nmodparam("maxfwd", "max_limit", 20)\n'
                     'loadmodule "maxfwd.so"\nrequest_route { }\n')
    assert errs == ["t.cfg:2:1: modparam for module 'maxfwd' before its loadmodule (t.cfg:3): "
                    "Kamailio cannot set a parameter of a module not loaded yet"]


def test_modparam_after_its_loadmodule_is_fine_wherever_the_file_puts_them():
    script = compiled('#!KAMAILIO\nloadmodule "sl.so"\nloadmodule "maxfwd.so"\n'
                      'modparam("maxfwd", "max_limit", 20)\nrequest_route { }\n')
    assert script.modules["maxfwd"].params.max_limit == 20


# --- send() ----------------------------------------------------------------------------------------

def test_send_without_destination_sends_the_request_as_received_to_the_ruri():
    rt, _ctx, rc = run('append_hf("X-Not-Applied: 1\\r\\n"); send();', extra='loadmodule "textops.so"\n')
    assert rc == 1
    ((sock, ip, port, data),) = rt.transport.sent
    assert (ip, port, str(sock)) == ("127.0.0.1", 5099, "udp:127.0.0.1:5060")
    assert data == INVITE        # no Via added, the edit not applied


def test_send_goes_to_du_and_applies_changes_made_with_msg_apply_changes():
    rt, _ctx, _rc = run('append_hf("X-Applied: 1\\r\\n"); msg_apply_changes();'
                        '$du = "sip:127.0.0.1:5097"; send();', extra='loadmodule "textops.so"\n')
    ((_sock, ip, port, data),) = rt.transport.sent
    assert (ip, port) == ("127.0.0.1", 5097)
    assert b"X-Applied: 1\r\n" in data and data.count(b"Via:") == 1


@pytest.mark.parametrize("call, dest", [
    ('send("udp:127.0.0.1:5091")', ("127.0.0.1", 5091)),
    ('send("127.0.0.1:5092")', ("127.0.0.1", 5092)),
    ('send("127.0.0.1")', ("127.0.0.1", 5060)),
    ('send("sip:127.0.0.1:5093;transport=udp")', ("127.0.0.1", 5093)),
    ('send("127.0.0.1", 5094)', ("127.0.0.1", 5094)),
    ('send_udp("127.0.0.1:5095")', ("127.0.0.1", 5095)),
])
def test_send_destinations(call, dest):
    rt, _ctx, _rc = run(call + ";")
    assert [(ip, port) for _s, ip, port, _d in rt.transport.sent] == [dest]


def test_send_to_a_tcp_destination_fails_and_sends_nothing():
    rt, _ctx, _rc = run('if (send("tcp:127.0.0.1:5090")) { $var(r) = 1; } else { $var(r) = -1; }')
    assert rt.vars["r"] == -1 and rt.transport.sent == []


@pytest.mark.parametrize("fn", ["send_tcp", "forward_tcp", "forward_tls", "forward_sctp"])
def test_tcp_and_tls_sending_is_refused_at_startup(fn):
    errs = errors_of(HEAD + 'request_route {\n  %s("127.0.0.1");\n}\n' % fn)
    assert errs == ["t.cfg:7:3: function '%s' is not supported by kampy: kampy sends over UDP only" % fn]


# --- onsend_route, $snd -----------------------------------------------------------------------------

ONSEND = """
onsend_route {
    $var(to) = $snd(ip) + ":" + $snd(port);
    $var(from) = $sndfrom(ip) + ":" + $sndfrom(port);
    $var(len) = $snd(len);
    $var(af) = $snd(af);
    $var(proto) = $snd(proto);
    if ($snd(buf) =~ "^INVITE sip:bob@") { $var(buf) = 1; }
    if ($var(drop) == 1) { drop; }
}
"""


def test_onsend_route_sees_the_send_in_progress():
    rt, ctx, _rc = run("$var(outside) = $snd(ip); send();", extra=ONSEND)
    v = rt.vars
    assert v["outside"] == 0      # $null outside onsend_route ($var keeps 0 for it)
    assert v["to"] == "127.0.0.1:5099" and v["from"] == "127.0.0.1:5060"
    assert v["len"] == len(INVITE) and v["af"] == 2 and v["proto"] == 1 and v["buf"] == 1
    assert len(rt.transport.sent) == 1 and ctx.event is None


def test_drop_in_onsend_route_stops_the_send_only():
    rt, _ctx, rc = run("$var(drop) = 1; send(); $var(after) = 1;", extra=ONSEND)
    assert rt.transport.sent == [] and rt.vars["after"] == 1 and rc == 1


def test_forward_runs_onsend_route_with_the_forwarded_bytes():
    rt, _ctx, _rc = run("forward();", extra=ONSEND)
    ((_s, _ip, _port, data),) = rt.transport.sent
    assert rt.vars["len"] == len(data) and data.count(b"Via:") == 2
