# SPDX-License-Identifier: GPL-2.0-or-later
"""Every branch lookup() creates gets the Route of its own contact's Path
(RFC 3327), and only that one, when t_relay() sends them."""

from kampy.sip import parse

from registrar_env import Env, invite

RELAY = """
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    lookup("location");
    t_relay();
    exit;
}
"""


def _register_two(env):
    env.reg(contacts=["<sip:alice@10.0.0.5:5060>;q=0.9"], expires=60, callid="r1",
            extra=["Path: <sip:127.0.0.1:5071;lr>"])
    env.reg(contacts=["<sip:alice@10.0.0.6:5060>;q=0.5"], expires=60, callid="r2",
            extra=["Path: <sip:127.0.0.1:5072;lr>"])
    env.reg(contacts=["<sip:alice@10.0.0.7:5060>;q=0.1"], expires=60, callid="r3")


def test_each_branch_carries_its_own_path():
    env = Env('modparam("registrar", "use_path", 1)\nmodparam("registrar", "path_mode", 0)\n',
              route=RELAY)
    _register_two(env)
    env.rt.transport.sent.clear()
    env.run(invite())
    out = {(s[1], s[2]): parse(s[3]) for s in env.rt.transport.sent if parse(s[3]).is_request}
    first = out[("127.0.0.1", 5071)]
    second = out[("127.0.0.1", 5072)]
    third = out[("10.0.0.7", 5060)]
    assert first.ruri == b"sip:alice@10.0.0.5:5060" and first.headers("route") == [b"<sip:127.0.0.1:5071;lr>"]
    assert second.ruri == b"sip:alice@10.0.0.6:5060" and second.headers("route") == [b"<sip:127.0.0.1:5072;lr>"]
    assert third.ruri == b"sip:alice@10.0.0.7:5060" and third.headers("route") == []
