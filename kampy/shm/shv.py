# SPDX-License-Identifier: GPL-2.0-or-later
"""$shv(name): script variables shared by every process, kept in a Table.

A thin layer so that the pv module's $shv and the RPC commands that dump or
set shared variables agree on one place and one meaning: setting None (the
config's `$shv(x) = $null;`) deletes the variable.
"""

__all__ = ["SharedVars"]


class SharedVars:
    """Named values in a shm Table; names are str, values int/str (any msgpack type works)."""

    def __init__(self, table):
        self.table = table

    def get(self, name: str, default=None):
        return self.table.get(name, default)

    def set(self, name: str, value) -> bool:
        """False only when the table is full (logged and counted by the table)."""
        if value is None:
            self.table.delete(name)
            return True
        return self.table.put(name, value)

    def items(self):
        return self.table.items()

    def __repr__(self):
        return "<SharedVars in %r>" % (self.table,)
