# SPDX-License-Identifier: GPL-2.0-or-later
"""tmx: loads, and names every tmx function as not supported yet."""

import pytest

from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text

FUNCS = ("t_cancel_branches", "t_cancel_callid", "t_reply_callid", "t_flush_flags",
         "t_flush_xflags", "t_is_failure_route", "t_is_branch_route", "t_is_reply_route",
         "t_is_request_route", "t_suspend", "t_continue", "t_reuse_branch",
         "t_precheck_trans", "t_drop")


def test_loads_without_dependencies():
    script = compile_text('loadmodule "tmx"\nrequest_route { }\n', "t.cfg")
    mod = script.modules["tmx"]
    assert mod.functions == [] and mod.depends == []
    assert set(FUNCS) <= set(mod.unsupported)


@pytest.mark.parametrize("name", FUNCS)
def test_each_function_is_reported(name):
    with pytest.raises(ConfigErrors) as ei:
        compile_text('loadmodule "tmx"\nrequest_route {\n    %s();\n}\n' % name, "t.cfg")
    assert str(ei.value) == "t.cfg:3:5: function '%s' of module tmx is not supported by kampy" % name


def test_without_tmx_the_function_is_unknown():
    with pytest.raises(ConfigErrors) as ei:
        compile_text("request_route { t_precheck_trans(); }\n", "t.cfg")
    assert "unknown function 't_precheck_trans' (is its module loaded?)" in str(ei.value)
