# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared memory for kampy's processes (DESIGN.md section 2, STYLE.md rule 6).

The supervisor creates one Arena and, from it, every LockSet, Table,
TimerWheel and Counters the core and the modules need, then forks; the children
inherit all of it.  Nothing here is created after fork.
"""

from .arena import Arena, ShmError
from .counters import Counters
from .locks import LockSet, LockTimeout
from .shv import SharedVars
from .table import Table
from .timers import TimerWheel

__all__ = ["Arena", "Counters", "LockSet", "LockTimeout", "SharedVars", "ShmError",
           "Table", "TimerWheel"]
