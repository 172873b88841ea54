# SPDX-License-Identifier: GPL-2.0-or-later
"""The nonce codec and the nc / one-time tracker, on canned values: a
nonce is only ours when its MAC verifies, times and message parts are
checked as documented, and the tracker works over a real shm Table."""

import base64

import pytest

from kampy import shm
from kampy.runtime import LocalTable

from kampy.modules.auth import nonce as N

KEYS = N.derive_keys("secret")


def test_auth_nonce_round_trip_and_token_characters():
    n = N.make(KEYS, 1_700_000_000, 300, nid=42, pool=3, flags=N.F_NC, rand=7)
    assert len(n) == 46 and all(c.isalnum() or c in "-_" for c in n)
    d = N.decode(KEYS, n)
    assert (d.since, d.expires, d.nid, d.pool, d.flags) == (1_700_000_000, 1_700_000_300, 42, 3, N.F_NC)
    assert N.decode(N.derive_keys("other"), n) is None


def test_auth_nonce_any_changed_byte_is_refused():
    n = N.make(KEYS, 1_700_000_000, 300)
    raw = bytearray(base64.urlsafe_b64decode(n + "=="))
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 1
        assert N.decode(KEYS, base64.urlsafe_b64encode(bytes(bad)).rstrip(b"=").decode()) is None, i
    for junk in ("", "x" * 46, "!" * 46, n[:-1], n + "A"):
        assert N.decode(KEYS, junk) is None


def test_auth_nonce_bound_to_message_parts():
    n = N.make(KEYS, 1_700_000_000, 300, parts=[b"sip:example.org", b"call-1"])
    d = N.decode(KEYS, n)
    assert d.flags & N.F_EXTRA and len(n) == 67
    assert N.check_parts(KEYS, d, [b"sip:example.org", b"call-1"])
    assert not N.check_parts(KEYS, d, [b"sip:example.org", b"call-2"])
    assert not N.check_parts(KEYS, d, None)
    plain = N.decode(KEYS, N.make(KEYS, 1_700_000_000, 300))
    assert N.check_parts(KEYS, plain, None) and not N.check_parts(KEYS, plain, [b"x"])


def test_auth_nonce_times():
    d = N.decode(KEYS, N.make(KEYS, 1000, 300))
    assert N.since_ok(d, 1000, 900, 3) and not N.expired(d, 1000)
    assert not N.expired(d, 1300)
    assert N.expired(d, 1301)
    assert not N.since_ok(d, 996, 900, 3)          # from 4 s in the future
    assert N.since_ok(d, 997, 900, 3)
    assert not N.since_ok(d, 1100, 1050, 3)        # made before this start


def shm_table(pools, nc, otn):
    buckets, heap = N.table_size(pools, nc, otn)
    return shm.Table(shm.Arena(heap + 4 * 1024 * 1024), "auth", buckets=buckets, nlocks=8,
                     heap_bytes=heap)


@pytest.mark.parametrize("kind", ["local", "shm"])
def test_auth_tracker_nonce_counts(kind):
    table = LocalTable("auth") if kind == "local" else shm_table(2, 1024, 0)
    tr = N.Tracker(table, 2, 1024, 0)
    a = tr.new_nid(0)
    b = tr.new_nid(1)
    assert (a, b) == (1, 1)
    assert tr.nc_new(a, 0) and tr.nc_new(b, 1)
    assert tr.nc_check(a, 0, 1, False) == N.VALID
    assert tr.nc_check(a, 0, 1, True) == N.VALID
    assert tr.nc_check(a, 0, 1, True) == N.STALE
    assert tr.nc_check(b, 1, 1, True) == N.VALID      # other pool, own slot
    assert tr.nc_check(a, 0, 255, True) == N.VALID
    assert tr.nc_check(a, 0, 256, False) == N.STALE
    assert tr.nc_check(a, 2, 1, False) == N.STALE     # no such pool
    assert tr.nc_check(99, 0, 1, False) == N.STALE    # never given out
    for _ in range(512):                              # the partition wraps over a's slot
        tr.new_nid(0)
    assert tr.nc_check(a, 0, 2, False) == N.STALE


@pytest.mark.parametrize("kind", ["local", "shm"])
def test_auth_tracker_one_time(kind):
    table = LocalTable("auth") if kind == "local" else shm_table(1, 0, 4096)
    tr = N.Tracker(table, 1, 0, 4096)
    ids = [tr.new_nid(0) for _ in range(3)]
    for i in ids:
        assert tr.otn_new(i, 0)
    assert tr.otn_check(ids[1], 0, False) == N.VALID
    assert tr.otn_check(ids[1], 0, True) == N.VALID
    assert tr.otn_check(ids[1], 0, True) == N.REUSED
    assert tr.otn_check(ids[0], 0, True) == N.VALID and tr.otn_check(ids[2], 0, True) == N.VALID
    assert tr.otn_check(77, 0, True) == N.REUSED


def test_auth_table_size_holds_the_kamailio_defaults():
    buckets, heap = N.table_size(1, 1 << 20, 1 << 20)
    table = shm.Table(shm.Arena(heap + 8 * 1024 * 1024), "auth", buckets=buckets, nlocks=64,
                      heap_bytes=heap)
    tr = N.Tracker(table, 1, 1 << 20, 1 << 20)
    groups = (1 << 20) // N.NC_GROUP
    for g in range(groups):                       # touch every nc record once
        assert tr.nc_new(g * N.NC_GROUP + 1, 0)
    for g in range((1 << 20) // N.OTN_GROUP):
        assert tr.otn_new(g * N.OTN_GROUP + 1, 0)
    assert table.errors_full == 0
