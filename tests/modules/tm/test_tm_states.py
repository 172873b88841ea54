# SPDX-License-Identifier: GPL-2.0-or-later
"""tm driven by the RFC 3261 §17 tables of fsm.py: the states a record holds
after each event (by the RFC's names), and the behaviour the tables decide —
what is absorbed, resent, ACKed, CANCELed, and when Timers G, H and C end
things.  In-process, a recording transport and LocalTimers' explicit clock."""

import msgpack
import pytest

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

from modules.tm import fsm as F
from test_tm_worker import INVITE, reply_to, sent_to

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
request_route {
    t_relay("127.0.0.1", 5071);
}
"""

MESSAGE = (b"MESSAGE sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKmsg1;rport\r\n"
           b"From: <sip:a@x>;tag=f1\r\nTo: <sip:bob@y>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
           b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
ACK = (b"ACK sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
       b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKinv1;rport\r\n"
       b"From: <sip:a@x>;tag=f1\r\nTo: <sip:bob@y>;tag=t1\r\nCall-ID: c1\r\nCSeq: 1 ACK\r\n"
       b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
CANCEL = INVITE.replace(b"INVITE sip", b"CANCEL sip").replace(b"CSeq: 1 INVITE", b"CSeq: 1 CANCEL")
UP, DOWN = ("127.0.0.1", 5099), ("127.0.0.1", 5071)


@pytest.fixture
def px():
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    rx = Receiver(rt)
    sock = rt.default_socket()

    def feed(data, src):
        rx.handle(data, src, sock)

    def at(ms):
        rt.timers.now_ms = ms
        rt.fire_timers()
    return rt, feed, at


def record(rt):
    recs = [r for k, r in rt.tables["tm"].items() if str(k).startswith("t:")]
    assert len(recs) <= 1
    return recs[0] if recs else None


def upstream(rt):
    return [parse(d).status for d in sent_to(rt, 5099)]


def test_invite_states_by_the_rfc_names(px):
    rt, feed, _at = px
    feed(INVITE, UP)
    rec = record(rt)
    assert (rec["ss"], rec["b"][0]["s"]) == ("Proceeding", "Calling")
    out = sent_to(rt, 5071)[0]
    feed(reply_to(out, 180, b"Ringing"), DOWN)
    assert (record(rt)["ss"], record(rt)["b"][0]["s"]) == ("Proceeding", "Proceeding")
    feed(reply_to(out, 200, b"OK"), DOWN)
    assert (record(rt)["ss"], record(rt)["b"][0]["s"]) == ("Accepted", "Accepted")
    assert upstream(rt) == [100, 180, 200]
    # RFC 6026 §8.7: the INVITE again after the 2xx is absorbed (the callee
    # retransmits its 2xx itself); the 2xx again is relayed (§16.7 step 5)
    feed(INVITE, UP)
    assert upstream(rt) == [100, 180, 200]
    feed(reply_to(out, 200, b"OK"), DOWN)
    assert upstream(rt) == [100, 180, 200, 200]


def test_non_invite_trying_absorbs_then_completed_resends(px):
    rt, feed, _at = px
    feed(MESSAGE, UP)
    assert (record(rt)["ss"], record(rt)["b"][0]["s"]) == ("Trying", "Trying")
    feed(MESSAGE, UP)                       # NIST Trying: absorbed, nothing upstream
    assert upstream(rt) == [] and len(sent_to(rt, 5071)) == 1
    out = sent_to(rt, 5071)[0]
    feed(reply_to(out, 202, b"Accepted"), DOWN)
    assert (record(rt)["ss"], record(rt)["b"][0]["s"]) == ("Completed", "Completed")
    feed(MESSAGE, UP)                       # NIST Completed: the final again
    assert upstream(rt) == [202, 202]
    feed(reply_to(out, 202, b"Accepted"), DOWN)   # NICT Completed absorbs a repeat
    assert upstream(rt) == [202, 202]


def test_negative_final_timer_g_until_the_ack(px):
    rt, feed, at = px
    feed(INVITE, UP)
    out = sent_to(rt, 5071)[0]
    feed(reply_to(out, 486, b"Busy Here"), DOWN)
    assert sent_to(rt, 5071)[-1].startswith(b"ACK ")     # ICT Completed: our ACK
    assert record(rt)["b"][0]["s"] == "Completed" and record(rt)["ss"] == "Completed"
    assert upstream(rt) == [100, 486]
    at(500)
    at(1500)                                # Timer G: 500 ms, then 1 s
    assert upstream(rt) == [100, 486, 486, 486]
    feed(reply_to(out, 486, b"Busy Here"), DOWN)          # the 486 again: ACKed again, not relayed
    assert sum(1 for d in sent_to(rt, 5071) if d.startswith(b"ACK ")) == 2
    assert upstream(rt) == [100, 486, 486, 486]
    feed(ACK, UP)
    assert record(rt)["ss"] == "Confirmed"
    at(3500)
    at(7500)                                # G no longer runs in Confirmed
    assert upstream(rt) == [100, 486, 486, 486]
    at(1500 + 5000 + 1)                     # wt_timer after the ACK (Timer I): gone
    assert record(rt) is None


def test_timer_h_ends_a_negative_final_nobody_acks(px):
    rt, feed, at = px
    feed(INVITE, UP)
    feed(reply_to(sent_to(rt, 5071)[0], 404, b"Not Found"), DOWN)
    for ms in range(500, 32000, 500):
        at(ms)
    assert record(rt) is not None and record(rt)["ss"] == "Completed"
    resent = len(upstream(rt))
    assert resent > 6                       # G doubled up to T2, then every 4 s
    at(32000)                               # Timer H = 64*T1
    assert record(rt) is None
    at(40000)
    assert len(upstream(rt)) == resent      # and G stopped with it


def test_timer_c_cancels_and_a_late_487_is_acked(px):
    rt, feed, at = px
    feed(INVITE, UP)
    out = sent_to(rt, 5071)[0]
    feed(reply_to(out, 180, b"Ringing"), DOWN)
    at(120001)                              # fr_inv_timer (Timer C) from the 180
    assert sent_to(rt, 5071)[-1].startswith(b"CANCEL ")
    assert record(rt)["b"][0]["s"] == "Completed"
    assert upstream(rt)[-1] == 408
    feed(reply_to(out, 487, b"Request Terminated"), DOWN)
    assert sent_to(rt, 5071)[-1].startswith(b"ACK ")
    assert upstream(rt)[-1] == 408 and upstream(rt).count(487) == 0


def test_cancel_is_held_in_calling_until_the_first_provisional(px):
    rt, feed, _at = px
    feed(INVITE, UP)
    out = sent_to(rt, 5071)[0]
    feed(CANCEL, UP)
    assert upstream(rt)[-1] == 200                         # the CANCEL itself is answered
    assert not any(d.startswith(b"CANCEL ") for d in sent_to(rt, 5071))
    assert record(rt)["b"][0]["cp"] == 1
    feed(reply_to(out, 180, b"Ringing"), DOWN)
    assert sent_to(rt, 5071)[-1].startswith(b"CANCEL ")    # §9.1: now it may go
    feed(reply_to(out, 487, b"Request Terminated"), DOWN)
    assert upstream(rt)[-1] == 487


def test_a_cancelled_branch_waits_64_t1_for_its_final(px):
    rt, feed, at = px
    feed(INVITE, UP)
    out = sent_to(rt, 5071)[0]
    feed(reply_to(out, 183, b"Session Progress"), DOWN)
    feed(CANCEL, UP)
    assert sent_to(rt, 5071)[-1].startswith(b"CANCEL ")
    at(31999)
    assert upstream(rt)[-1] == 200                         # still waiting for the 487
    at(32000)                                              # 64*T1, not fr_inv_timer's 120 s
    assert upstream(rt)[-1] == 408
    assert sum(1 for d in sent_to(rt, 5071) if d.startswith(b"CANCEL ")) == 1


def test_2xx_after_timer_b_is_still_relayed(px):
    rt, feed, at = px
    feed(INVITE, UP)
    out = sent_to(rt, 5071)[0]
    at(30000)                                              # Timer B (fr_timer), no provisional
    assert record(rt)["b"][0]["s"] == "Terminated" and upstream(rt)[-1] == 408
    assert not any(d.startswith(b"CANCEL ") for d in sent_to(rt, 5071))   # nothing rang
    feed(reply_to(out, 200, b"OK"), DOWN)
    assert upstream(rt)[-1] == 200                         # a proxy forwards every 2xx


def test_tm_list_shows_the_states(px):
    rt, feed, _at = px
    feed(INVITE, UP)
    feed(reply_to(sent_to(rt, 5071)[0], 180, b"Ringing"), DOWN)
    from modules.tm.funcs import rpc_list
    (row,) = rpc_list(rt)
    assert (row["state"], row["branch_states"]) == ("Proceeding", "Proceeding")


def test_every_state_tm_stores_is_a_state_of_its_machine(px):
    """Whatever a call goes through, the stored names are the table's."""
    rt, feed, at = px
    seen = set()

    def look():
        rec = record(rt)
        if rec is not None:
            m = rec["m"]
            seen.add((F.server_machine(m), rec["ss"]))
            for b in rec["b"]:
                seen.add((F.client_machine(m), b["s"]))
    feed(INVITE, UP)
    look()
    out = sent_to(rt, 5071)[0]
    for code, reason in ((180, b"Ringing"), (486, b"Busy Here")):
        feed(reply_to(out, code, reason), DOWN)
        look()
    feed(ACK, UP)
    look()
    feed(MESSAGE, UP)
    for machine, state in seen:
        assert state in F.STATES[F.Machine(machine)], (machine, state)
    assert ("IST", "Confirmed") in seen and ("ICT", "Completed") in seen


def test_a_finished_non_invite_keeps_only_a_stub_until_timer_j(px):
    rt, feed, at = px
    feed(MESSAGE, UP)
    full = len(msgpack.packb(record(rt), use_bin_type=True))
    feed(reply_to(sent_to(rt, 5071)[0], 202, b"Accepted"), DOWN)
    rec = record(rt)
    assert rec["stub"] == 1 and "req" not in rec and "r" not in rec["b"][0]
    stub = len(msgpack.packb(rec, use_bin_type=True))
    assert stub * 2 < full
    feed(MESSAGE, UP)                       # still answers a retransmission with the final
    assert upstream(rt) == [202, 202]
    from modules.tm.funcs import rpc_list
    (row,) = rpc_list(rt)
    assert (row["callid"], row["cseq"], row["state"]) == ("m1", "1 MESSAGE", "Completed")
    at(31999)
    assert record(rt) is not None
    at(32000 + 1)                           # Timer J (64*T1) after the final: gone
    assert record(rt) is None


def test_the_transaction_table_grows_with_shm_mem():
    from modules.tm import table_size
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.params["shm_mem"] = 256
    assert table_size(rt) == (65536, 128 * 1024 * 1024)
    rt.params["shm_mem"] = 64
    assert table_size(rt) == (16384, 32 * 1024 * 1024)


def test_an_answered_invite_keeps_a_stub_that_still_relays_2xx_retransmissions(px):
    rt, feed, _at = px
    feed(INVITE, UP)
    out = sent_to(rt, 5071)[0]
    full = len(msgpack.packb(record(rt), use_bin_type=True))
    feed(reply_to(out, 200, b"OK"), DOWN)
    rec = record(rt)
    assert rec["stub"] == 1 and rec["ss"] == "Accepted" and "req" not in rec
    assert len(msgpack.packb(rec, use_bin_type=True)) * 2 < full
    feed(reply_to(out, 200, b"OK"), DOWN)        # the callee's 2xx again: relayed
    assert upstream(rt) == [100, 200, 200]
