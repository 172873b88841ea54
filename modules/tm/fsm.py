# SPDX-License-Identifier: GPL-2.0-or-later
"""The RFC 3261 §17 transaction state machines, with RFC 6026's "Accepted".

Theory of operation
-------------------
A transaction is a machine (ICT, NICT, IST, NIST), a state, a small `data`
dict and the messages the caller keeps beside them (the request, the last
reply sent).  Everything that happens to it is an `Event`: a message from the
network (RECV_1XX, RECV_ACK, ...), an order of the transaction user
(SEND_REQUEST, TU_2XX, CANCEL), a timer firing (TIMER_A ... TIMER_M) or a send
that failed (TRANSPORT_ERROR).  The caller takes the transaction's lock, calls

    actions, state, data = step(machine, state, event, data, msg, timers)

stores the new state and data, and carries out the actions in order.  `step`
has no clock, socket or shared memory: it looks the (state, event) pair up in
the machine's table and expands the entry, so any process can handle any
event of any transaction, and tests drive it with plain calls.

Each table below maps (state, event) to (actions, next state), one line per
pair, with the RFC section it follows.  The pairs that must not happen are
listed after it with the reason, and `step` raises ProtocolError for them.
At import every pair of every machine must be in exactly one of the two: there
is no default.  "Idle" is not an RFC state: the transaction exists, nothing was
sent or received yet (clients leave it on SEND_REQUEST, servers on
RECV_REQUEST).  "Terminated" absorbs whatever still finds the transaction
(Drop) while the caller frees it.

Timers are one-shot and named after the RFC ("A" ... "M").  StartTimer arms or
re-arms one, a timer that fired is no longer running, StopTimer cancels one,
Terminate cancels them all.  In every state exactly the timers of
RUNNING[machine][state] run; a TIMER_x event for a timer that does not run in
the current state is a ProtocolError (the caller's stale-timer check failed).

Durations come from `Timers`, i.e. Kamailio's tm modparams.  The proxy speaks
UDP, so the retransmission timers A, E and G always run and D, I, J, K take
their unreliable-transport values.  Kamailio's fr_timer plays Timers B and F
(no final reply); fr_inv_timer is the proxy's Timer C (§16.6 step 11), armed by
the first provisional reply of an INVITE branch and restarted by each one.
When B, C or F fires the TU gets Timeout(timer) and answers the branch with a
local 408 (§16.8).

data = {"rt": the current A/E/G interval in ms,
        "cancel": CANCEL_NONE | CANCEL_ASKED (held back until a 1xx) | CANCEL_SENT}
"""

import enum
from dataclasses import dataclass

__all__ = [
    "Machine", "State", "Event", "ProtocolError", "Timers", "TIMERS", "step", "new_data",
    "reply_event", "tu_reply_event", "timer_event", "STATES", "EVENTS", "RUNNING", "TABLES",
    "CANCEL_NONE", "CANCEL_ASKED", "CANCEL_SENT",
    "SendRequest", "ResendRequest", "SendAck", "SendCancel", "PassToTU", "SendTrying", "SendReply",
    "ResendLastReply", "StartTimer", "StopTimer", "Timeout", "TransportError", "Terminate", "Drop", "Action",
    "decide", "client_machine", "server_machine", "first_state", "FIRST_STATE", "SENDS_TRYING", "retransmit_ms", "arm_spec",
    "REPLY_EVENTS", "TU_EVENTS", "CLIENT_DONE", "ICT", "NICT", "IST", "NIST",
]


class Machine(enum.StrEnum):
    ICT = "ICT"      # INVITE client transaction, §17.1.1
    NICT = "NICT"    # non-INVITE client transaction, §17.1.2
    IST = "IST"      # INVITE server transaction, §17.2.1
    NIST = "NIST"    # non-INVITE server transaction, §17.2.2


class State(enum.StrEnum):
    IDLE = "Idle"
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"        # RFC 6026
    TERMINATED = "Terminated"


class Event(enum.StrEnum):
    # client transactions
    SEND_REQUEST = enum.auto()   # the TU hands the request over
    RECV_1XX = enum.auto()
    RECV_2XX = enum.auto()
    RECV_3XX_6XX = enum.auto()
    CANCEL = enum.auto()         # the TU cancels this INVITE branch
    TIMER_A = enum.auto()
    TIMER_B = enum.auto()
    TIMER_C = enum.auto()
    TIMER_D = enum.auto()
    TIMER_E = enum.auto()
    TIMER_F = enum.auto()
    TIMER_K = enum.auto()
    TIMER_M = enum.auto()
    # server transactions
    RECV_REQUEST = enum.auto()   # the request that creates the transaction
    RECV_RETRANSMISSION = enum.auto()
    RECV_ACK = enum.auto()
    TU_1XX = enum.auto()
    TU_2XX = enum.auto()
    TU_3XX_6XX = enum.auto()
    TIMER_G = enum.auto()
    TIMER_H = enum.auto()
    TIMER_I = enum.auto()
    TIMER_J = enum.auto()
    TIMER_L = enum.auto()
    # both
    TRANSPORT_ERROR = enum.auto()


def _code_class(code: int) -> int:
    if not 100 <= code <= 699:
        raise ValueError("not a SIP status code: %r" % (code,))
    return min(code // 100, 3)


def reply_event(code: int) -> Event:
    """The client-side event for a received reply with status `code`."""
    return (Event.RECV_1XX, Event.RECV_2XX, Event.RECV_3XX_6XX)[_code_class(code) - 1]


def tu_reply_event(code: int) -> Event:
    """The server-side event for a reply with status `code` given by the TU."""
    return (Event.TU_1XX, Event.TU_2XX, Event.TU_3XX_6XX)[_code_class(code) - 1]


def timer_event(name: str) -> Event:
    """`"A"` -> Event.TIMER_A: what the timer process feeds in for a fired timer."""
    return Event["TIMER_" + name]


S, E = State, Event

STATES = {
    Machine.ICT: (S.IDLE, S.CALLING, S.PROCEEDING, S.COMPLETED, S.ACCEPTED, S.TERMINATED),
    Machine.NICT: (S.IDLE, S.TRYING, S.PROCEEDING, S.COMPLETED, S.TERMINATED),
    Machine.IST: (S.IDLE, S.PROCEEDING, S.COMPLETED, S.CONFIRMED, S.ACCEPTED, S.TERMINATED),
    Machine.NIST: (S.IDLE, S.TRYING, S.PROCEEDING, S.COMPLETED, S.TERMINATED),
}
_RECV = (E.RECV_1XX, E.RECV_2XX, E.RECV_3XX_6XX)
_TU = (E.TU_1XX, E.TU_2XX, E.TU_3XX_6XX)
EVENTS = {
    Machine.ICT: (E.SEND_REQUEST, *_RECV, E.CANCEL, E.TRANSPORT_ERROR,
                  E.TIMER_A, E.TIMER_B, E.TIMER_C, E.TIMER_D, E.TIMER_M),
    Machine.NICT: (E.SEND_REQUEST, *_RECV, E.TRANSPORT_ERROR, E.TIMER_E, E.TIMER_F, E.TIMER_K),
    Machine.IST: (E.RECV_REQUEST, E.RECV_RETRANSMISSION, E.RECV_ACK, *_TU, E.TRANSPORT_ERROR,
                  E.TIMER_G, E.TIMER_H, E.TIMER_I, E.TIMER_L),
    Machine.NIST: (E.RECV_REQUEST, E.RECV_RETRANSMISSION, *_TU, E.TRANSPORT_ERROR, E.TIMER_J),
}

# The timers running in each state (states not listed: none).
_RUNNING = {
    Machine.ICT: {S.CALLING: "AB", S.PROCEEDING: "C", S.COMPLETED: "D", S.ACCEPTED: "M"},
    Machine.NICT: {S.TRYING: "EF", S.PROCEEDING: "EF", S.COMPLETED: "K"},
    Machine.IST: {S.COMPLETED: "GH", S.CONFIRMED: "I", S.ACCEPTED: "L"},
    Machine.NIST: {S.COMPLETED: "J"},
}
RUNNING = {m: {s: frozenset(running.get(s, "")) for s in STATES[m]} for m, running in _RUNNING.items()}

CANCEL_NONE, CANCEL_ASKED, CANCEL_SENT = 0, 1, 2


def new_data() -> dict:
    """The data of a transaction in Idle."""
    return {"rt": 0, "cancel": CANCEL_NONE}


class ProtocolError(Exception):
    """An event the machine has no transition for in its current state."""

    def __init__(self, machine, state, event, reason: str):
        super().__init__("%s in %s: %s: %s" % (machine, state, event, reason))
        self.machine, self.state, self.event, self.reason = machine, state, event, reason


# --- timers -------------------------------------------------------------------

@dataclass(frozen=True)
class Timers:
    """Every duration the machines use, in ms, named after Kamailio's tm modparams
    (retr_timer1 = T1, retr_timer2 = T2).  Per-transaction values (t_set_fr) are
    a `dataclasses.replace` of the global one."""
    t1: int = 500               # retr_timer1: RTT estimate, first A/E/G interval
    t2: int = 4000              # retr_timer2: cap of the E and G intervals
    t4: int = 5000              # longest a message lives in the network: I, K
    fr_timer: int = 30000       # fr_timer: Timers B and F (RFC: 64*T1)
    fr_inv_timer: int = 120000  # fr_inv_timer: Timer C (RFC 3261 §16.6: > 3 min)
    wt_timer: int = 5000        # wt_timer: how long the tm module keeps a Terminated record
                                # to absorb stragglers before freeing it (not used by step)

    MODPARAMS = {"retr_timer1": "t1", "retr_timer2": "t2", "fr_timer": "fr_timer",
                 "fr_inv_timer": "fr_inv_timer", "wt_timer": "wt_timer"}

    def __post_init__(self):
        for name in ("t1", "t2", "t4", "fr_timer", "fr_inv_timer", "wt_timer"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError("timer %s must be a positive number of ms, not %r" % (name, v))
        if self.t1 > self.t2:
            raise ValueError("retr_timer1 (%d ms) is longer than retr_timer2 (%d ms)" % (self.t1, self.t2))

    @classmethod
    def from_modparams(cls, params: dict) -> "Timers":
        """Timers from tm modparams, e.g. {"retr_timer1": 500, "fr_inv_timer": 90000}."""
        unknown = set(params) - set(cls.MODPARAMS)
        if unknown:
            raise ValueError("not a tm timer parameter: %s" % ", ".join(sorted(unknown)))
        return cls(**{cls.MODPARAMS[k]: v for k, v in params.items()})


TIMERS = Timers()

# How long a StartTimer runs: spec -> ms, from the Timers t and the data d.
# The retransmission specs (Timers A, E, G) also become the new d["rt"].
_RETRANSMIT = {
    "T1": lambda t, d: t.t1,                               # first A, E, G: §17.1.1.2, §17.1.2.2, §17.2.1
    "2*rt": lambda t, d: 2 * d["rt"],                      # A doubles, bounded by B only: §17.1.1.2
    "min(2*rt,T2)": lambda t, d: min(2 * d["rt"], t.t2),   # E and G double up to T2: §17.1.2.2, §17.2.1
    "T2": lambda t, d: t.t2,                               # E in Proceeding: §17.1.2.2
}
_DURATION = {
    **_RETRANSMIT,
    "fr_timer": lambda t, d: t.fr_timer,                   # B, F
    "fr_inv_timer": lambda t, d: (64 * t.t1 if d["cancel"] == CANCEL_SENT   # C; once the CANCEL is
                                  else t.fr_inv_timer),    # out, wait 64*T1 for the final: §9.1
    "64*T1": lambda t, d: 64 * t.t1,                       # H, J, L, M
    "T4": lambda t, d: t.t4,                               # I, K (unreliable transport)
    "32s": lambda t, d: max(32000, 64 * t.t1),             # D: at least 32 s over UDP, and >= H
}


# --- actions: plain data the caller carries out --------------------------------

@dataclass(frozen=True, slots=True)
class SendRequest:
    """Send the request (first transmission)."""


@dataclass(frozen=True, slots=True)
class ResendRequest:
    """Retransmit the request."""


@dataclass(frozen=True, slots=True)
class SendAck:
    """Send (again) the ACK for the non-2xx final reply `msg`, built by the transaction (§17.1.1.3)."""
    msg: object = None


@dataclass(frozen=True, slots=True)
class SendCancel:
    """Send a CANCEL for this INVITE branch (its own NICT, §9.1)."""


@dataclass(frozen=True, slots=True)
class PassToTU:
    """Hand `msg` (the request, a reply or a 2xx's ACK) to the transaction user."""
    msg: object = None


@dataclass(frozen=True, slots=True)
class SendTrying:
    """Send a 100 Trying for the INVITE; it becomes the last reply (§17.2.1)."""


@dataclass(frozen=True, slots=True)
class SendReply:
    """Send the TU's reply `msg`; it becomes the last reply."""
    msg: object = None


@dataclass(frozen=True, slots=True)
class ResendLastReply:
    """Retransmit the last reply sent."""


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Arm (or re-arm) timer `name` to fire in `ms`."""
    name: str
    ms: int


@dataclass(frozen=True, slots=True)
class StopTimer:
    """Cancel timer `name`."""
    name: str


@dataclass(frozen=True, slots=True)
class Timeout:
    """Tell the TU that `timer` fired: B, C, F -> the branch gets a local 408; H -> no ACK came."""
    timer: str


@dataclass(frozen=True, slots=True)
class TransportError:
    """Tell the TU that a send failed (§17.1.4, §17.2.4)."""


@dataclass(frozen=True, slots=True)
class Terminate:
    """The transaction is over: cancel all its timers and free it."""


@dataclass(frozen=True, slots=True)
class Drop:
    """The message or timer is absorbed; nothing to do."""


Action = (SendRequest | ResendRequest | SendAck | SendCancel | PassToTU | SendTrying | SendReply
          | ResendLastReply | StartTimer | StopTimer | Timeout | TransportError | Terminate | Drop)
_CARRIES_MSG = (SendAck, PassToTU, SendReply)


# --- table vocabulary ----------------------------------------------------------

@dataclass(frozen=True)
class Arm:
    """In a table: StartTimer(name, duration of `spec`)."""
    name: str
    spec: str

    def __post_init__(self):
        if self.spec not in _DURATION:
            raise ValueError("unknown timer duration %r" % self.spec)


class _Op(enum.Enum):
    HOLD_CANCEL = "the TU wants a CANCEL before any 1xx: remember it"
    SEND_HELD_CANCEL = "SendCancel if one is held"
    SEND_CANCEL_ONCE = "SendCancel unless one was sent"


HOLD_CANCEL, SEND_HELD_CANCEL, SEND_CANCEL_ONCE = _Op
SEND, RESEND, ACK, TO_TU = SendRequest(), ResendRequest(), SendAck(), PassToTU()
TRYING, REPLY, RESEND_REPLY = SendTrying(), SendReply(), ResendLastReply()
ERROR, END, DROP = TransportError(), Terminate(), Drop()
STOP_A, STOP_B, STOP_C = StopTimer("A"), StopTimer("B"), StopTimer("C")
STOP_E, STOP_F, STOP_G, STOP_H = StopTimer("E"), StopTimer("F"), StopTimer("G"), StopTimer("H")
ARM_C = Arm("C", "fr_inv_timer")


def _absorb(state, *events):
    return tuple((state, e, (DROP,), state) for e in events)


# --- INVITE client transaction: §17.1.1.2, Figure 5; RFC 6026 §7.2, §8.4 --------
# A CANCEL from the TU waits for the first provisional reply (§9.1; Kamailio's
# cancel_b_method 1).  Timer C firing counts as a local 408 (§16.8): CANCEL the
# branch, tell the TU, and wait in Completed to ACK the 487 when it comes.
_ICT = (
    (S.IDLE,       E.SEND_REQUEST,    (SEND, Arm("A", "T1"), Arm("B", "fr_timer")),   S.CALLING),     # 17.1.1.2
    (S.CALLING,    E.TIMER_A,         (RESEND, Arm("A", "2*rt")),                     S.CALLING),     # 17.1.1.2
    (S.CALLING,    E.TIMER_B,         (Timeout("B"), END),                            S.TERMINATED),  # 17.1.1.2
    (S.CALLING,    E.TRANSPORT_ERROR, (ERROR, END),                                   S.TERMINATED),  # 17.1.1.2
    (S.CALLING,    E.CANCEL,          (HOLD_CANCEL,),                                 S.CALLING),     # 9.1
    (S.CALLING,    E.RECV_1XX,        (STOP_A, STOP_B, TO_TU, SEND_HELD_CANCEL, ARM_C), S.PROCEEDING),  # 17.1.1.2, 9.1
    (S.CALLING,    E.RECV_2XX,        (STOP_A, STOP_B, TO_TU, Arm("M", "64*T1")),     S.ACCEPTED),    # 6026 7.2
    (S.CALLING,    E.RECV_3XX_6XX,    (STOP_A, STOP_B, ACK, TO_TU, Arm("D", "32s")),  S.COMPLETED),   # 17.1.1.2
    (S.PROCEEDING, E.RECV_1XX,        (TO_TU, ARM_C),                                 S.PROCEEDING),  # 16.7 step 2
    (S.PROCEEDING, E.RECV_2XX,        (STOP_C, TO_TU, Arm("M", "64*T1")),             S.ACCEPTED),    # 6026 7.2
    (S.PROCEEDING, E.RECV_3XX_6XX,    (STOP_C, ACK, TO_TU, Arm("D", "32s")),          S.COMPLETED),   # 17.1.1.2
    (S.PROCEEDING, E.CANCEL,          (SEND_CANCEL_ONCE, ARM_C),                      S.PROCEEDING),  # 9.1
    (S.PROCEEDING, E.TIMER_C,         (SEND_CANCEL_ONCE, Timeout("C"), Arm("D", "32s")), S.COMPLETED),  # 16.8
    (S.COMPLETED,  E.RECV_3XX_6XX,    (ACK,),                                         S.COMPLETED),   # 17.1.1.2
    (S.COMPLETED,  E.RECV_1XX,        (DROP,),                                        S.COMPLETED),   # 17.1.1.2
    (S.COMPLETED,  E.RECV_2XX,        (TO_TU,),                                       S.COMPLETED),   # 16.7 step 5
    (S.COMPLETED,  E.CANCEL,          (),                                             S.COMPLETED),   # 9.1
    (S.COMPLETED,  E.TIMER_D,         (END,),                                         S.TERMINATED),  # 17.1.1.2
    (S.COMPLETED,  E.TRANSPORT_ERROR, (ERROR, END),                                   S.TERMINATED),  # 17.1.1.2
    (S.ACCEPTED,   E.RECV_2XX,        (TO_TU,),                                       S.ACCEPTED),    # 6026 8.4
    (S.ACCEPTED,   E.RECV_1XX,        (DROP,),                                        S.ACCEPTED),    # 6026 8.4
    (S.ACCEPTED,   E.RECV_3XX_6XX,    (DROP,),                                        S.ACCEPTED),    # 6026 8.4
    (S.ACCEPTED,   E.CANCEL,          (),                                             S.ACCEPTED),    # 9.1
    (S.ACCEPTED,   E.TIMER_M,         (END,),                                         S.TERMINATED),  # 6026 8.4
    (S.TERMINATED, E.CANCEL,          (),                                             S.TERMINATED),  # 9.1
    *_absorb(S.TERMINATED, *_RECV, E.TRANSPORT_ERROR, E.TIMER_A, E.TIMER_B, E.TIMER_C, E.TIMER_D, E.TIMER_M),
)
_ICT_INVALID = (
    ((S.IDLE,), (*_RECV, E.CANCEL, E.TRANSPORT_ERROR), "the request has not been sent"),
    ((S.CALLING, S.PROCEEDING, S.COMPLETED, S.ACCEPTED, S.TERMINATED), (E.SEND_REQUEST,),
     "the request was sent already"),
    ((S.PROCEEDING, S.ACCEPTED), (E.TRANSPORT_ERROR,), "the transaction sends nothing in this state"),
)

# --- non-INVITE client transaction: §17.1.2.2, Figure 6 ------------------------
# A provisional reply leaves E running at its interval; from its next firing
# on, E fires every T2.
_NICT = (
    (S.IDLE,       E.SEND_REQUEST,    (SEND, Arm("E", "T1"), Arm("F", "fr_timer")),   S.TRYING),      # 17.1.2.2
    (S.TRYING,     E.TIMER_E,         (RESEND, Arm("E", "min(2*rt,T2)")),             S.TRYING),      # 17.1.2.2
    (S.TRYING,     E.TIMER_F,         (Timeout("F"), END),                            S.TERMINATED),  # 17.1.2.2
    (S.TRYING,     E.TRANSPORT_ERROR, (ERROR, END),                                   S.TERMINATED),  # 17.1.2.2
    (S.TRYING,     E.RECV_1XX,        (TO_TU,),                                       S.PROCEEDING),  # 17.1.2.2
    (S.TRYING,     E.RECV_2XX,        (STOP_E, STOP_F, TO_TU, Arm("K", "T4")),        S.COMPLETED),   # 17.1.2.2
    (S.TRYING,     E.RECV_3XX_6XX,    (STOP_E, STOP_F, TO_TU, Arm("K", "T4")),        S.COMPLETED),   # 17.1.2.2
    (S.PROCEEDING, E.TIMER_E,         (RESEND, Arm("E", "T2")),                       S.PROCEEDING),  # 17.1.2.2
    (S.PROCEEDING, E.TIMER_F,         (Timeout("F"), END),                            S.TERMINATED),  # 17.1.2.2
    (S.PROCEEDING, E.TRANSPORT_ERROR, (ERROR, END),                                   S.TERMINATED),  # 17.1.2.2
    (S.PROCEEDING, E.RECV_1XX,        (TO_TU,),                                       S.PROCEEDING),  # 17.1.2.2
    (S.PROCEEDING, E.RECV_2XX,        (STOP_E, STOP_F, TO_TU, Arm("K", "T4")),        S.COMPLETED),   # 17.1.2.2
    (S.PROCEEDING, E.RECV_3XX_6XX,    (STOP_E, STOP_F, TO_TU, Arm("K", "T4")),        S.COMPLETED),   # 17.1.2.2
    (S.COMPLETED,  E.TIMER_K,         (END,),                                         S.TERMINATED),  # 17.1.2.2
    *_absorb(S.COMPLETED, *_RECV),                                                                    # 17.1.2.2
    *_absorb(S.TERMINATED, *_RECV, E.TRANSPORT_ERROR, E.TIMER_E, E.TIMER_F, E.TIMER_K),
)
_NICT_INVALID = (
    ((S.IDLE,), (*_RECV, E.TRANSPORT_ERROR), "the request has not been sent"),
    ((S.TRYING, S.PROCEEDING, S.COMPLETED, S.TERMINATED), (E.SEND_REQUEST,), "the request was sent already"),
    ((S.COMPLETED,), (E.TRANSPORT_ERROR,), "the transaction sends nothing in Completed"),
)

# --- INVITE server transaction: §17.2.1, Figure 7; RFC 6026 §7.1, §8.5-8.7 -------
# The 100 Trying goes out at once (Kamailio's auto_inv_100): a proxy cannot know
# that the TU will answer within 200 ms.  Transport errors inform the TU and
# leave the state as it is (RFC 6026's figure): G, H and L still end it.
_IST = (
    (S.IDLE,       E.RECV_REQUEST,        (TRYING, TO_TU),                            S.PROCEEDING),  # 17.2.1
    (S.PROCEEDING, E.RECV_RETRANSMISSION, (RESEND_REPLY,),                            S.PROCEEDING),  # 17.2.1
    (S.PROCEEDING, E.TU_1XX,              (REPLY,),                                   S.PROCEEDING),  # 17.2.1
    (S.PROCEEDING, E.TU_2XX,              (REPLY, Arm("L", "64*T1")),                 S.ACCEPTED),    # 6026 8.5
    (S.PROCEEDING, E.TU_3XX_6XX,          (REPLY, Arm("G", "T1"), Arm("H", "64*T1")), S.COMPLETED),   # 17.2.1
    (S.PROCEEDING, E.TRANSPORT_ERROR,     (ERROR,),                                   S.PROCEEDING),  # 6026 7.1
    (S.COMPLETED,  E.RECV_RETRANSMISSION, (RESEND_REPLY,),                            S.COMPLETED),   # 17.2.1
    (S.COMPLETED,  E.TIMER_G,             (RESEND_REPLY, Arm("G", "min(2*rt,T2)")),   S.COMPLETED),   # 17.2.1
    (S.COMPLETED,  E.RECV_ACK,            (STOP_G, STOP_H, Arm("I", "T4")),           S.CONFIRMED),   # 17.2.1
    (S.COMPLETED,  E.TIMER_H,             (Timeout("H"), END),                        S.TERMINATED),  # 17.2.1
    (S.COMPLETED,  E.TRANSPORT_ERROR,     (ERROR,),                                   S.COMPLETED),   # 6026 7.1
    (S.CONFIRMED,  E.RECV_ACK,            (DROP,),                                    S.CONFIRMED),   # 17.2.1
    (S.CONFIRMED,  E.RECV_RETRANSMISSION, (DROP,),                                    S.CONFIRMED),   # 17.2.1
    (S.CONFIRMED,  E.TIMER_I,             (END,),                                     S.TERMINATED),  # 17.2.1
    (S.ACCEPTED,   E.RECV_RETRANSMISSION, (DROP,),                                    S.ACCEPTED),    # 6026 8.7
    (S.ACCEPTED,   E.RECV_ACK,            (TO_TU,),                                   S.ACCEPTED),    # 6026 7.1
    (S.ACCEPTED,   E.TU_2XX,              (REPLY,),                                   S.ACCEPTED),    # 6026 8.7
    (S.ACCEPTED,   E.TRANSPORT_ERROR,     (ERROR,),                                   S.ACCEPTED),    # 6026 7.1
    (S.ACCEPTED,   E.TIMER_L,             (END,),                                     S.TERMINATED),  # 6026 8.7
    *_absorb(S.TERMINATED, E.RECV_RETRANSMISSION, E.RECV_ACK, E.TRANSPORT_ERROR,
             E.TIMER_G, E.TIMER_H, E.TIMER_I, E.TIMER_L),
)
_IST_INVALID = (
    ((S.IDLE,), (E.RECV_RETRANSMISSION, E.RECV_ACK, *_TU, E.TRANSPORT_ERROR), "no INVITE was received"),
    ((S.PROCEEDING, S.COMPLETED, S.CONFIRMED, S.ACCEPTED, S.TERMINATED), (E.RECV_REQUEST,),
     "the INVITE was received already: a copy is RECV_RETRANSMISSION"),
    ((S.PROCEEDING,), (E.RECV_ACK,), "no final reply was sent yet"),
    ((S.COMPLETED, S.CONFIRMED, S.TERMINATED), _TU, "a final reply was sent already"),
    ((S.ACCEPTED,), (E.TU_1XX, E.TU_3XX_6XX), "a 2xx was sent: only more 2xx may follow"),
    ((S.CONFIRMED,), (E.TRANSPORT_ERROR,), "the transaction sends nothing in Confirmed"),
)

# --- non-INVITE server transaction: §17.2.2, Figure 8 --------------------------
_NIST = (
    (S.IDLE,       E.RECV_REQUEST,        (TO_TU,),                                   S.TRYING),      # 17.2.2
    (S.TRYING,     E.RECV_RETRANSMISSION, (DROP,),                                    S.TRYING),      # 17.2.2
    (S.TRYING,     E.TU_1XX,              (REPLY,),                                   S.PROCEEDING),  # 17.2.2
    (S.TRYING,     E.TU_2XX,              (REPLY, Arm("J", "64*T1")),                 S.COMPLETED),   # 17.2.2
    (S.TRYING,     E.TU_3XX_6XX,          (REPLY, Arm("J", "64*T1")),                 S.COMPLETED),   # 17.2.2
    (S.PROCEEDING, E.RECV_RETRANSMISSION, (RESEND_REPLY,),                            S.PROCEEDING),  # 17.2.2
    (S.PROCEEDING, E.TU_1XX,              (REPLY,),                                   S.PROCEEDING),  # 17.2.2
    (S.PROCEEDING, E.TU_2XX,              (REPLY, Arm("J", "64*T1")),                 S.COMPLETED),   # 17.2.2
    (S.PROCEEDING, E.TU_3XX_6XX,          (REPLY, Arm("J", "64*T1")),                 S.COMPLETED),   # 17.2.2
    (S.PROCEEDING, E.TRANSPORT_ERROR,     (ERROR, END),                               S.TERMINATED),  # 17.2.2
    (S.COMPLETED,  E.RECV_RETRANSMISSION, (RESEND_REPLY,),                            S.COMPLETED),   # 17.2.2
    (S.COMPLETED,  E.TU_2XX,              (DROP,),                                    S.COMPLETED),   # 17.2.2
    (S.COMPLETED,  E.TU_3XX_6XX,          (DROP,),                                    S.COMPLETED),   # 17.2.2
    (S.COMPLETED,  E.TIMER_J,             (END,),                                     S.TERMINATED),  # 17.2.2
    (S.COMPLETED,  E.TRANSPORT_ERROR,     (ERROR, END),                               S.TERMINATED),  # 17.2.2
    *_absorb(S.TERMINATED, E.RECV_RETRANSMISSION, E.TRANSPORT_ERROR, E.TIMER_J),
)
_NIST_INVALID = (
    ((S.IDLE,), (E.RECV_RETRANSMISSION, *_TU, E.TRANSPORT_ERROR), "no request was received"),
    ((S.TRYING, S.PROCEEDING, S.COMPLETED, S.TERMINATED), (E.RECV_REQUEST,),
     "the request was received already: a copy is RECV_RETRANSMISSION"),
    ((S.TRYING,), (E.TRANSPORT_ERROR,), "nothing was sent yet"),
    ((S.COMPLETED,), (E.TU_1XX,), "a final reply was sent already"),
    ((S.TERMINATED,), _TU, "the transaction is over"),
)


def _build(machine, rows, invalid) -> dict:
    """(state, event) -> (action templates, next state) or the reason it is invalid.
    A timer event in a non-Terminated state where RUNNING says the timer does not
    run is invalid; every other pair must be listed exactly once."""
    table = {}

    def put(state, event, value):
        if state not in STATES[machine] or event not in EVENTS[machine]:
            raise RuntimeError("%s: %s/%s is not a state/event of this machine" % (machine, state, event))
        if (state, event) in table:
            raise RuntimeError("%s: %s, %s listed twice" % (machine, state, event))
        table[state, event] = value

    for state, event, actions, nxt in rows:
        put(state, event, (actions, nxt))
    for states, events, reason in invalid:
        for state in states:
            for event in events:
                put(state, event, reason)
    for state in STATES[machine]:
        for event in EVENTS[machine]:
            name = event.name[6:] if event.name.startswith("TIMER_") else None
            if name and state is not S.TERMINATED and name not in RUNNING[machine][state]:
                put(state, event, "Timer %s does not run in %s" % (name, state))
            elif (state, event) not in table:
                raise RuntimeError("%s: %s, %s is neither in the table nor invalid" % (machine, state, event))
    return table


TABLES = {
    Machine.ICT: _build(Machine.ICT, _ICT, _ICT_INVALID),
    Machine.NICT: _build(Machine.NICT, _NICT, _NICT_INVALID),
    Machine.IST: _build(Machine.IST, _IST, _IST_INVALID),
    Machine.NIST: _build(Machine.NIST, _NIST, _NIST_INVALID),
}


def step(machine, state, event, data=None, msg=None, timers: Timers = TIMERS):
    """One transition: `(actions, new_state, new_data)` for `event` in `state`.

    `data` is the transaction's dict (None in Idle: `new_data()`); it is not
    changed, the new one is returned.  `msg` is the message the event is about
    (the received reply or request, the TU's reply); it is passed through, as
    is, in PassToTU, SendReply and SendAck.  Raises ProtocolError for a pair
    the machine does not allow in that state.  Machine, state and event may be
    given as the enums or as their string values (as stored in shm)."""
    machine, state, event = Machine(machine), State(state), Event(event)
    entry = TABLES[machine].get((state, event))
    if entry is None:
        raise ProtocolError(machine, state, event, "not a state and event of this machine")
    if isinstance(entry, str):
        raise ProtocolError(machine, state, event, entry)
    templates, new_state = entry
    d = new_data()
    if data is not None:
        d.update(data)
    actions = []
    for tpl in templates:
        if isinstance(tpl, Arm):
            ms = _DURATION[tpl.spec](timers, d)
            if tpl.spec in _RETRANSMIT:
                d["rt"] = ms
            actions.append(StartTimer(tpl.name, ms))
        elif tpl is HOLD_CANCEL:
            d["cancel"] = CANCEL_ASKED
        elif isinstance(tpl, _Op):
            if d["cancel"] == CANCEL_ASKED or (tpl is SEND_CANCEL_ONCE and d["cancel"] == CANCEL_NONE):
                d["cancel"] = CANCEL_SENT
                actions.append(SendCancel())
        elif isinstance(tpl, _CARRIES_MSG):
            actions.append(type(tpl)(msg))
        else:
            actions.append(tpl)
    return actions, new_state, d


# --- what tm looks up: the same tables, keyed by the strings kept in shm --------
# tm stores a transaction's states as the RFC's names ("Calling", "Completed")
# in its shared-memory record and feeds events in as their string values
# ("recv_1xx", "timer_a"); `decide` is the table lookup of `step` without the
# expansion, cheap enough for every message: tm carries out the templates
# itself (it keeps its own clock, locks and per-transaction timer values).

def _plain(machine) -> dict:
    out = {}
    for (state, event), entry in TABLES[machine].items():
        if not isinstance(entry, str):
            templates, nxt = entry
            out[state.value, event.value] = (templates, nxt.value)
    return out


_PLAIN = {m.value: _plain(m) for m in Machine}
ICT, NICT, IST, NIST = "ICT", "NICT", "IST", "NIST"
# received reply, by status class (index code // 100), and the TU's reply
REPLY_EVENTS = (None, E.RECV_1XX.value, E.RECV_2XX.value) + (E.RECV_3XX_6XX.value,) * 4
TU_EVENTS = (None, E.TU_1XX.value, E.TU_2XX.value) + (E.TU_3XX_6XX.value,) * 4
# a client transaction whose final reply came (or was given up on)
CLIENT_DONE = frozenset((S.COMPLETED.value, S.ACCEPTED.value, S.TERMINATED.value))


def decide(machine: str, state: str, event: str):
    """(action templates, next state) for `event` in `state`, or None where the
    machine has no transition (a late message, a timer that no longer runs):
    the caller ignores the event then, as the RFC's transaction would."""
    return _PLAIN[machine].get((state, event))


def client_machine(method: str) -> str:
    return ICT if method == "INVITE" else NICT


def server_machine(method: str) -> str:
    return IST if method == "INVITE" else NIST


# Where a transaction goes from Idle on its first event (client: the request
# sent; server: the request received), and whether a server machine answers
# that request with a 100 Trying at once.
FIRST_STATE = {m: _PLAIN[m][S.IDLE.value, (E.SEND_REQUEST if m in (ICT, NICT) else E.RECV_REQUEST).value][1]
               for m in (ICT, NICT, IST, NIST)}
SENDS_TRYING = {m: TRYING in _PLAIN[m][S.IDLE.value, E.RECV_REQUEST.value][0] for m in (IST, NIST)}


def first_state(machine: str) -> str:
    return FIRST_STATE[machine]


class _T1T2:
    __slots__ = ("t1", "t2")

    def __init__(self, t1, t2):
        self.t1, self.t2 = t1, t2


def retransmit_ms(spec: str, rt_ms: int, t1: int, t2: int) -> int:
    """The interval an Arm of timer A, E or G gives, from the current one
    (tm's retr_timer1/retr_timer2 may differ per process start, not per table)."""
    return _RETRANSMIT[spec](_T1T2(t1, t2), {"rt": rt_ms})


def arm_spec(templates, name: str):
    """The duration spec of the Arm of timer `name` in templates, or None."""
    for tpl in templates:
        if tpl.__class__ is Arm and tpl.name == name:
            return tpl.spec
    return None
