# SPDX-License-Identifier: GPL-2.0-or-later
"""Stateless nonces, and the nonce-count / one-time-nonce state shared by all
processes.

A nonce is checked by whichever worker receives the answer to a challenge,
so it carries everything needed to check it, sealed with a MAC whose key
(derived from the `secret` parameter, or random per start) is made before the
fork.  Layout, big-endian, then base64url without padding:

    0   u32  since     creation time (unix seconds)
    4   u32  expires   since + nonce_expire
    8   u32  nid       nonce id, for nonce_count / one_time_nonce (0 without)
    12  u8   pool      nid partition (nid_pool_no)
    13  u8   flags     1 nc tracked, 2 one-time tracked, 4 bound to message parts
    14  u32  random
    18  16   mac1      HMAC-SHA256(key1, bytes 0..17), truncated
    34  16   mac2      HMAC-SHA256(key2, bytes 0..33 + message parts), only with flag 4

Kamailio's nonces are laid out differently (MD5 based), so a nonce of one
cannot be checked by the other; everything a user sees (lifetimes, checks,
return codes) is the same.

Shared state lives in the module's shm table ("auth"), as Kamailio keeps it
in shm arrays:
    "n<pool>"    the last nid given out in that partition (u32, wraps)
    "c<group>"   256 bytes: the highest nc seen of 256 nonce slots
    "o<group>"   256 bytes: 2048 bits, set once a nonce slot was used
A slot is reused by the nonce `size` ids later; an answer whose nid is that
far behind its partition's counter is stale (Kamailio's in-flight limit).
"""

import base64
import hashlib
import hmac
import struct

VALID, INVALID, STALE, REUSED = 0, -1, 4, 6

F_NC, F_OTN, F_EXTRA = 1, 2, 4

_HEAD = struct.Struct(">IIIBBI")
_HEAD_LEN = _HEAD.size          # 18
_MAC = 16
_U32 = 0xFFFFFFFF
NC_GROUP = 256                  # nc slots per record (one byte each)
OTN_GROUP = 2048                # one-time slots per record (one bit each)
NC_MAX = 255                    # Kamailio keeps nc in a byte: higher means re-challenge


def derive_keys(secret) -> tuple:
    """Two independent MAC keys from the configured (or random) secret."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8", "surrogateescape")
    k1 = hmac.new(secret, b"kampy auth nonce mac1", hashlib.sha256).digest()
    k2 = hmac.new(secret, b"kampy auth nonce mac2", hashlib.sha256).digest()
    return k1, k2


def _mac(key, data) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()[:_MAC]


def _parts_bytes(parts) -> bytes:
    return b"\x00".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)


def make(keys, now: int, expire: int, nid: int = 0, pool: int = 0, flags: int = 0,
         rand: int = 0, parts=None) -> str:
    """A new nonce; `parts` (message parts per auth_checks_*) binds it to them."""
    if parts is not None:
        flags |= F_EXTRA
    head = _HEAD.pack(now & _U32, (now + expire) & _U32, nid & _U32, pool, flags, rand & _U32)
    raw = head + _mac(keys[0], head)
    if parts is not None:
        raw += _mac(keys[1], raw + _parts_bytes(parts))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Decoded:
    """The fields of a nonce whose mac1 verified."""

    __slots__ = ("since", "expires", "nid", "pool", "flags", "raw")

    def __init__(self, raw):
        self.since, self.expires, self.nid, self.pool, self.flags, _ = _HEAD.unpack_from(raw)
        self.raw = raw


def decode(keys, nonce: str):
    """The Decoded nonce, or None when it is not one of ours (bad MAC or shape)."""
    if not isinstance(nonce, str) or not 40 <= len(nonce) <= 80:
        return None
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) not in (_HEAD_LEN + _MAC, _HEAD_LEN + 2 * _MAC):
        return None
    head = raw[:_HEAD_LEN]
    if not hmac.compare_digest(raw[_HEAD_LEN:_HEAD_LEN + _MAC], _mac(keys[0], head)):
        return None
    d = Decoded(raw)
    if bool(d.flags & F_EXTRA) != (len(raw) == _HEAD_LEN + 2 * _MAC):
        return None
    return d


def check_parts(keys, d: Decoded, parts) -> bool:
    """Do the message parts match those the nonce was bound to?"""
    if parts is None:
        return not d.flags & F_EXTRA
    if not d.flags & F_EXTRA:
        return False
    body = d.raw[:_HEAD_LEN + _MAC]
    return hmac.compare_digest(d.raw[_HEAD_LEN + _MAC:], _mac(keys[1], body + _parts_bytes(parts)))


def since_ok(d: Decoded, now: int, up_since: int, max_drift: int) -> bool:
    """False (stale) for a nonce made before this start of kampy, or made
    more than max_drift seconds in the future (Kamailio's checks)."""
    if d.since < up_since and d.since < now:
        return False
    return not (d.since > now and d.since - now > max_drift)


def expired(d: Decoded, now: int) -> bool:
    return d.expires < now


# --- shared state ----------------------------------------------------------------------

class Tracker:
    """nid counters, nc bytes and one-time bits over a shared table."""

    def __init__(self, table, pools: int, nc_size: int, otn_size: int):
        self.t = table
        self.pools = pools
        self.nc_part = max(1, nc_size // pools)
        self.otn_part = max(1, otn_size // pools)

    # nonce ids
    def new_nid(self, pool: int):
        """The next nid of the partition, or None when the table is full."""
        res = self.t.update("n%d" % pool, lambda v: ((v or 0) + 1) & _U32, 0)
        return None if res is self.t.FULL else res

    def _behind(self, nid: int, pool: int, part: int) -> bool:
        cur = self.t.get("n%d" % pool)
        return cur is None or ((cur - nid) & _U32) >= part

    def _slot(self, nid, pool, part):
        return pool * part + nid % part

    # nonce count
    def nc_new(self, nid: int, pool: int) -> bool:
        idx = self._slot(nid, pool, self.nc_part)
        g, off = divmod(idx, NC_GROUP)

        def reset(v):
            b = bytearray(v if v else b"\xff" * NC_GROUP)
            b[off] = 0
            return bytes(b)
        return self.t.update("c%d" % g, reset) is not self.t.FULL

    def nc_check(self, nid: int, pool: int, nc: int, commit: bool) -> int:
        """VALID when nc is above the one last accepted (and, with commit,
        records it atomically); STALE otherwise, as Kamailio re-challenges."""
        if pool >= self.pools or nc > NC_MAX or nc < 1 or self._behind(nid, pool, self.nc_part):
            return STALE
        g, off = divmod(self._slot(nid, pool, self.nc_part), NC_GROUP)
        key = "c%d" % g
        if not commit:
            v = self.t.get(key)
            return VALID if v is not None and v[off] < nc else STALE
        seen = []

        def bump(v):
            if v is None or v[off] >= nc:
                seen.append(False)
                return self.t.KEEP
            seen.append(True)
            b = bytearray(v)
            b[off] = nc
            return bytes(b)
        res = self.t.update(key, bump)
        return VALID if res is not self.t.FULL and seen and seen[0] else STALE

    # one-time nonces
    def otn_new(self, nid: int, pool: int) -> bool:
        g, bit = divmod(self._slot(nid, pool, self.otn_part), OTN_GROUP)

        def clear(v):
            b = bytearray(v if v else b"\xff" * (OTN_GROUP // 8))
            b[bit >> 3] &= ~(1 << (bit & 7)) & 0xFF
            return bytes(b)
        return self.t.update("o%d" % g, clear) is not self.t.FULL

    def otn_check(self, nid: int, pool: int, commit: bool) -> int:
        """VALID for a slot not used yet (and, with commit, marks it used);
        REUSED otherwise."""
        if pool >= self.pools or self._behind(nid, pool, self.otn_part):
            return REUSED
        g, bit = divmod(self._slot(nid, pool, self.otn_part), OTN_GROUP)
        key = "o%d" % g
        mask = 1 << (bit & 7)
        if not commit:
            v = self.t.get(key)
            return VALID if v is not None and not v[bit >> 3] & mask else REUSED
        seen = []

        def mark(v):
            if v is None or v[bit >> 3] & mask:
                seen.append(False)
                return self.t.KEEP
            seen.append(True)
            b = bytearray(v)
            b[bit >> 3] |= mask
            return bytes(b)
        res = self.t.update(key, mark)
        return VALID if res is not self.t.FULL and seen and seen[0] else REUSED


def table_size(pools: int, nc_size: int, otn_size: int) -> tuple:
    """(buckets, heap bytes) of the shared table for these sizes."""
    records = pools + 8
    if nc_size:
        records += max(1, nc_size // NC_GROUP) + pools
    if otn_size:
        records += max(1, otn_size // OTN_GROUP) + pools
    buckets = 64
    while buckets < records and buckets < (1 << 20):
        buckets <<= 1
    # a 256-byte value with its record header fits a 512-byte block; twice that
    # leaves the allocator room
    return buckets, records * 1024 + 64 * 1024
