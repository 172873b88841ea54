# SPDX-License-Identifier: GPL-2.0-or-later
"""The RFC 3261 §17 / RFC 6026 transaction state machines (modules/tm/fsm.py).

Scenario tests follow the RFC figures (5: ICT, 6: NICT, 7: IST, 8: NIST) with
RFC 6026's Accepted state; property tests (hypothesis, derandomized, no example
database) walk every (state, event) pair of every machine and random event
sequences driven the way the tm module will drive them (a timer event only
for a timer that runs), checking the invariants the tables promise.
"""

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modules.tm.fsm import (
    CANCEL_ASKED, CANCEL_NONE, CANCEL_SENT, EVENTS, RUNNING, STATES, TABLES, TIMERS,
    Drop, Event, Machine, PassToTU, ProtocolError, ResendLastReply, ResendRequest, SendAck,
    SendCancel, SendReply, SendRequest, SendTrying, StartTimer, State, StopTimer, Terminate,
    Timeout, Timers, TransportError, new_data, reply_event, step, timer_event, tu_reply_event,
)

E, S, M = Event, State, Machine
ICT, NICT, IST, NIST = M.ICT, M.NICT, M.IST, M.NIST
ACTION_TYPES = (SendRequest, ResendRequest, SendAck, SendCancel, PassToTU, SendTrying, SendReply,
                ResendLastReply, StartTimer, StopTimer, Timeout, TransportError, Terminate, Drop)


def fast(n):
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


class Tx:
    """A transaction the way the tm module keeps one: machine, state, data."""

    def __init__(self, machine, timers=TIMERS):
        self.machine, self.state, self.data, self.timers = machine, S.IDLE, new_data(), timers

    def __call__(self, event, msg=None):
        actions, self.state, self.data = step(self.machine, self.state, event, self.data, msg, self.timers)
        return actions


# --- INVITE client transaction (Figure 5, RFC 6026 §7.2) -------------------------

def test_ict_retransmits_then_486_is_acked():
    t = Tx(ICT)
    assert t(E.SEND_REQUEST) == [SendRequest(), StartTimer("A", 500), StartTimer("B", 30000)]
    assert t.state is S.CALLING
    assert t(E.TIMER_A) == [ResendRequest(), StartTimer("A", 1000)]
    assert t(E.TIMER_A) == [ResendRequest(), StartTimer("A", 2000)]
    assert t(E.TIMER_A) == [ResendRequest(), StartTimer("A", 4000)]
    assert t(E.RECV_1XX, b"180") == [StopTimer("A"), StopTimer("B"), PassToTU(b"180"), StartTimer("C", 120000)]
    assert t.state is S.PROCEEDING
    assert t(E.RECV_3XX_6XX, b"486") == [StopTimer("C"), SendAck(b"486"), PassToTU(b"486"), StartTimer("D", 32000)]
    assert t.state is S.COMPLETED
    assert t(E.RECV_3XX_6XX, b"486") == [SendAck(b"486")]          # retransmission: ACK again, not to the TU
    assert t(E.RECV_1XX, b"180") == [Drop()]
    assert t(E.TIMER_D) == [Terminate()]
    assert t.state is S.TERMINATED
    assert t(E.RECV_3XX_6XX, b"486") == [Drop()]


def test_ict_timer_a_doubles_without_cap_until_timer_b():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    intervals = [t(E.TIMER_A)[1].ms for _ in range(5)]
    assert intervals == [1000, 2000, 4000, 8000, 16000]    # A is not capped at T2 (§17.1.1.2)
    assert t(E.TIMER_B) == [Timeout("B"), Terminate()]       # the TU answers the branch with a local 408
    assert t.state is S.TERMINATED
    assert t(E.TIMER_A) == [Drop()]                          # a timer that was already popped: absorbed


def test_ict_2xx_goes_to_accepted_and_later_2xx_reach_the_tu():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    t(E.RECV_1XX, b"180")
    assert t(E.RECV_2XX, b"200") == [StopTimer("C"), PassToTU(b"200"), StartTimer("M", 32000)]
    assert t.state is S.ACCEPTED
    assert t(E.RECV_2XX, b"200 retransmitted") == [PassToTU(b"200 retransmitted")]   # no ACK: the TU's job
    assert t(E.RECV_2XX, b"200 other fork") == [PassToTU(b"200 other fork")]
    assert t(E.RECV_1XX) == [Drop()]
    assert t(E.RECV_3XX_6XX) == [Drop()]
    assert t(E.TIMER_M) == [Terminate()]
    assert t.state is S.TERMINATED


def test_ict_2xx_in_calling():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    assert t(E.RECV_2XX, b"200") == [StopTimer("A"), StopTimer("B"), PassToTU(b"200"), StartTimer("M", 32000)]
    assert t.state is S.ACCEPTED


def test_ict_final_in_calling():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    assert t(E.RECV_3XX_6XX, b"404") == [StopTimer("A"), StopTimer("B"), SendAck(b"404"), PassToTU(b"404"),
                                         StartTimer("D", 32000)]


def test_ict_transport_errors():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    assert t(E.TRANSPORT_ERROR) == [TransportError(), Terminate()]
    assert t.state is S.TERMINATED
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    t(E.RECV_3XX_6XX, b"486")
    assert t(E.TRANSPORT_ERROR) == [TransportError(), Terminate()]    # the ACK could not be sent
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    t(E.RECV_1XX)
    with pytest.raises(ProtocolError, match="sends nothing"):
        t(E.TRANSPORT_ERROR)


def test_ict_timer_c_restarted_by_provisionals_then_cancel_and_local_408():
    t = Tx(ICT, Timers(fr_timer=10000, fr_inv_timer=90000))    # t_set_fr(90000, 10000)
    assert t(E.SEND_REQUEST)[2] == StartTimer("B", 10000)
    assert t(E.RECV_1XX, b"100")[-1] == StartTimer("C", 90000)
    assert t(E.RECV_1XX, b"180") == [PassToTU(b"180"), StartTimer("C", 90000)]
    assert t(E.TIMER_C) == [SendCancel(), Timeout("C"), StartTimer("D", 32000)]
    assert t.state is S.COMPLETED                 # as if a 408 had come (§16.8): wait to ACK the 487
    assert t(E.RECV_3XX_6XX, b"487") == [SendAck(b"487")]
    assert t(E.RECV_2XX, b"200") == [PassToTU(b"200")]   # a 2xx racing the CANCEL: the TU forwards it
    assert t(E.TIMER_D) == [Terminate()]


# --- CANCEL (§9.1) -----------------------------------------------------------

def test_cancel_before_any_1xx_is_held_until_the_first_1xx():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    assert t(E.CANCEL) == []
    assert (t.state, t.data["cancel"]) == (S.CALLING, CANCEL_ASKED)
    assert t(E.TIMER_A) == [ResendRequest(), StartTimer("A", 1000)]     # still retransmitting
    assert t(E.RECV_1XX, b"180") == [StopTimer("A"), StopTimer("B"), PassToTU(b"180"), SendCancel(),
                                     StartTimer("C", 32000)]             # 64*T1 for the 487 (§9.1)
    assert t.data["cancel"] == CANCEL_SENT
    assert t(E.RECV_1XX, b"183") == [PassToTU(b"183"), StartTimer("C", 32000)]
    assert t(E.RECV_3XX_6XX, b"487") == [StopTimer("C"), SendAck(b"487"), PassToTU(b"487"),
                                         StartTimer("D", 32000)]


def test_cancel_in_proceeding_is_sent_once():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    t(E.RECV_1XX)
    assert t(E.CANCEL) == [SendCancel(), StartTimer("C", 32000)]
    assert t(E.CANCEL) == [StartTimer("C", 32000)]
    assert t(E.TIMER_C) == [Timeout("C"), StartTimer("D", 32000)]      # no 487 came: local 408, no 2nd CANCEL
    assert t.state is S.COMPLETED


def test_cancel_after_a_final_does_nothing():
    for final, state in ((E.RECV_3XX_6XX, S.COMPLETED), (E.RECV_2XX, S.ACCEPTED)):
        t = Tx(ICT)
        t(E.SEND_REQUEST)
        t(final)
        assert t(E.CANCEL) == []
        assert t.state is state
    t(E.TIMER_M)
    assert t(E.CANCEL) == []
    assert t.state is S.TERMINATED


def test_held_cancel_is_forgotten_when_a_final_or_timer_b_comes_first():
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    t(E.CANCEL)
    assert SendCancel() not in t(E.RECV_3XX_6XX, b"486")
    t = Tx(ICT)
    t(E.SEND_REQUEST)
    t(E.CANCEL)
    assert t(E.TIMER_B) == [Timeout("B"), Terminate()]


def test_cancel_before_sending_is_an_error():
    with pytest.raises(ProtocolError):
        step(ICT, S.IDLE, E.CANCEL)
    with pytest.raises(ProtocolError):
        step(NICT, S.TRYING, E.CANCEL)                 # a non-INVITE is never cancelled


# --- non-INVITE client transaction (Figure 6) -------------------------------------

def test_nict_timer_e_doubles_capped_at_t2():
    t = Tx(NICT)
    assert t(E.SEND_REQUEST) == [SendRequest(), StartTimer("E", 500), StartTimer("F", 30000)]
    assert [t(E.TIMER_E) for _ in range(5)] == [[ResendRequest(), StartTimer("E", ms)]
                                                for ms in (1000, 2000, 4000, 4000, 4000)]
    assert t(E.TIMER_F) == [Timeout("F"), Terminate()]


def test_nict_fires_every_t2_in_proceeding():
    t = Tx(NICT)
    t(E.SEND_REQUEST)
    t(E.TIMER_E)
    assert t(E.RECV_1XX, b"100") == [PassToTU(b"100")]    # E keeps its interval until it fires
    assert t.state is S.PROCEEDING
    assert t(E.TIMER_E) == [ResendRequest(), StartTimer("E", 4000)]
    assert t(E.TIMER_E) == [ResendRequest(), StartTimer("E", 4000)]
    assert t(E.RECV_1XX, b"100") == [PassToTU(b"100")]
    assert t(E.RECV_2XX, b"200") == [StopTimer("E"), StopTimer("F"), PassToTU(b"200"), StartTimer("K", 5000)]
    assert t.state is S.COMPLETED
    assert t(E.RECV_2XX, b"200") == [Drop()]
    assert t(E.RECV_1XX) == [Drop()]
    assert t(E.TIMER_K) == [Terminate()]
    assert t.state is S.TERMINATED


def test_nict_timer_f_and_transport_error_in_proceeding():
    t = Tx(NICT)
    t(E.SEND_REQUEST)
    t(E.RECV_1XX)
    assert t(E.TIMER_F) == [Timeout("F"), Terminate()]
    t = Tx(NICT)
    t(E.SEND_REQUEST)
    t(E.RECV_1XX)
    assert t(E.TRANSPORT_ERROR) == [TransportError(), Terminate()]


def test_nict_final_from_trying():
    t = Tx(NICT, Timers(t4=2500))
    t(E.SEND_REQUEST)
    assert t(E.RECV_3XX_6XX, b"404") == [StopTimer("E"), StopTimer("F"), PassToTU(b"404"), StartTimer("K", 2500)]


# --- INVITE server transaction (Figure 7, RFC 6026 §7.1) --------------------------

def test_ist_100_180_200_accepted():
    t = Tx(IST)
    assert t(E.RECV_REQUEST, b"INVITE") == [SendTrying(), PassToTU(b"INVITE")]
    assert t.state is S.PROCEEDING
    assert t(E.RECV_RETRANSMISSION) == [ResendLastReply()]              # the 100
    assert t(E.TU_1XX, b"180") == [SendReply(b"180")]
    assert t(E.RECV_RETRANSMISSION) == [ResendLastReply()]              # the 180
    assert t(E.TU_2XX, b"200") == [SendReply(b"200"), StartTimer("L", 32000)]
    assert t.state is S.ACCEPTED
    assert t(E.RECV_RETRANSMISSION) == [Drop()]                          # absorbed, not to the TU
    assert t(E.TU_2XX, b"200 again") == [SendReply(b"200 again")]       # the TU's retransmission
    assert t(E.RECV_ACK, b"ACK") == [PassToTU(b"ACK")]                  # the 2xx's ACK goes on
    assert t(E.TRANSPORT_ERROR) == [TransportError()]
    assert t.state is S.ACCEPTED
    assert t(E.TIMER_L) == [Terminate()]
    assert t.state is S.TERMINATED
    assert t(E.RECV_RETRANSMISSION) == [Drop()]


def test_ist_486_timer_g_doubles_capped_then_ack():
    t = Tx(IST)
    t(E.RECV_REQUEST)
    assert t(E.TU_3XX_6XX, b"486") == [SendReply(b"486"), StartTimer("G", 500), StartTimer("H", 32000)]
    assert t.state is S.COMPLETED
    assert [t(E.TIMER_G) for _ in range(5)] == [[ResendLastReply(), StartTimer("G", ms)]
                                                for ms in (1000, 2000, 4000, 4000, 4000)]
    assert t(E.RECV_RETRANSMISSION) == [ResendLastReply()]
    assert t(E.RECV_ACK) == [StopTimer("G"), StopTimer("H"), StartTimer("I", 5000)]
    assert t.state is S.CONFIRMED
    assert t(E.RECV_ACK) == [Drop()]
    assert t(E.RECV_RETRANSMISSION) == [Drop()]
    assert t(E.TIMER_I) == [Terminate()]
    assert t.state is S.TERMINATED


def test_ist_timer_h_means_no_ack_came():
    t = Tx(IST)
    t(E.RECV_REQUEST)
    t(E.TU_3XX_6XX, b"404")
    assert t(E.TIMER_H) == [Timeout("H"), Terminate()]
    assert t.state is S.TERMINATED


def test_ist_transport_errors_inform_the_tu_and_keep_the_state():
    t = Tx(IST)
    t(E.RECV_REQUEST)
    assert t(E.TRANSPORT_ERROR) == [TransportError()]
    assert t.state is S.PROCEEDING
    t(E.TU_3XX_6XX, b"500")
    assert t(E.TRANSPORT_ERROR) == [TransportError()]
    assert t.state is S.COMPLETED


def test_ist_invalid_orders():
    t = Tx(IST)
    t(E.RECV_REQUEST)
    with pytest.raises(ProtocolError, match="no final reply"):
        t(E.RECV_ACK)
    t(E.TU_3XX_6XX)
    with pytest.raises(ProtocolError, match="final reply was sent"):
        t(E.TU_2XX)
    with pytest.raises(ProtocolError, match="RECV_RETRANSMISSION"):
        t(E.RECV_REQUEST)
    t = Tx(IST)
    t(E.RECV_REQUEST)
    t(E.TU_2XX)
    with pytest.raises(ProtocolError, match="only more 2xx"):
        t(E.TU_3XX_6XX)


# --- non-INVITE server transaction (Figure 8) -------------------------------------

def test_nist_trying_proceeding_completed():
    t = Tx(NIST)
    assert t(E.RECV_REQUEST, b"OPTIONS") == [PassToTU(b"OPTIONS")]
    assert t.state is S.TRYING
    assert t(E.RECV_RETRANSMISSION) == [Drop()]                 # nothing to resend yet
    assert t(E.TU_1XX, b"100") == [SendReply(b"100")]
    assert t.state is S.PROCEEDING
    assert t(E.RECV_RETRANSMISSION) == [ResendLastReply()]
    assert t(E.TU_2XX, b"200") == [SendReply(b"200"), StartTimer("J", 32000)]
    assert t.state is S.COMPLETED
    assert t(E.RECV_RETRANSMISSION) == [ResendLastReply()]
    assert t(E.TU_3XX_6XX, b"500") == [Drop()]                  # later finals are discarded (§17.2.2)
    assert t(E.TIMER_J) == [Terminate()]
    assert t.state is S.TERMINATED
    assert t(E.RECV_RETRANSMISSION) == [Drop()]


def test_nist_final_from_trying_and_transport_error():
    t = Tx(NIST, Timers(t1=250))
    t(E.RECV_REQUEST)
    assert t(E.TU_3XX_6XX, b"404") == [SendReply(b"404"), StartTimer("J", 16000)]
    assert t(E.TRANSPORT_ERROR) == [TransportError(), Terminate()]
    t = Tx(NIST)
    t(E.RECV_REQUEST)
    with pytest.raises(ProtocolError, match="nothing was sent"):
        t(E.TRANSPORT_ERROR)


# --- API details ----------------------------------------------------------------

def test_protocol_error_names_the_pair():
    with pytest.raises(ProtocolError) as ei:
        step(ICT, S.PROCEEDING, E.TIMER_A, {"rt": 500, "cancel": 0})
    e = ei.value
    assert (e.machine, e.state, e.event) == (ICT, S.PROCEEDING, E.TIMER_A)
    assert "Timer A does not run in Proceeding" in str(e)
    with pytest.raises(ProtocolError, match="not a state and event"):
        step(ICT, S.CALLING, E.RECV_ACK)
    with pytest.raises(ProtocolError, match="not a state and event"):
        step(NICT, S.CALLING, E.RECV_1XX)


def test_string_values_as_stored_in_shm_and_purity():
    data = {"rt": 1000, "cancel": CANCEL_NONE}
    actions, state, new = step("ICT", "Calling", "timer_a", data)
    assert actions == [ResendRequest(), StartTimer("A", 2000)]
    assert state == "Calling" and state is S.CALLING
    assert new == {"rt": 2000, "cancel": CANCEL_NONE}
    assert data == {"rt": 1000, "cancel": CANCEL_NONE}          # the caller's dict is not touched
    with pytest.raises(ValueError):
        step("ICT", "Calling", "no_such_event", data)


def test_timers_defaults_and_modparams():
    assert TIMERS == Timers(t1=500, t2=4000, t4=5000, fr_timer=30000, fr_inv_timer=120000, wt_timer=5000)
    t = Timers.from_modparams({"retr_timer1": 250, "retr_timer2": 2000, "fr_inv_timer": 60000})
    assert (t.t1, t.t2, t.fr_inv_timer, t.fr_timer) == (250, 2000, 60000, 30000)
    with pytest.raises(ValueError, match="not a tm timer parameter"):
        Timers.from_modparams({"retr_timer3": 1})
    with pytest.raises(ValueError, match="positive"):
        Timers(fr_timer=0)
    with pytest.raises(ValueError, match="retr_timer1"):
        Timers(t1=5000, t2=4000)
    assert dataclasses.replace(TIMERS, fr_inv_timer=1000).fr_inv_timer == 1000


def test_timer_d_is_at_least_64_t1():
    t = Tx(ICT, Timers(t1=1000, t2=4000))
    t(E.SEND_REQUEST)
    assert t(E.RECV_3XX_6XX)[-1] == StartTimer("D", 64000)


def test_event_helpers():
    assert [reply_event(c) for c in (100, 183, 200, 299, 300, 487, 699)] == \
        [E.RECV_1XX, E.RECV_1XX, E.RECV_2XX, E.RECV_2XX, E.RECV_3XX_6XX, E.RECV_3XX_6XX, E.RECV_3XX_6XX]
    assert [tu_reply_event(c) for c in (180, 202, 603)] == [E.TU_1XX, E.TU_2XX, E.TU_3XX_6XX]
    assert timer_event("G") is E.TIMER_G
    for bad in (99, 700, 0):
        with pytest.raises(ValueError):
            reply_event(bad)


def test_tables_cover_every_pair_exactly():
    for m in Machine:
        assert set(TABLES[m]) == {(s, e) for s in STATES[m] for e in EVENTS[m]}
    assert {m: len(TABLES[m]) for m in Machine} == {ICT: 66, NICT: 40, IST: 66, NIST: 35}


# --- properties -----------------------------------------------------------------

ALL_TRIPLES = [(m, s, e) for m in Machine for s in State for e in Event]
TIMER_LETTER = {e: e.name[6:] for e in Event if e.name.startswith("TIMER_")}


@st.composite
def timers(draw):
    t1 = draw(st.integers(1, 2000))
    return Timers(t1=t1, t2=draw(st.integers(t1, 10000)), t4=draw(st.integers(1, 10000)),
                  fr_timer=draw(st.integers(1, 60000)), fr_inv_timer=draw(st.integers(1, 300000)))


def check_step(m, s, e, data, t, msg):
    """Call step and check what holds for every pair; the result, or None for a ProtocolError."""
    before = dict(data)
    entry = TABLES[m].get((s, e))
    try:
        actions, new_state, new = step(m, s, e, data, msg, t)
    except ProtocolError as err:
        assert entry is None or isinstance(entry, str)
        assert (err.machine, err.state, err.event) == (m, s, e)
        assert data == before
        return None
    assert data == before                                          # pure
    assert isinstance(entry, tuple)
    assert new_state in STATES[m]
    assert set(new) == {"rt", "cancel"}
    assert all(isinstance(a, ACTION_TYPES) for a in actions)
    if s is S.TERMINATED:                                          # absorbing
        assert new_state is S.TERMINATED and actions in ([], [Drop()])
    if Drop() in actions:
        assert actions == [Drop()] and new_state is s              # never Drop and do something else
    assert (Terminate() in actions) == (new_state is S.TERMINATED and s is not S.TERMINATED)
    if Terminate() in actions:
        assert actions[-1] == Terminate()
        assert not any(isinstance(a, (StartTimer, StopTimer)) for a in actions)
    if e in TIMER_LETTER and s is not S.TERMINATED:                # a timer event only where it runs
        assert TIMER_LETTER[e] in RUNNING[m][s]
    for a in actions:
        if isinstance(a, StartTimer):                              # only the RFC's timers of the new state
            assert a.name in RUNNING[m][new_state] and a.ms > 0
            if a.name in "AEG":
                assert new["rt"] == a.ms
        if isinstance(a, StopTimer):                               # only timers leaving with the old state
            assert a.name in RUNNING[m][s] and a.name not in RUNNING[m][new_state]
        if isinstance(a, (PassToTU, SendReply, SendAck)):
            assert a.msg is msg
        if isinstance(a, SendCancel):
            assert m is ICT and new["cancel"] == CANCEL_SENT and data.get("cancel") != CANCEL_SENT
        if isinstance(a, (SendReply, SendTrying, ResendLastReply)):
            assert m in (IST, NIST)
        if isinstance(a, (SendRequest, ResendRequest, SendAck, Timeout)):
            assert m in (ICT, NICT) or a == Timeout("H")
    return actions, new_state, new


def test_every_pair_of_every_machine():
    """Plain exhaustive walk (no randomness): every state x event, foreign ones included."""
    n_ok = 0
    for m, s, e in ALL_TRIPLES:
        for cancel in (CANCEL_NONE, CANCEL_ASKED, CANCEL_SENT):
            if check_step(m, s, e, {"rt": 2000, "cancel": cancel}, TIMERS, object()) is not None:
                n_ok += 1
    assert n_ok == 3 * sum(1 for m in Machine for v in TABLES[m].values() if isinstance(v, tuple))


@fast(400)
@given(st.sampled_from(ALL_TRIPLES), st.integers(0, 100000), st.sampled_from((0, 1, 2)), timers())
def test_every_pair_with_random_data_and_timers(triple, rt, cancel, t):
    m, s, e = triple
    check_step(m, s, e, {"rt": rt, "cancel": cancel}, t, object())


def expected_ms(m, state, name, t, model):
    """The duration an RFC reader expects for timer `name`, computed independently of fsm.py."""
    fixed = {"B": t.fr_timer, "F": t.fr_timer, "D": max(32000, 64 * t.t1), "H": 64 * t.t1,
             "J": 64 * t.t1, "L": 64 * t.t1, "M": 64 * t.t1, "I": t.t4, "K": t.t4}
    if name in fixed:
        return fixed[name]
    if name == "C":
        return 64 * t.t1 if model["cancel_sent"] else t.fr_inv_timer
    n = model["fires"].get(name, 0)                    # how often it fired since it was first armed
    if name == "A":
        return t.t1 * 2 ** n
    if name == "E" and state is S.PROCEEDING and model["fired_in_proceeding"]:
        return t.t2
    return min(t.t1 * 2 ** n, t.t2)


@fast(600)
@given(st.sampled_from(list(Machine)), st.lists(st.integers(0, 10 ** 6), max_size=40), timers())
def test_random_walks_keep_exactly_the_rfc_timers_running(m, choices, t):
    """Drive a transaction like the tm module: any message or TU order may come
    (invalid ones raise and change nothing), a timer event only for a timer that
    runs.  After every step exactly RUNNING[state] runs, each with the RFC's
    duration, a running timer's event is always accepted, and a CANCEL is sent
    at most once, only on the TU's word or Timer C."""
    state, data = S.IDLE, new_data()
    running = set()
    model = {"cancel_sent": False, "fires": {}, "fired_in_proceeding": False, "tu_cancel": False}
    start = E.SEND_REQUEST if m in (ICT, NICT) else E.RECV_REQUEST
    sent_cancels = 0
    for i, choice in enumerate([0] + choices):
        if i == 0:
            event = start
        else:
            others = [e for e in EVENTS[m] if e not in TIMER_LETTER]
            menu = others + sorted(timer_event(x) for x in running)
            event = menu[choice % len(menu)]
        result = check_step(m, state, event, data, t, object())
        if result is None:
            assert event not in [timer_event(x) for x in running]    # a running timer always has its entry
            continue
        actions, new_state, data = result
        if event is E.CANCEL:
            model["tu_cancel"] = True
        if event in TIMER_LETTER:
            name = TIMER_LETTER[event]
            running.discard(name)                                    # one-shot
            model["fires"][name] = model["fires"].get(name, 0) + 1
            if name == "E" and state is S.PROCEEDING:
                model["fired_in_proceeding"] = True
        for a in actions:
            if isinstance(a, SendCancel):
                sent_cancels += 1
                model["cancel_sent"] = True
                assert model["tu_cancel"] or event is E.TIMER_C
            elif isinstance(a, StartTimer):
                assert a.ms == expected_ms(m, new_state, a.name, t, model), (a, model)
                running.add(a.name)
            elif isinstance(a, StopTimer):
                assert a.name in running
                running.discard(a.name)
            elif isinstance(a, Terminate):
                running.clear()
        assert running == RUNNING[m][new_state], (state, event, new_state, running)
        state = new_state
    assert sent_cancels <= 1
