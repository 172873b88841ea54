# SPDX-License-Identifier: GPL-2.0-or-later
"""The timer process's own job: giving unused shared-table pages back."""

import types

from kampy import timer
from kampy.runtime import LocalTable
from kampy.shm import Arena, Table


def test_release_free_pages_covers_every_shared_table():
    arena = Arena(32 << 20)
    try:
        big = Table(arena, "big", 1024, 4, 8 << 20)
        small = Table(arena, "small", 64, 4, 1 << 20)
        for i in range(4000):
            big.put("r%d" % i, b"x" * 900)              # 59 pages of 960-byte blocks
        for i in range(4000):
            big.delete("r%d" % i)
        rt = types.SimpleNamespace(tables={"big": big, "small": small, "local": LocalTable("local")})
        # every page is pooled once the spares are back; 16 stay resident
        assert timer.release_free_pages(rt) == 59 - 16
        assert timer.release_free_pages(rt) == 0
        assert big.verify() == [] and small.verify() == []
    finally:
        arena.close()
