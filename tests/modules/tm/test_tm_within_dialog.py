# SPDX-License-Identifier: GPL-2.0-or-later
"""tm's API for requests within a dialog (RFC 3261 §12.2.1.1): route set,
loose and strict routing, and our ACK to a 2xx of an INVITE we sent."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

from kampy.modules.tm.local import dialog_target

CFG = 'listen=udp:127.0.0.1:5060\nloadmodule "tm.so"\nloadmodule "sl.so"\nrequest_route { exit; }\n'
GOT = []


def cb(rt, tid, reply, code, data):
    GOT.append((code, data))


def setup():
    GOT.clear()
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    api = rt.api("tm")
    api.register_callback("test.dlg", cb)
    return rt, api, Receiver(rt)


def in_dialog(api, route_set, **kw):
    return api.send_request("BYE", "sip:bob@192.0.2.7:5090;transport=udp", "sip:alice@a.example",
                            "sip:bob@b.example", from_tag="ft1", to_tag="tt1", call_id="cid-1", cseq=5,
                            route_set=route_set, callback="test.dlg", data="x", **kw)


def test_dialog_target_rules():
    assert dialog_target("sip:t@h", []) == (b"sip:t@h", [], b"sip:t@h")
    assert dialog_target("sip:t@h", ["sip:p1;lr", "<sip:p2;lr>"]) == (
        b"sip:t@h", [b"<sip:p1;lr>", b"<sip:p2;lr>"], b"sip:p1;lr")
    # strict first route: it becomes the R-URI (no method param, no headers), the target goes last
    assert dialog_target(b"sip:t@h", [b"<sip:p1;method=INVITE;maddr=10.0.0.1?X=y>", b"<sip:p2;lr>"]) == (
        b"sip:p1;maddr=10.0.0.1", [b"<sip:p2;lr>", b"<sip:t@h>"], b"sip:p1;maddr=10.0.0.1")


def test_loose_route_set_goes_to_first_route_with_route_headers():
    rt, api, rx = setup()
    tid = in_dialog(api, ["<sip:127.0.0.1:5071;lr;did=1.2>", "<sip:127.0.0.1:5072;lr>"])
    assert tid
    _sock, ip, port, data = rt.transport.sent[-1]
    assert (ip, port) == ("127.0.0.1", 5071)
    m = parse(data)
    assert m.ruri == b"sip:bob@192.0.2.7:5090;transport=udp"
    assert m.headers("route") == [b"<sip:127.0.0.1:5071;lr;did=1.2>", b"<sip:127.0.0.1:5072;lr>"]
    assert m.from_tag == b"ft1" and m.to_tag == b"tt1" and m.call_id == b"cid-1"
    assert m.cseq.number == 5 and m.cseq.method == "BYE"


def test_strict_route_set_and_empty_route_set():
    rt, api, rx = setup()
    in_dialog(api, ["<sip:127.0.0.1:5073>", "<sip:p2.example;lr>"])
    _s, ip, port, data = rt.transport.sent[-1]
    m = parse(data)
    assert (ip, port) == ("127.0.0.1", 5073) and m.ruri == b"sip:127.0.0.1:5073"
    assert m.headers("route") == [b"<sip:p2.example;lr>", b"<sip:bob@192.0.2.7:5090;transport=udp>"]
    in_dialog(api, [])
    _s, ip, port, data = rt.transport.sent[-1]
    assert (ip, port) == ("192.0.2.7", 5090) and not parse(data).has("route")


def test_reply_reaches_callback_and_next_hop_override():
    rt, api, rx = setup()
    in_dialog(api, ["<sip:127.0.0.1:5071;lr>"], next_hop="sip:127.0.0.1:5999")
    sock, ip, port, data = rt.transport.sent[-1]
    assert port == 5999
    req = parse(data)
    reply = (b"SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: cid-1\r\nCSeq: 5 BYE\r\n"
             b"Content-Length: 0\r\n\r\n" % (req.header("via"), req.header("from"), req.header("to")))
    rx.handle(reply, ("127.0.0.1", 5999), sock)
    assert GOT == [(200, "x")]


def test_2xx_to_our_invite_is_acked_along_its_record_route():
    rt, api, rx = setup()
    api.send_request("INVITE", "sip:bob@127.0.0.1:5080", "sip:alice@a.example", "sip:bob@b.example",
                     callback="test.dlg", data=1)
    sock, _ip, _port, data = rt.transport.sent[-1]
    inv = parse(data)
    ok = (b"SIP/2.0 200 OK\r\nVia: %s\r\nRecord-Route: <sip:127.0.0.1:5082;lr>, <sip:127.0.0.1:5081;lr>\r\n"
          b"From: %s\r\nTo: %s;tag=callee\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"
          b"Contact: <sip:bob@127.0.0.1:5085>\r\nContent-Length: 0\r\n\r\n"
          % (inv.header("via"), inv.header("from"), inv.header("to"), inv.call_id, inv.cseq.number))
    rx.handle(ok, ("127.0.0.1", 5080), sock)
    assert GOT == [(200, 1)]
    _s, ip, port, ack_raw = rt.transport.sent[-1]
    ack = parse(ack_raw)
    assert (ip, port) == ("127.0.0.1", 5081)           # the route set is the Record-Route reversed
    assert ack.method == "ACK" and ack.ruri == b"sip:bob@127.0.0.1:5085"
    assert ack.headers("route") == [b"<sip:127.0.0.1:5081;lr>", b"<sip:127.0.0.1:5082;lr>"]
    assert ack.to_tag == b"callee" and ack.cseq.number == inv.cseq.number and ack.branch != inv.branch
    rx.handle(ok, ("127.0.0.1", 5080), sock)             # a 2xx retransmission: ACKed again
    assert parse(rt.transport.sent[-1][3]).method == "ACK" and GOT == [(200, 1)]
