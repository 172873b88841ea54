# SPDX-License-Identifier: GPL-2.0-or-later
"""Outside tools the tests drive (sipp, PostgreSQL): under CI=true a missing
tool fails the test; on a developer machine it skips."""

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def find_tool(name):
    """Path of an executable, also looking in PostgreSQL's versioned bin folders."""
    path = shutil.which(name)
    if path:
        return path
    base = "/usr/lib/postgresql"
    if os.path.isdir(base):
        for ver in sorted(os.listdir(base), reverse=True):
            cand = os.path.join(base, ver, "bin", name)
            if os.access(cand, os.X_OK):
                return cand
    return None


def require_tool(name):
    path = find_tool(name)
    if path is None:
        msg = "%s is not installed (make test installs it with apt-get)" % name
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path
