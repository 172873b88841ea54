# SPDX-License-Identifier: GPL-2.0-or-later
"""lookup(), lookup_branches(), registered(), unregister(), reg_fetch_contacts()
and $ulc, event_route[usrloc:contact-expired], in-process."""

import pytest

from kampy.script.ast import ConfigErrors
from kampy.sip import parse

from registrar_env import Env, invite

LOOKUP = """
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    lookup("location");
    $var(rc) = $retcode;
    $var(du) = $du;
    exit;
}
"""


def registered_env(params="", route=LOOKUP):
    env = Env(params, route=route)
    env.reg(contacts=["<sip:alice@192.0.2.1:5060>;q=0.2", "<sip:alice@192.0.2.2:5060>;q=0.8",
                      "<sip:alice@192.0.2.3:5060>"], expires=600,
            extra=["Allow: INVITE, ACK, BYE, CANCEL, OPTIONS"])
    return env


def test_lookup_sets_the_best_contact_and_branches_by_q():
    env = registered_env()
    ctx = env.run(invite())
    assert env.rt.vars["rc"] == 1
    assert ctx.msg.ruri == b"sip:alice@192.0.2.2:5060"
    assert [b.uri for b in ctx.branches] == ["sip:alice@192.0.2.1:5060", "sip:alice@192.0.2.3:5060"]
    assert ctx.branches[0].q == 0.2 and ctx.branches[1].q is None
    assert all(b.ruid and b.ruid.startswith("uloc-") for b in ctx.branches)
    assert ctx.du is None and ctx.send_socket is not None and str(ctx.send_socket) == "udp:127.0.0.1:5060"


def test_append_branches_0_keeps_only_the_best():
    env = registered_env('modparam("registrar", "append_branches", 0)\n')
    ctx = env.run(invite())
    assert ctx.msg.ruri == b"sip:alice@192.0.2.2:5060" and ctx.branches == []


def test_not_registered_is_minus_1_and_leaves_the_r_uri():
    env = registered_env()
    ctx = env.run(invite("sip:bob@127.0.0.1"))
    assert env.rt.vars["rc"] == -1 and ctx.msg.ruri == b"sip:bob@127.0.0.1"


def test_expired_contacts_are_not_used():
    env = Env(route=LOOKUP)
    env.reg(contacts=["<sip:alice@192.0.2.1>;expires=60", "<sip:alice@192.0.2.2>;expires=600"])
    env.tick(61)
    ctx = env.run(invite())
    assert ctx.msg.ruri == b"sip:alice@192.0.2.2" and ctx.branches == []
    env.tick(600)
    env.run(invite(callid="inv-2"))
    assert env.rt.vars["rc"] == -1


def test_method_filtering_gives_minus_2_for_a_method_no_contact_allows():
    env = registered_env('modparam("registrar", "method_filtering", 1)\n')
    env.run(invite(method="MESSAGE"))
    assert env.rt.vars["rc"] == -2
    env.run(invite(method="OPTIONS", callid="o1"))
    assert env.rt.vars["rc"] == 1
    # in-dialog requests are not filtered
    env.run(invite(method="MESSAGE", callid="m2", to_tag="t1"))
    assert env.rt.vars["rc"] == 1


def test_received_becomes_the_destination_uri():
    env = Env('modparam("registrar", "received_avp", "$avp(rcv)")\n',
              route='request_route { if (is_method("REGISTER")) { $avp(rcv) = "sip:203.0.113.5:41000"; '
                    'save("location"); exit; } lookup("location"); $var(du) = $du; exit; }')
    env.reg(contacts=["<sip:alice@10.0.0.5:5060>"], expires=60)
    ctx = env.run(invite())
    assert ctx.msg.ruri == b"sip:alice@10.0.0.5:5060"
    assert env.rt.vars["du"] == "sip:203.0.113.5:41000"


def test_path_becomes_route_headers_and_the_first_hop_the_destination():
    env = Env('modparam("registrar", "use_path", 1)\nmodparam("registrar", "path_mode", 0)\n',
              route=LOOKUP)
    env.reg(contacts=["<sip:alice@10.0.0.5:5060>"], expires=60,
            extra=["Path: <sip:edge1.example.org;lr>", "Path: <sip:edge2.example.org;lr>"])
    ctx = env.run(invite(extra=["Route: <sip:127.0.0.1;lr>"]))
    assert env.rt.vars["du"] == "sip:edge1.example.org;lr"
    out = parse(ctx.msg.serialize())
    assert out.headers("route")[0] == b"<sip:edge1.example.org;lr>,<sip:edge2.example.org;lr>"
    assert out.headers("route")[1] == b"<sip:127.0.0.1;lr>"


def test_path_check_local_skips_our_own_hop():
    env = Env('modparam("registrar", "use_path", 1)\nmodparam("registrar", "path_mode", 0)\n'
              'modparam("registrar", "path_check_local", 1)\n', route=LOOKUP)
    env.reg(contacts=["<sip:alice@10.0.0.5:5060>"], expires=60,
            extra=["Path: <sip:127.0.0.1:5060;lr>,<sip:edge2.example.org;lr>"])
    ctx = env.run(invite())
    assert env.rt.vars["du"] == "sip:edge2.example.org;lr"
    assert parse(ctx.msg.serialize()).headers("route") == [b"<sip:edge2.example.org;lr>"]


def test_lookup_with_uri_parameter_and_branch_flags_restored():
    env = Env(route='request_route { if (is_method("REGISTER")) { setbflag(3); save("location"); exit; }'
                    ' lookup("location", "sip:alice@example.org"); $var(rc) = $retcode;'
                    ' if (isbflagset(3)) { $var(bf) = 1; } exit; }')
    env.reg(contacts=["<sip:alice@10.0.0.5>"], expires=60)
    ctx = env.run(invite("sip:someone-else@127.0.0.1"))
    assert env.rt.vars["rc"] == 1 and ctx.msg.ruri == b"sip:alice@10.0.0.5"
    assert env.rt.vars["bf"] == 1


def test_lookup_branches_resolves_plain_branches():
    env = Env(route='request_route { if (is_method("REGISTER")) { save("location"); exit; }'
                    ' append_branch("sip:bob@example.org"); lookup_branches("location");'
                    ' $var(rc) = $retcode; exit; }')
    env.reg(aor="alice", contacts=["<sip:alice@10.0.0.5>"], expires=60)
    env.reg(aor="bob", contacts=["<sip:bob@10.0.0.6>", "<sip:bob@10.0.0.7>"], expires=60, callid="b")
    ctx = env.run(invite())
    assert env.rt.vars["rc"] == 1
    assert ctx.msg.ruri == b"sip:alice@10.0.0.5"
    assert [b.uri for b in ctx.branches] == ["sip:bob@10.0.0.6", "sip:bob@10.0.0.7"]


REG_ROUTE = """
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    $var(r1) = 0; $var(r2) = 0;
    if (registered("location")) { $var(r1) = 1; }
    if (registered("location", "sip:bob@example.org")) { $var(r2) = 1; }
    $xavp(reg=>match_callid) = "reg-1";
    $var(r3) = 0;
    if (registered("location", "$ru", 1)) { $var(r3) = 1; }
    $xavp(reg[0]=>match_callid) = "other";
    $var(r4) = 0;
    if (registered("location", "$ru", 1)) { $var(r4) = 1; }
    $var(ruid) = $xavp(ulrcd=>ruid);
    exit;
}
"""


def test_registered_and_its_match_options():
    env = Env('modparam("registrar", "xavp_cfg", "reg")\nmodparam("registrar", "xavp_rcd", "ulrcd")\n',
              route=REG_ROUTE)
    env.reg(contacts=["<sip:alice@10.0.0.5>"], expires=60)
    ctx = env.run(invite())
    v = env.rt.vars
    assert (v["r1"], v["r2"], v["r3"], v["r4"]) == (1, 0, 1, 0)
    assert v["ruid"] == env.contacts()[0]["id"]
    assert ctx.msg.ruri == b"sip:alice@127.0.0.1"      # registered() changes nothing


UNREG = """
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    if (is_method("MESSAGE")) { unregister("location", "$ru", "$hdr(X-Ruid)"); $var(rc) = $retcode; exit; }
    unregister("location", "$ru");
    $var(rc) = $retcode;
    exit;
}
"""


def test_unregister_one_ruid_then_all():
    env = Env(route=UNREG)
    env.reg(contacts=["<sip:alice@10.0.0.5>", "<sip:alice@10.0.0.6>"], expires=60)
    first = env.contacts()[0]
    env.run(invite(method="MESSAGE", extra=["X-Ruid: %s" % first["id"]]))
    assert env.rt.vars["rc"] == 1
    assert [c["c"] for c in env.contacts()] == ["sip:alice@10.0.0.6"]
    env.run(invite(method="MESSAGE", callid="m2", extra=["X-Ruid: %s" % first["id"]]))
    assert env.rt.vars["rc"] == -3
    env.run(invite(method="OPTIONS", callid="o1"))
    assert env.rt.vars["rc"] == 1 and env.contacts() == []


FETCH = """
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    reg_fetch_contacts("location", "$ru", "callee");
    $var(rc) = $retcode;
    $var(n) = $(ulc(callee=>count));
    $var(aor) = $ulc(callee=>aor);
    $var(i) = 1;
    $var(a1) = $(ulc(callee=>addr)[$var(i)]);
    $var(a0) = $(ulc(callee=>addr)[0]);
    $var(q0) = $(ulc(callee=>q)[0]);
    $var(ua) = $(ulc(callee=>user_agent)[0]);
    reg_free_contacts("callee");
    $var(after) = $(ulc(callee=>count));
    exit;
}
"""


def test_reg_fetch_contacts_and_ulc():
    env = Env(route=FETCH)
    env.reg(contacts=["<sip:alice@10.0.0.5>;q=0.7", "<sip:alice@10.0.0.6>"], expires=60,
            extra=["User-Agent: deskphone"])
    env.run(invite())
    v = env.rt.vars
    assert v["rc"] == 1 and v["n"] == 2 and v["aor"] == "alice"
    assert v["a0"] == "sip:alice@10.0.0.5" and v["a1"] == "sip:alice@10.0.0.6"
    assert v["q0"] == 700 and v["ua"] == "deskphone" and v["after"] == 0
    env.run(invite("sip:nobody@127.0.0.1", callid="i2"))
    assert v["rc"] == -1 and v["n"] == 0


def test_bad_ulc_attribute_is_a_startup_error():
    with pytest.raises(ConfigErrors, match="unknown \\$ulc attribute"):
        Env(route='request_route { $var(x) = $ulc(p=>color); }')


def test_table_must_be_a_fixed_name():
    with pytest.raises(ConfigErrors, match="fixed name"):
        Env(route='request_route { lookup("$var(t)"); }')


EXPIRED = """
event_route[usrloc:contact-expired] {
    $var(expired) = $ulc(exp=>aor) + " " + $(ulc(exp=>addr)[0]);
}
request_route { save("location"); exit; }
"""


def test_expired_contact_runs_the_event_route_and_counts():
    env = Env(route=EXPIRED)
    env.reg(contacts=["<sip:alice@10.0.0.5>;expires=60", "<sip:alice@10.0.0.6>;expires=600"])
    env.tick(30)
    env.rt.modules["usrloc"].timers[0].fn(env.rt)
    assert "expired" not in env.rt.vars
    env.tick(31)
    env.rt.modules["usrloc"].timers[0].fn(env.rt)
    assert env.rt.vars["expired"] == "alice sip:alice@10.0.0.5"
    assert env.rt.counters.get("usrloc:location-expires") == 1
    assert [c["c"] for c in env.contacts()] == ["sip:alice@10.0.0.6"]
    assert env.rt.counters.get("usrloc:location-contacts") == 1
    assert env.rt.counters.get("usrloc:registered_users") == 1


def test_registrar_counters_show_the_parameters():
    env = Env('modparam("registrar", "max_contacts", 5)\nmodparam("registrar", "max_expires", 900)\n')
    c = env.rt.counters
    assert (c.get("registrar:max_contacts"), c.get("registrar:max_expires"),
            c.get("registrar:default_expires")) == (5, 900, 3600)
