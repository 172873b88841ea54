# SPDX-License-Identifier: GPL-2.0-or-later
"""send_reply() inside a transaction goes through tm's API: what
append_to_reply() added must still be in the reply."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse

CFG = '''listen=udp:127.0.0.1:5060
loadmodule "tm"
loadmodule "sl"
loadmodule "textops"
request_route { t_newtran(); append_to_reply("X-Test: yes\\r\\n"); send_reply("404", "Nope"); }
'''

REQ = (b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKx1\r\n"
       b"From: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
       b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def test_sl_reply_with_a_transaction_keeps_appended_headers():
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    rt.run_request(rt.new_context(parse(REQ), "192.0.2.1", 5062))
    reply = parse(rt.transport.sent[-1][3])
    assert reply.status == 404 and reply.header("x-test") == b"yes"
    assert rt.counters.get("tm:local_replies") == 1       # sent by tm, not by sl
