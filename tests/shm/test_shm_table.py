# SPDX-License-Identifier: GPL-2.0-or-later
"""Table in one process: the API, collisions, sizes, exhaustion, headers, gc."""

import logging
import os
import select
import time

import msgpack
import pytest

from kampy.shm import Arena, ShmError, Table
from kampy.shm.slab import PAGE


def make(arena, buckets=64, nlocks=8, heap=1 << 20, **kw):
    return Table(arena, "t", buckets, nlocks, heap, **kw)


def test_insert_get_put_delete_len(arena):
    t = make(arena)
    assert len(t) == 0 and t.get("a") is None and t.get("a", 5) == 5
    assert t.insert("a", {"x": 1, "y": [1, 2, 3]})
    assert not t.insert("a", "other")
    assert t.get("a") == {"x": 1, "y": [1, 2, 3]}
    assert t.put("a", "replaced")
    assert t.put("b", 2)
    assert t.get("a") == "replaced" and len(t) == 2
    assert "b" in t and "c" not in t
    assert t.delete("a") and not t.delete("a")
    assert len(t) == 1 and t.get("a") is None
    assert t.verify() == []


def test_values_round_trip_msgpack_types(arena):
    t = make(arena)
    v = {"s": "text", "b": b"\x00\xffbin", 1: "int key", "n": None, "f": 1.5,
         "l": [True, False, -(2 ** 63)], "nested": {"t": (1, 2)}}
    t.put("k", v)
    got = t.get("k")
    assert got["b"] == b"\x00\xffbin" and isinstance(got["b"], bytes)
    assert got[1] == "int key"
    assert got["nested"]["t"] == [1, 2]
    assert {k: got[k] for k in ("s", "n", "f", "l")} == {k: v[k] for k in ("s", "n", "f", "l")}
    with pytest.raises(TypeError):
        t.put("bad", object())
    assert "bad" not in t


def test_unicode_and_binary_keys(arena):
    t = make(arena)
    keys = ["ключ", "日本語のキー", "emoji-\U0001f600", b"\x00\x01\xff\xfe", b"", b"a" * 1000]
    for i, k in enumerate(keys):
        assert t.insert(k, i)
    for i, k in enumerate(keys):
        assert t.get(k) == i
    assert t.get("ключ".encode()) == 0      # a str key is its UTF-8 bytes
    got = dict(t.items())
    assert got == {k: i for i, k in enumerate(keys)}      # "a" != b"a": types kept
    assert t.verify() == []


def test_str_and_bytes_name_the_same_record(arena):
    t = make(arena)
    t.put("sip", 1)
    assert not t.insert(b"sip", 2)
    t.put(b"sip", 3)
    assert t.get("sip") == 3 and len(t) == 1
    assert list(t.items()) == [(b"sip", 3)]


def test_collisions_in_one_bucket(arena):
    t = make(arena, buckets=1, nlocks=1)
    for i in range(300):
        assert t.insert("k%d" % i, i)
    for i in range(0, 300, 3):
        assert t.delete("k%d" % i)
    for i in range(1, 300, 3):
        assert t.put("k%d" % i, -i)
    for i in range(300):
        assert t.get("k%d" % i) == (None if i % 3 == 0 else -i if i % 3 == 1 else i)
    assert len(t) == 200 and t.verify() == []


def test_full_hash_collisions_compare_keys(arena):
    t = make(arena, buckets=4)
    t._hash = lambda kb: 12345
    for k in ("a", "b", "ab", "ba", b"a\x00"):
        assert t.insert(k, k)
    assert t.get("a") == "a" and t.get(b"a\x00") == b"a\x00" and t.get("abc") is None
    assert t.delete("ab") and t.get("ba") == "ba"
    assert t.verify() == []


def _max_value(t, key):
    """The longest bytes value that still fits in the largest class."""
    room = Table.MAX_RECORD - t._koff - len(key)
    n = room - 5
    while len(msgpack.packb(b"x" * (n + 1), use_bin_type=True)) <= room:
        n += 1
    while len(msgpack.packb(b"x" * n, use_bin_type=True)) > room:
        n -= 1
    return n


def test_values_of_every_size_class_and_one_too_big(arena, caplog):
    t = make(arena, heap=4 << 20)
    sizes = [0, 1, 20, 23, 24, 60, 100, 200, 1000, 4000, 16000, 40000, 60000]
    for n in sizes:
        assert t.put("v%d" % n, b"y" * n), n
    big = _max_value(t, "max")
    assert t.put("max", b"z" * big)
    for n in sizes:
        assert t.get("v%d" % n) == b"y" * n
    assert t.get("max") == b"z" * big
    caplog.set_level(logging.ERROR, logger="kampy.shm")
    assert not t.put("max", b"z" * (big + 1))       # refused: the old value stays
    assert t.errors_full == 1
    assert "refused a record" in caplog.text
    assert t.get("max") == b"z" * big
    assert t.update("max", lambda v: v + b"z") is Table.FULL
    assert t.errors_full == 2 and t.get("max") == b"z" * big
    assert t.verify() == []


def test_heap_exhaustion_fails_cleanly_and_frees_work(arena, caplog):
    t = make(arena, heap=PAGE)                      # one page: 68 blocks of 960 bytes
    caplog.set_level(logging.ERROR, logger="kampy.shm")
    n = 0
    while t.insert("r%d" % n, b"p" * 900):
        n += 1
    assert n == PAGE // 960
    assert t.errors_full == 1 and "heap full" in caplog.text
    assert not t.put("r0", b"q" * 900)              # no room for the new version either
    assert t.get("r0") == b"p" * 900
    assert t.update("r1", lambda v: b"q" * 900) is Table.FULL
    # even a smaller version needs a fresh block before the old one goes
    assert t.update("r1", lambda v: b"small") is Table.FULL
    assert t.verify() == []
    for i in range(n):
        t.delete("r%d" % i)
    assert t.mem_stats()["used_bytes"] == 0 and t.mem_stats()["free_pages"] == 1
    # a page freed by one size class serves another
    assert t.put("huge", b"h" * 60000)
    assert not t.put("tiny", 1)
    assert t.delete("huge")
    assert all(t.insert("s%d" % i, i) for i in range(1024))
    assert t.verify() == []


def test_update_semantics(arena):
    t = make(arena)
    assert t.update("n", lambda v: (v or 0) + 1) == 1
    assert t.update("n", lambda v: v + 1) == 2
    assert t.update("absent", lambda v: Table.KEEP) is Table.KEEP
    assert "absent" not in t
    assert t.update("absent", lambda v: Table.DELETE) is Table.DELETE
    assert t.update("d", lambda v: v + [1], default=[]) == [1]
    assert t.update("d", lambda v: Table.KEEP) is Table.KEEP and t.get("d") == [1]
    t.put("h", "x", expires=9.5, flags=4)
    assert t.update("h", lambda v: v * 2) == "xx"
    assert t.header("h") == (9.5, 4)                 # update keeps the header

    def boom(v):
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        t.update("n", boom)
    assert t.get("n") == 2 and t.update("n", lambda v: v + 1) == 3   # lock was released
    assert t.update("n", lambda v: Table.DELETE) is Table.DELETE and "n" not in t
    assert t.verify() == []


def test_header_scan_and_collect_expired(arena):
    t = make(arena, header_fields=("state",))
    for i in range(50):
        t.put("k%d" % i, {"big": "v" * i}, expires=100.0 + i, flags=i % 4, state=i % 3)
    t.put("forever", 1)
    assert t.header("k7") == (107.0, 3, 1) and t.header("forever") == (0.0, 0, 0)
    assert t.header("nope") is None
    assert t.set_header("k7", expires=500.0)
    assert t.set_header("k8", flags=9, state=2)
    assert not t.set_header("nope", flags=1)
    assert t.header("k7") == (500.0, 3, 1) and t.header("k8") == (108.0, 9, 2)
    with pytest.raises(TypeError):
        t.set_header("k7", colour=1)
    seen = []
    t.scan(lambda key, expires, flags, state: seen.append((key, flags, state)))
    assert len(seen) == 51 and ("k8", 9, 2) in seen
    gone = t.collect_expired(120.0)
    assert sorted(gone) == sorted("k%d" % i for i in range(21) if i != 7)
    assert len(t) == 31 and t.get("k7") == {"big": "v" * 7} and "forever" in t
    dropped = t.scan(lambda key, expires, flags, state: state == 2)
    assert "k8" not in t and all(t.header(k)[2] != 2 for k in t.keys())
    assert len(t) == 31 - len(dropped)
    assert t.collect_expired(10 ** 9) and list(t.keys()) == ["forever"]
    assert t.verify() == []


def test_update_reads_and_sets_the_header_it_is_given(arena):
    from kampy.runtime import LocalTable
    for t in (make(arena, header_fields=("state",)), LocalTable("t")):
        t.put("a", {"n": 1}, expires=5.0, flags=2, **({"state": 7} if isinstance(t, Table) else {}))
        seen = {}

        def bump(v, h=seen):
            h["before"] = (h["expires"], h["flags"])
            h["flags"] |= 8
            return {"n": v["n"] + 1}
        hdr = {}
        assert t.update("a", lambda v: bump(v, hdr), header=hdr) == {"n": 2}
        assert (hdr["expires"], hdr["flags"]) == (5.0, 10)
        assert t.get("a") == {"n": 2} and t.header("a")[:2] == (5.0, 10)
        if isinstance(t, Table):
            assert t.header("a")[2] == 7          # the other header fields are kept
        # KEEP changes nothing even if fn touched the header
        hdr = {}
        assert t.update("a", lambda v: (hdr.update(flags=0), t.KEEP)[1], header=hdr) is t.KEEP
        assert t.header("a")[:2] == (5.0, 10)
        # a record created by update starts from a zero header
        hdr = {}
        t.update("b", lambda v: (hdr.update(flags=hdr["flags"] | 1), "new")[1], header=hdr)
        assert t.header("b")[:2] == (0.0, 1) and t.get("b") == "new"
        assert t.header("zz") is None


def test_items_is_a_snapshot_across_buckets(arena):
    t = make(arena, buckets=16, nlocks=4)
    want = {"k%d" % i: [i, "v"] for i in range(200)}
    for k, v in want.items():
        t.put(k, v)
    assert dict(t.items()) == want
    it = t.items()
    next(it)
    t.put("late", 1)                                 # no lock is held between items
    assert len(dict(it)) >= 199


def test_layout_bytes_is_enough():
    need = Table.layout_bytes(1000, 16, 3 * PAGE + 1)
    with Arena(need) as a:
        t = Table(a, "sized", 1000, 16, 3 * PAGE + 1)
        assert a.used <= need
        assert t.mem_stats()["pages"] == 4
    with Arena(need // 2) as a:
        with pytest.raises(ShmError, match="too small"):
            Table(a, "sized", 1000, 16, 3 * PAGE + 1)


def test_bad_parameters(arena):
    with pytest.raises(ShmError):
        Table(arena, "x", 0, 1, PAGE)
    with pytest.raises(ShmError):
        Table(arena, "x", 8, 1, PAGE, header_fields=("flags",))
    t = make(arena, header_fields=("a",))
    with pytest.raises(TypeError):
        t.put("k", 1, b=2)


def _rss_shmem_kb(pid="self"):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("RssShmem:"):
            return int(line.split()[1])
    raise AssertionError("no RssShmem in /proc/%s/status" % pid)


def test_release_free_gives_pooled_pages_back_to_the_kernel(arena, children):
    """A burst leaves its pages resident in every process until release_free
    discards the pooled ones (all but 16 plus an eighth of those in use)."""
    t = make(arena, buckets=4096, nlocks=8, heap=16 << 20)
    before = _rss_shmem_kb()
    n = 8000                                         # 960-byte blocks: 68 a page, 118 pages
    assert all(t.insert("r%d" % i, b"x" * 900) for i in range(n))
    burst = _rss_shmem_kb() - before
    assert burst >= 7000, burst
    # a child that has read every record maps the same pages
    rd, wr = os.pipe()

    def reader():
        assert all(t.get("r%d" % i) == b"x" * 900 for i in range(n))
        os.write(wr, b"1")
        time.sleep(30)
    child = children.fork(reader)
    os.close(wr)
    ready, _, _ = select.select([rd], [], [], 15)
    assert ready and os.read(rd, 1) == b"1"
    os.close(rd)
    in_child = _rss_shmem_kb(child)
    assert in_child >= 7000, in_child
    for i in range(n):
        assert t.delete("r%d" % i)
    assert _rss_shmem_kb() - before >= burst - 64     # freed, but still resident
    t.trim()                                         # spares too, so every page is pooled
    assert t.mem_stats()["free_pages"] == t.mem_stats()["pages"]
    assert t.release_free() == -(-n // (PAGE // 960)) - 16
    assert _rss_shmem_kb() - before <= 16 * 64 + 256, _rss_shmem_kb() - before
    assert in_child - _rss_shmem_kb(child) >= 6500       # gone from the child too
    assert t.release_free() == 0                     # discarded pages are not discarded again
    assert t.verify() == []
    # the discarded pages serve again, with the right contents
    assert all(t.insert("s%d" % i, ("v%d" % i).encode() * 50) for i in range(n))
    assert all(t.get("s%d" % i) == ("v%d" % i).encode() * 50 for i in range(0, n, 97))
    assert t.verify() == [] and t.release_free() == 0


def test_size_classes_are_fine_steps():
    """A record one byte past a class costs 16 bytes more up to 1 KiB and at
    most an eighth more up to 16 KiB: with powers of two alone a 513-byte tm
    stub took 1 KiB."""
    from kampy.shm.slab import MAX_BLOCK, SIZES, size_class
    assert SIZES[0] == 64 and MAX_BLOCK == SIZES[-1] == PAGE
    assert all(z % 16 == 0 for z in SIZES)
    assert all(b - a == 16 for a, b in zip(SIZES, SIZES[1:]) if b <= 1024)
    assert all(b / a <= 1.125 for a, b in zip(SIZES, SIZES[1:]) if 1024 <= a and b <= 16384)
    for n in range(1, MAX_BLOCK + 2, 7):
        c = size_class(n)
        if n > MAX_BLOCK:
            assert c == -1
        else:
            assert SIZES[c] >= n and (c == 0 or SIZES[c - 1] < n), n
    assert size_class(MAX_BLOCK) == len(SIZES) - 1 and size_class(MAX_BLOCK + 1) == -1


def test_a_record_just_past_a_class_takes_the_next_step(arena):
    t = make(arena, buckets=512, nlocks=1)
    key_and_header = 40 + len(b"k0000")
    for i in range(200):
        t.put("k%04d" % i, b"x" * (513 - key_and_header - 3))     # 513 bytes with msgpack's bin8 header
    st = t.mem_stats()
    assert st["used_bytes"] - st["spare_bytes"] == 200 * 528, st
    assert t.verify() == []


def test_a_delete_keeps_a_spare_only_from_a_dense_page(arena):
    """A spare takes the stripe's next record to where it lay: from a sparse
    page that would keep the page from ever emptying."""
    t = make(arena, buckets=8, nlocks=1)
    for i in range(3):
        t.put("s%d" % i, b"x" * 900)                 # 3 of 68 blocks of a page
    assert t.delete("s0")
    assert t.mem_stats()["spare_bytes"] == 0         # sparse: back to the heap
    for i in range(60):
        t.put("d%d" % i, b"y" * 900)                 # now 62 of 68
    assert t.delete("d0")
    assert t.mem_stats()["spare_bytes"] == 960       # dense: kept as the spare
    assert t.verify() == []
