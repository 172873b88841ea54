# SPDX-License-Identifier: GPL-2.0-or-later
"""onsend_route runs for every branch t_relay() sends; drop there keeps that
branch from going out (it ends by its fr timer)."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse

CFG = '''listen=udp:127.0.0.1:5060
loadmodule "tm"
loadmodule "sl"
loadmodule "xlog"
request_route {
    append_branch("sip:carol@127.0.0.1:5090");
    t_relay();
}
onsend_route {
    $var(seen) = $var(seen) + 1;
    if ($snd(port) == 5090) { drop; }
}
'''

REQ = (b"MESSAGE sip:bob@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKx1\r\n"
       b"From: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\n"
       b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def test_onsend_route_sees_each_branch_and_can_drop_one():
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    rt.vars["seen"] = 0
    rt.run_request(rt.new_context(parse(REQ), "192.0.2.1", 5062))
    assert rt.vars["seen"] == 2
    sent = [(s[1], s[2]) for s in rt.transport.sent]
    assert sent == [("127.0.0.1", 5080)]
    assert parse(rt.transport.sent[0][3]).method == "MESSAGE"
