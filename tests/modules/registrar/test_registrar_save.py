# SPDX-License-Identifier: GPL-2.0-or-later
"""save(): RFC 3261 §10.3 as Kamailio's registrar does it, in-process."""

import pytest

from kampy.script.ast import ConfigErrors

from registrar_env import Env, contact_params, header, register

C1 = "<sip:alice@192.0.2.10:5062>"
C2 = "<sip:alice@192.0.2.11:5064>"


@pytest.fixture
def env():
    return Env()


def test_first_register_inserts_and_the_200_lists_the_binding(env):
    rc, rpl, _ctx = env.reg(contacts=[C1], expires=600,
                            extra=["User-Agent: phone/1.0", "Allow: INVITE, ACK, BYE, CANCEL"])
    assert rc == 1
    assert rpl.status == 200 and rpl.reason == b"OK"
    assert contact_params(rpl) == [("sip:alice@192.0.2.10:5062", {"expires": "600"})]
    assert header(rpl, "P-Registrar-Error") is None
    [c] = env.contacts()
    assert c["c"] == "sip:alice@192.0.2.10:5062" and c["e"] == env.now() + 600
    assert c["ci"] == "reg-1" and c["cs"] == 1 and c["ua"] == "phone/1.0" and c["q"] == -1
    assert c["m"] == 1 | 2 | 4 | 8          # INVITE CANCEL ACK BYE
    assert c["sk"] == "udp:127.0.0.1:5060" and c["r"] == "" and c["p"] == ""
    assert c["id"].startswith("uloc-")
    assert env.rt.counters.get("registrar:accepted_regs") == 1


def test_refresh_updates_the_same_binding_and_returns_2(env):
    env.reg(contacts=[C1], expires=600)
    [first] = env.contacts()
    env.tick(100)
    rc, rpl, _ = env.reg(contacts=[C1], expires=300, cseq=2)
    assert rc == 2
    [c] = env.contacts()
    assert c["id"] == first["id"] and c["cs"] == 2 and c["e"] == env.now() + 300
    assert contact_params(rpl)[0][1]["expires"] == "300"


def test_several_contacts_listed_by_q_and_the_expires_param_beats_the_header(env):
    rc, rpl, _ = env.reg(contacts=["<sip:a@192.0.2.1>;q=0.1", "<sip:b@192.0.2.2>;q=0.9;expires=120",
                                   "<sip:c@192.0.2.3>"], expires=900)
    assert rc == 1
    got = contact_params(rpl)
    assert [u for u, _ in got] == ["sip:b@192.0.2.2", "sip:a@192.0.2.1", "sip:c@192.0.2.3"]
    assert got[0][1] == {"q": "0.9", "expires": "120"}
    assert got[1][1] == {"q": "0.1", "expires": "900"}
    assert got[2][1] == {"expires": "900"}          # no q given: none in the reply


def test_q_values_print_as_kamailio_does(env):
    env.reg(contacts=["<sip:a@192.0.2.1>;q=1", "<sip:b@192.0.2.2>;q=0.25", "<sip:c@192.0.2.3>;q=0"],
            expires=60)
    rc, rpl, _ = env.reg(contacts=[], cseq=2)
    assert rc == 4
    assert [p.get("q") for _u, p in contact_params(rpl)] == ["1", "0.25", "0"]


def test_no_expires_anywhere_uses_default_expires():
    env = Env('modparam("registrar", "default_expires", 1800)\n')
    _rc, rpl, _ = env.reg(contacts=[C1])
    assert contact_params(rpl)[0][1]["expires"] == "1800"


def test_min_and_max_expires_clamp_by_default():
    env = Env('modparam("registrar", "min_expires", 120)\nmodparam("registrar", "max_expires", 1000)\n')
    _rc, rpl, _ = env.reg(contacts=[C1 + ";expires=30", C2], expires=5000)
    assert [p["expires"] for _u, p in contact_params(rpl)] == ["120", "1000"]


def test_min_expires_mode_answers_423_with_min_expires_and_stores_nothing():
    env = Env('modparam("registrar", "min_expires", 60)\nmodparam("registrar", "min_expires_mode", 1)\n')
    rc, rpl, _ = env.reg(contacts=[C1], expires=10)
    assert rc == -1
    assert rpl.status == 423 and rpl.reason == b"Interval Too Brief"
    assert header(rpl, "Min-Expires") == "60"
    assert header(rpl, "P-Registrar-Error") == "Interval too brief"
    assert env.contacts() == []
    assert env.rt.counters.get("registrar:rejected_regs") == 1


def test_423_on_an_existing_record_keeps_it_and_lists_it():
    env = Env('modparam("registrar", "min_expires_mode", 1)\n')
    env.reg(contacts=[C1], expires=600)
    rc, rpl, _ = env.reg(contacts=[C1, C2 + ";expires=5"], expires=600, cseq=2)
    assert rpl.status == 423
    assert [u for u, _ in contact_params(rpl)] == ["sip:alice@192.0.2.10:5062"]
    [c] = env.contacts()
    assert c["cs"] == 1      # nothing of the rejected REGISTER was applied


def test_expires_zero_removes_one_binding_and_returns_3(env):
    env.reg(contacts=[C1, C2], expires=600)
    rc, rpl, _ = env.reg(contacts=[C1], expires=0, cseq=2)
    assert rc == 3
    assert [u for u, _ in contact_params(rpl)] == ["sip:alice@192.0.2.11:5064"]
    assert [c["c"] for c in env.contacts()] == ["sip:alice@192.0.2.11:5064"]


def test_star_with_expires_zero_removes_everything(env):
    env.reg(contacts=[C1, C2], expires=600)
    rc, rpl, _ = env.reg(contacts=["*"], expires=0, cseq=2)
    assert rc == 3 and rpl.status == 200
    assert rpl.header("contact") is None
    assert env.contacts() == []


@pytest.mark.parametrize("contacts,expires,why", [
    (["*"], 60, "* used in contact and expires is not zero"),
    (["*"], None, "* used in contact and expires is not zero"),
    (["*", C1], 0, "* used in contact and more than 1 contact"),
])
def test_bad_star_is_400(env, contacts, expires, why):
    env.reg(contacts=[C1], expires=600)
    rc, rpl, _ = env.reg(contacts=contacts, expires=expires, cseq=2)
    assert rc == -1 and rpl.status == 400 and rpl.reason == b"Bad Request"
    assert header(rpl, "P-Registrar-Error") == why
    assert len(env.contacts()) == 1


def test_no_contact_lists_the_bindings_and_returns_4(env):
    env.reg(contacts=[C1], expires=600)
    env.tick(10)
    rc, rpl, _ = env.reg(contacts=[], cseq=2)
    assert rc == 4
    assert contact_params(rpl) == [("sip:alice@192.0.2.10:5062", {"expires": "590"})]


def test_no_contact_for_an_unknown_aor_is_200_without_contact(env):
    rc, rpl, _ = env.reg(aor="nobody", contacts=[])
    assert rc == 4 and rpl.status == 200 and rpl.header("contact") is None


def test_older_cseq_of_the_same_call_id_is_400_invalid_cseq(env):
    env.reg(contacts=[C1], expires=600, cseq=5)
    rc, rpl, _ = env.reg(contacts=[C1], expires=600, cseq=4)
    assert rc == -1 and rpl.status == 400
    assert header(rpl, "P-Registrar-Error") == "Invalid CSeq number"
    assert contact_params(rpl)[0][0] == "sip:alice@192.0.2.10:5062"
    assert env.contacts()[0]["cs"] == 5


def test_same_cseq_within_cseq_delay_is_a_retransmission_then_an_error(env):
    env.reg(contacts=[C1], expires=600, cseq=5)
    env.tick(5)
    rc, rpl, _ = env.reg(contacts=[C1], expires=300, cseq=5)
    assert rpl.status == 200 and rc == 1
    assert env.contacts()[0]["e"] == env.now() - 5 + 600     # not updated
    env.tick(30)
    rc, rpl, _ = env.reg(contacts=[C1], expires=300, cseq=5)
    assert rpl.status == 400 and header(rpl, "P-Registrar-Error") == "Invalid CSeq number"


def test_new_call_id_may_restart_the_cseq(env):
    env.reg(contacts=[C1], expires=600, cseq=50)
    rc, _rpl, _ = env.reg(contacts=[C1], expires=600, cseq=1, callid="reboot")
    assert rc == 2 and env.contacts()[0]["ci"] == "reboot"


def test_max_contacts_answers_503_with_retry_after_and_returns_minus_2():
    env = Env('modparam("registrar", "max_contacts", 2)\nmodparam("registrar", "retry_after", 30)\n')
    env.reg(contacts=[C1, C2], expires=600)
    rc, rpl, _ = env.reg(contacts=["<sip:alice@192.0.2.12>"], expires=600, cseq=2)
    assert rc == -2
    assert rpl.status == 503 and rpl.reason == b"Service Unavailable"
    assert header(rpl, "P-Registrar-Error") == "Too many registered contacts"
    assert header(rpl, "Retry-After") == "30"
    assert len(env.contacts()) == 2
    # replacing one (expires 0) while adding one stays within the limit
    rc, rpl, _ = env.reg(contacts=[C1 + ";expires=0", "<sip:alice@192.0.2.12>"], expires=600, cseq=3)
    assert rpl.status == 200 and len(env.contacts()) == 2


def test_max_contacts_counts_a_new_record_too():
    env = Env('modparam("registrar", "max_contacts", 1)\n')
    rc, rpl, _ = env.reg(contacts=[C1, C2], expires=600)
    assert rc == -2 and rpl.status == 503 and env.contacts() == []


def test_flag_0x02_sends_no_reply():
    env = Env(route='request_route { save("location", "0x02"); $var(rc) = $retcode; exit; }')
    rc, rpl, _ = env.reg(contacts=[C1], expires=60)
    assert rc == 1 and rpl is None and len(env.contacts()) == 1


def test_flag_0x04_keeps_one_contact_per_aor():
    env = Env(route='request_route { save("location", "4"); $var(rc) = $retcode; exit; }')
    env.reg(contacts=[C1], expires=60)
    rc, rpl, _ = env.reg(contacts=[C2], expires=60, callid="other")
    assert rc == 1
    assert [c["c"] for c in env.contacts()] == ["sip:alice@192.0.2.11:5064"]
    assert [u for u, _ in contact_params(rpl)] == ["sip:alice@192.0.2.11:5064"]


def test_flag_0x01_marks_memory_only_contacts():
    env = Env(route='request_route { save("location", "0x01"); exit; }')
    env.reg(contacts=[C1], expires=60)
    assert env.contacts()[0]["f"] == env.api.FL_MEM


def test_uri_parameter_names_the_aor():
    env = Env(route='request_route { save("location", "0", "sip:Shared@example.org"); exit; }')
    env.reg(aor="alice", contacts=[C1], expires=60)
    assert env.contacts("alice") == [] and len(env.contacts("shared")) == 1


def test_bad_flags_are_a_startup_error():
    with pytest.raises(ConfigErrors, match="flags must be a number"):
        Env(route='request_route { save("location", "fast"); exit; }')


def test_the_aor_is_lower_case_unless_case_sensitive():
    env = Env()
    env.reg(aor="Alice", contacts=[C1], expires=60)
    assert len(env.contacts("alice")) == 1
    env2 = Env('modparam("registrar", "case_sensitive", 1)\n')
    env2.reg(aor="Alice", contacts=[C1], expires=60)
    assert len(env2.contacts("Alice")) == 1 and env2.contacts("alice") == []


def test_use_domain_keeps_user_at_domain_and_strips_realm_prefix():
    env = Env('modparam("usrloc", "use_domain", 1)\nmodparam("registrar", "realm_prefix", "sip.")\n')
    env.reg(aor="alice", to_domain="sip.Example.org", contacts=[C1], expires=60)
    assert len(env.contacts("alice@example.org")) == 1


def test_bad_q_and_bad_expires_header_are_400(env):
    rc, rpl, _ = env.reg(contacts=[C1 + ";q=2"], expires=60)
    assert rpl.status == 400 and header(rpl, "P-Registrar-Error") == "Invalid q param in contact"
    rc, rpl, _ = env.reg(contacts=[C1], expires="soon", cseq=2)
    assert rpl.status == 400 and header(rpl, "P-Registrar-Error") == "Expires parse error"
    assert env.contacts() == []


def test_bad_contact_expires_param_falls_back_to_default_expires(env):
    _rc, rpl, _ = env.reg(contacts=[C1 + ";expires=never"])
    assert contact_params(rpl)[0][1]["expires"] == "3600"


def test_too_long_contact_is_400():
    env = Env('modparam("registrar", "contact_max_size", 40)\n')
    _rc, rpl, _ = env.reg(contacts=["<sip:%s@192.0.2.10>" % ("a" * 40)], expires=60)
    assert rpl.status == 400 and header(rpl, "P-Registrar-Error") == "Contact/received too long"


def test_require_outbound_is_420_unsupported(env):
    _rc, rpl, _ = env.reg(contacts=[C1], expires=60, extra=["Require: outbound"])
    assert rpl.status == 420 and rpl.reason == b"Bad Extension"
    assert header(rpl, "Unsupported") == "outbound"


def test_received_avp_and_received_param_in_the_reply():
    env = Env('modparam("registrar", "received_avp", "$avp(rcv)")\n',
              route='request_route { $avp(rcv) = "sip:203.0.113.5:41000"; save("location"); exit; }')
    _rc, rpl, _ = env.reg(contacts=[C1], expires=60)
    [c] = env.contacts()
    assert c["r"] == "sip:203.0.113.5:41000"
    assert contact_params(rpl)[0][1]["received"] == '"sip:203.0.113.5:41000"'


def test_instance_and_reg_id_are_stored_matched_and_listed(env):
    inst = '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'
    env.reg(contacts=["<sip:alice@192.0.2.10:5062>;+sip.instance=%s;reg-id=1" % inst], expires=60)
    # same device, new address (instance wins over the URI)
    rc, rpl, _ = env.reg(contacts=["<sip:alice@192.0.2.99:5062>;+sip.instance=%s;reg-id=1" % inst],
                         expires=60, cseq=2)
    assert rc == 2
    [c] = env.contacts()
    assert c["c"] == "sip:alice@192.0.2.99:5062" and c["in"] == inst.strip('"') and c["ri"] == 1
    p = contact_params(rpl)[0][1]
    assert p["+sip.instance"] == inst and p["reg-id"] == "1"


def test_methods_contact_param_wins_over_allow(env):
    env.reg(contacts=[C1 + ';methods="INVITE,MESSAGE"'], expires=60, extra=["Allow: INVITE, BYE"])
    assert env.contacts()[0]["m"] == 1 | 256


def test_path_strict_mode_requires_supported_path():
    env = Env('modparam("registrar", "use_path", 1)\n')
    path = "Path: <sip:edge.example.org;lr>"
    rc, rpl, _ = env.reg(contacts=[C1], expires=60, extra=[path])
    assert rpl.status == 420 and header(rpl, "Unsupported") == "path"
    assert header(rpl, "Path") == "<sip:edge.example.org;lr>"
    assert env.contacts() == []
    rc, rpl, _ = env.reg(contacts=[C1], expires=60, cseq=2, extra=[path, "Supported: path"])
    assert rpl.status == 200 and header(rpl, "Path") == "<sip:edge.example.org;lr>"
    assert env.contacts()[0]["p"] == "<sip:edge.example.org;lr>"


def test_path_off_and_lazy_modes_store_without_echoing():
    for mode in (0, 1):
        env = Env('modparam("registrar", "use_path", 1)\nmodparam("registrar", "path_mode", %d)\n' % mode)
        _rc, rpl, _ = env.reg(contacts=[C1], expires=60,
                              extra=["Path: <sip:e1.example.org;lr>", "Path: <sip:e2.example.org;lr>"])
        assert rpl.status == 200 and rpl.header("path") is None
        assert env.contacts()[0]["p"] == "<sip:e1.example.org;lr>,<sip:e2.example.org;lr>"


def test_path_use_received_takes_the_first_hops_received_and_sets_the_nat_flag():
    env = Env('modparam("registrar", "use_path", 1)\nmodparam("registrar", "path_mode", 0)\n'
              'modparam("registrar", "path_use_received", 1)\nmodparam("usrloc", "nat_bflag", 6)\n')
    env.reg(contacts=[C1], expires=60,
            extra=["Path: <sip:edge.example.org;lr;received=sip:198.51.100.7:5099>"])
    [c] = env.contacts()
    assert c["r"] == "sip:198.51.100.7:5099" and c["cf"] & (1 << 6)


def test_reply_goes_through_tm_when_the_request_has_a_transaction():
    env = Env(route='request_route { t_newtran(); save("location"); exit; }')
    _rc, rpl, ctx = env.reg(contacts=[C1], expires=60)
    assert rpl.status == 200 and ctx.t is not None
    assert env.rt.counters.get("tm:local_replies") == 1
    assert contact_params(rpl)[0][0] == "sip:alice@192.0.2.10:5062"


def test_headers_appended_before_save_are_kept():
    env = Env(route='request_route { append_to_reply("X-Site: north\\r\\n"); save("location"); exit; }')
    _rc, rpl, _ = env.reg(contacts=[C1], expires=60)
    assert header(rpl, "X-Site") == "north" and rpl.header("contact") is not None


def test_same_contact_twice_in_one_register_is_one_binding(env):
    rc, rpl, _ = env.reg(contacts=[C1 + ";expires=100", C1 + ";expires=200"])
    assert rc == 1 and len(env.contacts()) == 1
    assert contact_params(rpl)[0][1]["expires"] == "200"


def test_matching_mode_callid_keeps_two_bindings_of_one_uri():
    env = Env('modparam("usrloc", "matching_mode", 1)\n')
    env.reg(contacts=[C1], expires=60, callid="x1")
    env.reg(contacts=[C1], expires=60, callid="x2")
    assert sorted(c["ci"] for c in env.contacts()) == ["x1", "x2"]


def test_unsupported_parameters_are_startup_errors():
    with pytest.raises(ConfigErrors, match="not supported"):
        Env('modparam("registrar", "outbound_mode", 1)\n')
    with pytest.raises(ConfigErrors, match="not supported"):
        Env('modparam("usrloc", "db_ops_ruid", 0)\n')
    with pytest.raises(ConfigErrors, match="between 0 and 4"):
        Env('modparam("usrloc", "db_mode", 7)\n')


def test_register_twice_with_the_same_bytes_is_answered_each_time(env):
    raw = register(contacts=[C1], expires=60)
    env.run(raw)
    env.run(raw)
    replies = [s for s in env.rt.transport.sent if s[3].startswith(b"SIP/2.0 200")]
    assert len(replies) == 2 and len(env.contacts()) == 1


def test_xavp_cfg_overrides_max_contacts_and_q():
    env = Env('modparam("registrar", "xavp_cfg", "reg")\nmodparam("registrar", "max_contacts", 5)\n',
              route='request_route { $xavp(reg=>max_contacts) = 1; $xavp(reg[0]=>q) = 250;'
                    ' save("location"); $var(rc) = $retcode; exit; }')
    rc, rpl, _ = env.reg(contacts=[C1, C2], expires=60)
    assert rc == -2 and rpl.status == 503
    rc, rpl, _ = env.reg(contacts=[C1 + ";q=0.9"], expires=60, cseq=2)
    assert rc == 1 and contact_params(rpl)[0][1]["q"] == "0.25"


def test_sock_flag_takes_the_socket_from_the_header():
    env = Env('listen=udp:127.0.0.1:5070\nmodparam("registrar", "sock_flag", 7)\n'
              'modparam("registrar", "sock_hdr_name", "Sock-Info")\n',
              route='request_route { setflag(7); save("location"); exit; }')
    env.reg(contacts=[C1], expires=60, extra=["Sock-Info: udp:127.0.0.1:5070"])
    assert env.contacts()[0]["sk"] == "udp:127.0.0.1:5070"
    env.reg(aor="bob", contacts=[C2], expires=60, extra=["Sock-Info: udp:10.9.9.9:5060"])
    assert env.contacts("bob")[0]["sk"] == "udp:127.0.0.1:5060"      # not ours: the receiving one
