# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc in memory (db_mode 0), in-process: the API the registrar uses,
contact order, matching modes, the timer, the ul.* RPC commands."""

import pytest

from kampy.rpc import RpcFault
from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text

from kampy.modules.usrloc import rpc as R
from kampy.modules.usrloc import store as S

CFG = """
loadmodule "usrloc"
modparam("usrloc", "preload", "location")
modparam("usrloc", "preload", "other")
%s
request_route { exit; }
"""


def make(params=""):
    rt = Runtime(compile_text(CFG % params, "t.cfg"))
    rt.init_modules()
    return rt


def contact(api, uri, e=600, q=-1, callid="c1", cseq=1, **kw):
    c = {"c": uri, "e": e, "q": q, "ci": callid, "cs": cseq, "p": "", "r": "", "ua": "ua",
         "sk": "udp:127.0.0.1:5060", "in": "", "ri": 0, "m": 0xFFFFFFFF, "f": 0, "cf": 0,
         "id": api.new_ruid()}
    c.update(kw)
    return c


def add(rt, aor, *specs, table="location"):
    api = rt.api("usrloc")

    def fn(cs, t):
        for uri, kw in specs:
            kw = dict(kw)
            kw["e"] = t + kw.get("e", 600) if kw.get("e", 600) else 0
            cs.append(contact(api, uri, **kw))
        return len(specs)
    return api.modify(table, aor, fn)


def tick(rt, seconds):
    rt.timers.now_ms += seconds * 1000


def test_contacts_are_kept_by_q_then_age():
    rt = make()
    api = rt.api("usrloc")
    add(rt, "alice", ("sip:a@h", {"q": 500}), ("sip:b@h", {}), ("sip:c@h", {"q": 500}),
        ("sip:d@h", {"q": 1000}))
    assert [c["c"] for c in api.get("location", "alice")] == ["sip:d@h", "sip:a@h", "sip:c@h", "sip:b@h"]

    def raise_b(cs, t):
        for c in cs:
            if c["c"] == "sip:a@h":
                c["q"] = 100
    api.modify("location", "alice", raise_b)
    assert [c["c"] for c in api.get("location", "alice")] == ["sip:d@h", "sip:c@h", "sip:a@h", "sip:b@h"]


def test_desc_time_order_puts_the_last_changed_first():
    rt = make('modparam("usrloc", "desc_time_order", 1)')
    api = rt.api("usrloc")
    add(rt, "alice", ("sip:a@h", {"q": 900}))
    tick(rt, 1)
    add(rt, "alice", ("sip:b@h", {"q": 100}))
    assert [c["c"] for c in api.get("location", "alice")] == ["sip:b@h", "sip:a@h"]


def test_match_rules_and_matching_modes():
    rt = make()
    api = rt.api("usrloc")
    t = api.now()
    c = contact(api, "sip:a@h", cseq=10, lm=t)
    assert api.match([c], "sip:a@h", "c1", "", 11, t)[0] == 0
    assert api.match([c], "sip:a@h", "c1", "", 9, t)[0] == -1
    assert api.match([c], "sip:a@h", "c1", "", 10, t)[0] == -2
    assert api.match([c], "sip:a@h", "c1", "", 10, t + 21)[0] == -1
    assert api.match([c], "sip:a@h", "other", "", 1, t)[0] == 0
    assert api.match([c], "sip:b@h", "c1", "", 11, t)[0] == 1
    rt2 = make('modparam("usrloc", "matching_mode", 3)')
    assert rt2.api("usrloc").match([c], "sip:zzz@h", "c1", "", 11, t)[0] == 0
    rt3 = make('modparam("usrloc", "matching_mode", 2)')
    cp = dict(c, p="<sip:e1;lr>")
    assert rt3.api("usrloc").match([cp], "sip:a@h", "c1", "<sip:e2;lr>", 11, t)[0] == 1
    assert rt3.api("usrloc").match([cp], "sip:a@h", "c1", "<sip:e1;lr>", 11, t)[0] == 0


def test_timer_drops_expired_contacts_and_empty_records():
    rt = make()
    api = rt.api("usrloc")
    add(rt, "alice", ("sip:a@h", {"e": 60}), ("sip:b@h", {"e": 0}))
    add(rt, "bob", ("sip:c@h", {"e": 30}))
    tick(rt, 61)
    S.timer(rt)
    assert [c["c"] for c in api.get("location", "alice")] == ["sip:b@h"]     # permanent stays
    assert api.get("location", "bob") == []
    assert len(rt.tables["location"]) == 1
    assert rt.counters.get("usrloc:location-expires") == 2


def test_counters_count_valid_contacts_per_table():
    rt = make()
    add(rt, "alice", ("sip:a@h", {"e": 60}), ("sip:b@h", {}))
    add(rt, "bob", ("sip:c@h", {}), table="other")
    c = rt.counters
    assert c.get("usrloc:location-contacts") == 2 and c.get("usrloc:location-users") == 1
    assert c.get("usrloc:registered_users") == 2
    tick(rt, 61)
    assert c.get("usrloc:location-contacts") == 1


def test_unknown_table_is_refused():
    rt = make()
    with pytest.raises(S.UlError, match="not in use"):
        rt.api("usrloc").get("nowhere", "alice")


# --- RPC -----------------------------------------------------------------------------------

def test_ul_dump_has_kamailios_shape():
    rt = make()
    add(rt, "alice", ("sip:a@h", {"q": 500, "r": "sip:203.0.113.1:5060", "ua": "phone"}))
    out = R.rpc_dump(rt)
    doms = out["Domains"]
    assert [d["Domain"]["Domain"] for d in doms] == ["location", "other"]
    loc = doms[0]["Domain"]
    assert loc["Size"] == 1024 and loc["Stats"] == {"Records": 1, "Max-Slots": 1}
    info = loc["AoRs"][0]["Info"]
    assert info["AoR"] == "alice" and isinstance(info["HashID"], int)
    c = info["Contacts"][0]["Contact"]
    assert list(c) == ["Address", "Expires", "Q", "Call-ID", "CSeq", "User-Agent", "Received",
                       "Path", "State", "Flags", "CFlags", "Socket", "Methods", "Ruid", "Instance",
                       "Reg-Id", "Server-Id", "Tcpconn-Id", "Keepalive", "Last-Keepalive",
                       "Last-Modified"]
    assert c["Address"] == "sip:a@h" and c["Expires"] == 600 and c["Q"] == 0.5
    assert c["Received"] == "sip:203.0.113.1:5060" and c["Path"] == "[not set]"
    assert c["State"] == "CS_NEW" and c["Methods"] == 4294967295 and c["Tcpconn-Id"] == -1
    assert doms[1]["Domain"]["AoRs"] == [] and doms[1]["Domain"]["Stats"]["Records"] == 0
    assert R.rpc_dump(rt, "brief")["Domains"][0]["Domain"]["AoRs"] == [{"AoR": "alice"}]


def test_ul_dump_shows_expired_and_permanent():
    rt = make()
    add(rt, "alice", ("sip:a@h", {"e": 10}), ("sip:b@h", {"e": 0}))
    tick(rt, 11)
    cs = R.rpc_dump(rt)["Domains"][0]["Domain"]["AoRs"][0]["Info"]["Contacts"]
    assert sorted(c["Contact"]["Expires"] for c in cs) == ["expired", "permanent"]


def test_ul_lookup_and_its_faults():
    rt = make()
    add(rt, "alice", ("sip:a@h", {"e": 10}), ("sip:b@h", {}))
    out = R.rpc_lookup(rt, "location", "Alice@example.org")
    assert out["AoR"] == "alice"
    assert [c["Contact"]["Address"] for c in out["Contacts"]] == ["sip:a@h", "sip:b@h"]
    tick(rt, 11)
    assert [c["Contact"]["Address"] for c in R.rpc_lookup(rt, "location", "alice")["Contacts"]] == ["sip:b@h"]
    with pytest.raises(RpcFault, match="AOR not found in location table"):
        R.rpc_lookup(rt, "location", "nobody")
    with pytest.raises(RpcFault, match="Domain table not found"):
        R.rpc_lookup(rt, "nowhere", "alice")
    with pytest.raises(RpcFault, match="Not enough parameters"):
        R.rpc_lookup(rt, "location")
    tick(rt, 1000)
    with pytest.raises(RpcFault, match="AOR has no contacts"):
        R.rpc_lookup(rt, "location", "alice")


def test_ul_lookup_with_use_domain_needs_the_domain():
    rt = make('modparam("usrloc", "use_domain", 1)')
    with pytest.raises(RpcFault, match="Domain missing in AOR"):
        R.rpc_lookup(rt, "location", "alice")


def test_ul_add_then_update_then_rm_contact_then_rm():
    rt = make()
    api = rt.api("usrloc")
    assert R.rpc_add(rt, "location", "alice", "sip:a@h", 3600, "0.5", ".", 0, 0, 15) is None
    [c] = api.get("location", "alice")
    assert c["q"] == 500 and c["m"] == 15 and c["ci"] == R.RPC_CALLID and c["e"] == api.now() + 3600
    R.rpc_add(rt, "location", "alice", "sip:a@h", 0, 1, "<sip:e;lr>", 1, 2, 3, "sip:1.2.3.4", ".")
    [c] = api.get("location", "alice")
    assert c["e"] == 0 and c["p"] == "<sip:e;lr>" and c["r"] == "sip:1.2.3.4" and c["f"] == 1
    R.rpc_add(rt, "location", "alice", "sip:b@h", 60, 0, 0, 0, 0, 0)
    with pytest.raises(RpcFault) as e:
        R.rpc_rm_contact(rt, "location", "alice", "sip:zz@h")
    assert e.value.code == 404 and e.value.message == "Contact not found"
    R.rpc_rm_contact(rt, "location", "alice", "sip:a@h")
    assert [c["c"] for c in api.get("location", "alice")] == ["sip:b@h"]
    with pytest.raises(RpcFault) as e:
        R.rpc_rm_contact(rt, "location", "bob", "sip:a@h")
    assert e.value.code == 404 and e.value.message == "AOR not found"
    R.rpc_rm(rt, "location", "alice")
    assert api.get("location", "alice") == []
    with pytest.raises(RpcFault, match="Not enough parameters or wrong format"):
        R.rpc_add(rt, "location", "alice", "sip:a@h", "soon", 1, 0, 0, 0, 0)


def test_ul_flush_without_a_database_does_nothing():
    rt = make()
    assert R.rpc_flush(rt) is None


def test_database_modes_need_a_url():
    with pytest.raises(Exception, match="needs db_url"):
        make('modparam("usrloc", "db_mode", 2)')


def test_mysql_url_is_refused_naming_the_supported_ones():
    with pytest.raises(Exception, match="sqlite:///abs/path.db"):
        make('modparam("usrloc", "db_mode", 1)\nmodparam("usrloc", "db_url", "mysql://k:k@localhost/k")')


def test_not_supported_parameters():
    for p in ('modparam("usrloc", "xavp_contact", "ulattrs")', 'modparam("usrloc", "ka_mode", 1)',
              'modparam("usrloc", "db_update_as_insert", 1)'):
        with pytest.raises(ConfigErrors, match="not supported"):
            make(p)


def test_timer_runs_in_the_core_timer_without_a_database():
    rt = make('modparam("usrloc", "timer_interval", 7)')
    mod = rt.modules["usrloc"]
    assert [t.interval for t in mod.timers] == [7] and mod.procs == []
    rt = make('modparam("usrloc", "timer_procs", 1)')
    assert mod.timers == [] and [p.title for p in mod.procs] == ["kampy: usrloc timer"]
