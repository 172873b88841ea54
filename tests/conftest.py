# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared fixtures.  A test that needs an outside tool (sipp, PostgreSQL)
asks for it with `require_tool`: under CI=true a missing tool fails the test,
on a developer machine it skips."""

import os

import pytest

from toolcheck import IN_CI, find_tool, require_tool  # noqa: F401


@pytest.fixture
def sipp():
    return require_tool("sipp")


@pytest.fixture
def pg_bin():
    return os.path.dirname(require_tool("postgres"))
