# SPDX-License-Identifier: GPL-2.0-or-later
"""core.shmmem's figures: the tables' records, not their carved heaps."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.shm import Arena, Table
from kampy.shm.slab import PAGE


def test_shm_stats_count_what_the_tables_hold():
    rt = Runtime(compile_text("request_route {\n  drop;\n}\n", "t.cfg"))
    arena = Arena(32 << 20)
    try:
        t = Table(arena, "tm", 1024, 4, 8 << 20)
        rt.arena, rt.tables = arena, {"tm": t}
        empty = rt.shm_stats()
        carved = arena.used
        heap = t.mem_stats()["heap_bytes"]
        assert empty["total"] == 32 << 20 and empty["used"] == carved - heap
        assert empty["real_used"] == empty["max_used"] == empty["used"]
        assert empty["free"] == empty["total"] - empty["used"]
        for i in range(1000):
            t.put("r%d" % i, b"x" * 900)                 # 960-byte blocks, 68 a page
        full = rt.shm_stats()
        assert full["used"] - empty["used"] == t.mem_stats()["used_bytes"] >= 1000 * 960
        assert full["real_used"] - empty["used"] == 15 * PAGE          # ceil(1000 / 68) pages
        assert full["max_used"] == full["real_used"]
        for i in range(1000):
            t.delete("r%d" % i)
        t.trim()
        after = rt.shm_stats()
        assert after["used"] == after["real_used"] == empty["used"]
        assert after["max_used"] == full["max_used"]        # the high-water mark stays
    finally:
        arena.close()
