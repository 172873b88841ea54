# SPDX-License-Identifier: GPL-2.0-or-later
"""Per-process counters summed on read, and $shv on a Table."""

import pytest

from kampy.shm import Counters, SharedVars, ShmError, Table


def test_counters_from_forked_processes_sum_exactly(arena, children):
    c = Counters(arena, ["rcv_requests", "fwd_requests", "drops"], nslots=5)
    c.inc("drops", 2)                                 # the supervisor counts in slot 0
    per = 20000

    def worker(rank):
        c.set_slot(rank)
        i = c.index("fwd_requests")
        for _ in range(per):
            c.inc("rcv_requests")
            c.inc_idx(i, 2)

    for rank in range(1, 5):
        children.fork(worker, rank)
    assert children.wait_all() == [0] * 4
    assert c.get("rcv_requests") == 4 * per
    assert c.get_all() == {"rcv_requests": 4 * per, "fwd_requests": 8 * per, "drops": 2}
    c.reset("rcv_requests")
    assert c.get("rcv_requests") == 0 and c.get("fwd_requests") == 8 * per
    assert c.names() == ["rcv_requests", "fwd_requests", "drops"]


def test_counters_reject_unknown_names_and_slots(arena):
    c = Counters(arena, ["a"], nslots=2)
    with pytest.raises(KeyError):
        c.inc("b")
    with pytest.raises(KeyError):
        c.get("b")
    with pytest.raises(KeyError):
        c.index("b")
    with pytest.raises(ShmError):
        c.set_slot(2)
    with pytest.raises(ShmError):
        Counters(arena, ["a", "a"], 1)


def test_shared_vars(arena, children):
    shv = SharedVars(Table(arena, "shv", 16, 4, 1 << 20))
    assert shv.get("x") is None and shv.get("x", 0) == 0
    assert shv.set("x", 5) and shv.set("name", "alice")

    def child():
        assert shv.get("x") == 5
        shv.set("x", "from child")
        shv.set("name", None)

    assert children.wait(children.fork(child)) == 0
    assert shv.get("x") == "from child" and shv.get("name") is None
    assert dict(shv.items()) == {"x": "from child"}
