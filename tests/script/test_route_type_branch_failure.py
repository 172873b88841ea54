# SPDX-License-Identifier: GPL-2.0-or-later
"""event_route[tm:branch-failure:NAME] is checked as a branch failure route."""

import pytest

from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text

HEAD = ('listen=udp:127.0.0.1:5399\nloadmodule "tm"\nloadmodule "sl"\nloadmodule "rr"\n'
        'request_route { t_on_branch_failure("bf"); t_relay(); }\n')


def test_branch_failure_event_route_allows_what_branch_failure_routes_allow():
    compile_text(HEAD + 'event_route[tm:branch-failure:bf] { if (t_check_status("486")) t_relay(); }\n', "t.cfg")


def test_branch_failure_event_route_refuses_request_route_functions():
    with pytest.raises(ConfigErrors) as ei:
        compile_text(HEAD + 'event_route[tm:branch-failure:bf] { loose_route(); }\n', "t.cfg")
    assert "function 'loose_route' cannot be used in branch_failure_route" in str(ei.value)
