# SPDX-License-Identifier: GPL-2.0-or-later
"""ctl: parameters only, checked when the config is compiled."""

import pytest

from kampy.loader import modules_package
from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text


def compile_ctl(params=""):
    script = compile_text('loadmodule "ctl"\n' + params + "request_route { }\n", "t.cfg")
    return script.modules["ctl"]


def test_defaults():
    mod = compile_ctl()
    assert mod.functions == [] and mod.params.binrpc == []
    assert mod.params.mode == 0o600
    assert mod.params.binrpc_buffer_size == 1024
    modules_package()
    from kampy.modules.ctl.params import sockets
    assert sockets() == [("unix", "/run/kamailio/kamailio_ctl", None)]


def test_parameters():
    mod = compile_ctl('modparam("ctl", "binrpc", "unix:/tmp/kamailio_ctl")\n'
                      'modparam("ctl", "binrpc", "udp:127.0.0.1:2046")\n'
                      'modparam("ctl", "binrpc", "tcp:[::1]:2049")\n'
                      'modparam("ctl", "mode", 0660)\n'
                      'modparam("ctl", "user", "kamailio")\n'
                      'modparam("ctl", "group", "kamailio")\n'
                      'modparam("ctl", "fifo", "")\n'
                      'modparam("ctl", "binrpc_buffer_size", 4096)\n'
                      'modparam("ctl", "binrpc_max_body_size", 64)\n'
                      'modparam("ctl", "binrpc_struct_max_body_size", 16)\n')
    p = mod.params
    assert p.binrpc == ["unix:/tmp/kamailio_ctl", "udp:127.0.0.1:2046", "tcp:[::1]:2049"]
    assert p.mode == 0o660 and p.user == "kamailio" and p.group == "kamailio"
    assert (p.binrpc_buffer_size, p.binrpc_max_body_size, p.binrpc_struct_max_body_size) == (4096, 64, 16)
    from kampy.modules.ctl.params import sockets
    assert sockets() == [("unix", "/tmp/kamailio_ctl", None), ("udp", "127.0.0.1", 2046), ("tcp", "::1", 2049)]


def test_a_second_compile_starts_from_the_defaults():
    compile_ctl('modparam("ctl", "binrpc", "unix:/tmp/a")\n')
    assert compile_ctl().params.binrpc == []


def test_runtime_builds():
    script = compile_text('loadmodule "ctl"\nrequest_route { }\n', "t.cfg")
    assert Runtime(script).modules["ctl"].name == "ctl"


def test_bad_parameters():
    with pytest.raises(ConfigErrors) as ei:
        compile_ctl('modparam("ctl", "binrpc", "udp:127.0.0.1")\n')
    assert "t.cfg:2:1: modparam ctl.binrpc: bad binrpc socket 'udp:127.0.0.1'" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        compile_ctl('modparam("ctl", "mode", 999)\n')
    assert "modparam ctl.mode: mode must be octal digits" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        compile_ctl('modparam("ctl", "binrpc_buffer_size", 0)\n')
    assert "modparam ctl.binrpc_buffer_size: must be positive" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        compile_ctl('modparam("ctl", "nosuch", 1)\n')
    assert "t.cfg:2:1: module 'ctl' has no parameter 'nosuch'" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        compile_text('loadmodule "ctl"\nrequest_route { ctl_cmd(); }\n', "t.cfg")
    assert "unknown function 'ctl_cmd'" in str(ei.value)
