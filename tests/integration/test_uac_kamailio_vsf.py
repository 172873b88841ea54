# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian's Kamailio as the reference: its uac_replace_from() Record-Route
value (vsf) must be byte for byte what kampy computes, so a call set up
through one can be continued through the other."""

import pathlib
import socket
import subprocess
import time

import pytest

from harness import free_udp_port, stop_group
from toolcheck import require_tool

from modules.uac import replace as RP

MPATHS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules")

CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:KPORT
mpath="MPATH/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "uac.so"
modparam("rr", "append_fromtag", 1)
PASSWD
request_route {
    record_route();
    uac_replace_from("Anon", "sip:anonymous@anonymous.invalid");
    t_relay_to_udp("127.0.0.1", "CPORT");
}
"""


@pytest.mark.parametrize("passwd", ["", "s3cret"])
def test_kamailio_vsf_equals_ours(tmp_path, passwd):
    exe = require_tool("kamailio")
    mpath = next((p for p in MPATHS if pathlib.Path(p, "uac.so").exists()), None)
    assert mpath, "Kamailio's uac module is not installed"
    kport, cport = free_udp_port(), free_udp_port()
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(CFG.replace("KPORT", str(kport)).replace("CPORT", str(cport)).replace("MPATH", mpath)
                   .replace("PASSWD", 'modparam("uac", "restore_passwd", "%s")' % passwd if passwd else ""))
    callee = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    callee.bind(("127.0.0.1", cport))
    callee.settimeout(1.0)
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    log = open(tmp_path / "kamailio.log", "w")
    kam = subprocess.Popen([exe, "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "8", "-Y", str(tmp_path),
                            "-P", str(tmp_path / "k.pid")], stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        inv = ("INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKk1\r\n"
               "From: \"Alice\" <sip:alice@example.org>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
               "Call-ID: kc1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1>\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n" % caller.getsockname()[1]).encode()
        data = None
        deadline = time.time() + 15
        while data is None and time.time() < deadline and kam.poll() is None:
            caller.sendto(inv, ("127.0.0.1", kport))    # resent until Kamailio is up
            try:
                data = callee.recvfrom(65535)[0].decode()
            except socket.timeout:
                pass
        assert data, (tmp_path / "kamailio.log").read_text()[-2000:]
        rr = [ln for ln in data.split("\r\n") if ln.lower().startswith("record-route")][0]
        vsf = rr.split(";vsf=")[1].split(";")[0].split(">")[0]
        pw = passwd.encode()
        assert vsf == RP.encode_rr(b"sip:alice@example.org", b"sip:anonymous@anonymous.invalid", pw)
        assert RP.decode_rr(vsf, b"sip:alice@example.org", pw) == b"sip:anonymous@anonymous.invalid"
        assert RP.decode_rr(vsf, b"sip:anonymous@anonymous.invalid", pw) == b"sip:alice@example.org"
        frm = [ln for ln in data.split("\r\n") if ln.lower().startswith("from:")][0]
        assert frm == "From: Anon <sip:anonymous@anonymous.invalid>;tag=a1"
    finally:
        stop_group(kam, 10)     # the whole group: no Kamailio child may outlive the test
        log.close()
        caller.close()
        callee.close()
