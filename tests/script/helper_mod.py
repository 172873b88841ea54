# SPDX-License-Identifier: GPL-2.0-or-later
"""A module loaded by path from tests: functions that fail or stop."""

from kampy.module import Func, Module


def boom(ctx) -> int:
    raise RuntimeError("boom")


def always_zero(ctx) -> int:
    return 0


exports = Module(name="helper_mod", functions=[Func("boom", boom), Func("always_zero", always_zero)])
