# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy and Kamailio side by side (issue 9): the same scenario config, the
same sipp load, the same machine, in one run.

Each scenario config in configs/ is loaded unchanged by both daemons; the
harness only puts in front of it what differs per run and per daemon (listen
address, children, control socket, the defines of the scenario's ports and
database) and includes it.  Figures per run: the highest rate sustained with
no failed call and under 1 % retransmissions (stepping up, then bisecting),
the proxy CPU per call at a fixed moderate rate (summed over the daemon's
whole process tree, from /proc), memory (PSS summed over that tree, so shared
memory counts once) and p50/p99 response times from sipp's -trace_rtt.
"""

import csv
import glob
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import Kampy, free_udp_port, stop_group, wait_for  # noqa: E402
from .s1 import cpu_seconds, run_sipp  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
BENCH_SCENARIOS = HERE / "scenarios"
KAMAILIO = "/usr/sbin/kamailio"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# -- processes ----------------------------------------------------------------------

def proc_tree(root):
    """`root` and all its descendants (both daemons fork every process from
    their main one)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def memory_mb(pids):
    """PSS summed over `pids` (RSS where smaps_rollup is missing): shared
    memory is counted once, not once per process."""
    kb = 0
    for pid in pids:
        try:
            for line in open("/proc/%d/smaps_rollup" % pid):
                if line.startswith("Pss:"):
                    kb += int(line.split()[1])
                    break
        except OSError:
            try:
                kb += int(open("/proc/%d/statm" % pid).read().split()[1]) * PAGE_KB
            except OSError:
                pass
    return kb / 1024


def sip_probe(port, timeout=1.0):
    """True when something answers an OPTIONS with Max-Forwards 0 on `port`
    (every scenario config answers it: 200, 483 or 404)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    lp = s.getsockname()[1]
    msg = ("OPTIONS sip:probe@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKprobe%d;rport\r\n"
           "From: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:probe@127.0.0.1>\r\n"
           "Call-ID: probe-%d@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\n"
           "Content-Length: 0\r\n\r\n" % (port, lp, lp, lp)).encode()
    try:
        s.sendto(msg, ("127.0.0.1", port))
        return s.recvfrom(65535)[0].startswith(b"SIP/2.0 ")
    except OSError:
        return False
    finally:
        s.close()


class SqlitePath(str):
    """A define whose value is the URL of this SQLite file, spelt for the
    daemon: Kamailio reads sqlite:///tmp/x.db as the relative path tmp/x.db
    and wants sqlite:////tmp/x.db, which kampy (so far) refuses."""


def body_for(scenario, defines, target_cls):
    """What both daemons load after their own head: the scenario's defines,
    then its config file, unchanged."""
    lines = []
    for k, v in defines.items():
        if isinstance(v, SqlitePath):
            v = target_cls.sqlite_url(v)
        lines.append("#!define %s %s" % (k, '"%s"' % v if isinstance(v, str) else v))
    lines.append('include_file "%s"' % (CONFIGS / ("%s.cfg" % scenario)))
    return "\n".join(lines) + "\n"


# -- the two daemons ----------------------------------------------------------------

class KampyTarget:
    name = "kampy"

    def __init__(self, workdir, body, children=2, shm_mb=64, port=None):
        self.k = Kampy(workdir, body, children=children, port=port)
        self.k.cfg.write_text(self.k.cfg.read_text().replace("shm_mem=64", "shm_mem=%d" % shm_mb))
        self.port = self.k.port

    def start(self):
        self.k.start()
        self.pids = proc_tree(self.k.proc.pid)
        if not wait_for(lambda: sip_probe(self.port), 10, 0.2):
            self.stop()
            raise RuntimeError("kampy started but does not answer SIP:\n" + self.k.output()[-3000:])
        return self

    @staticmethod
    def sqlite_url(path):
        return "sqlite://" + str(path)

    def stat(self, name):
        for line in self.k.rpc("stats.get_statistics", name, timeout=30):
            if line.startswith(name + " = "):
                return int(line.split(" = ")[1])
        return 0

    def stop(self):
        return self.k.stop()

    @property
    def proc(self):
        return self.k.proc

    def output(self):
        return self.k.output()

    @staticmethod
    def version():
        import kampy
        return "kampy %s (Python %s)" % (kampy.__version__, sys.version.split()[0])


class KamailioTarget:
    """Kamailio in the foreground (-DD -E) as the current user, with its own
    run dir, pid file and ctl socket under `workdir`."""

    name = "kamailio"

    def __init__(self, workdir, body, children=2, shm_mb=64, port=None):
        self.dir = pathlib.Path(workdir)
        self.port = port or free_udp_port()
        self.ctl = str(self.dir / "kamailio_ctl")
        self.rundir = self.dir / "kamailio_run"
        self.rundir.mkdir(exist_ok=True)
        self.cfg = self.dir / "kamailio.cfg"
        self.shm_mb = shm_mb
        self.pkg_mb = 8
        head = ("#!KAMAILIO\nlisten=udp:127.0.0.1:%d\nchildren=%d\ndisable_tcp=yes\n"
                "log_stderror=yes\ndebug=2\ndns=no\nrev_dns=no\n"
                'loadmodule "ctl.so"\nmodparam("ctl", "binrpc", "unix:%s")\n'
                'loadmodule "kex.so"\n' % (self.port, children, self.ctl))
        self.cfg.write_text(head + body)
        self.log = self.dir / "kamailio.log"
        self.proc = None

    def start(self):
        cmd = [KAMAILIO, "-f", str(self.cfg), "-DD", "-E", "-m", str(self.shm_mb), "-M", str(self.pkg_mb),
               "-Y", str(self.rundir), "-P", str(self.dir / "kamailio.pid"), "-w", str(self.dir)]
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, cwd=str(self.dir), stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        ok = wait_for(lambda: self.proc.poll() is not None or (os.path.exists(self.ctl) and self.ready()),
                      20, 0.1)
        if self.proc.poll() is not None or not ok or not wait_for(lambda: sip_probe(self.port), 10, 0.2):
            self.stop()
            raise RuntimeError("kamailio did not start:\n" + self.output()[-3000:])
        self.pids = proc_tree(self.proc.pid)
        return self

    def kamcmd(self, *args, timeout=30):
        r = subprocess.run(["kamcmd", "-s", "unix:" + self.ctl] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode or r.stdout.startswith("error:"):
            raise RuntimeError("kamcmd %s: %s%s" % (args, r.stdout, r.stderr))
        return r.stdout

    def ready(self):
        try:
            return "udp receiver" in self.kamcmd("core.psx", timeout=5)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False

    @staticmethod
    def sqlite_url(path):
        return "sqlite:///" + str(path)

    def stat(self, name):
        for line in self.kamcmd("stats.get_statistics", name).splitlines():
            if line.strip().startswith(name + " = "):
                return int(line.split(" = ")[1])
        return 0

    def stop(self, timeout=10):
        if self.proc is None:
            return None
        stop_group(self.proc, timeout)
        self.logf.close()
        return self.proc.returncode

    def output(self):
        return self.log.read_text(errors="replace")

    @staticmethod
    def version():
        try:
            out = subprocess.run([KAMAILIO, "-v"], capture_output=True, text=True, timeout=10).stdout
            return out.splitlines()[0].replace("version: ", "").strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "kamailio (not installed)"


TARGETS = {"kampy": KampyTarget, "kamailio": KamailioTarget}


def kamailio_available():
    return os.access(KAMAILIO, os.X_OK) and shutil.which("kamcmd") is not None


# -- sipp runs ------------------------------------------------------------------------

def percentiles(rundir):
    """p50 and p99 (ms) of the response times sipp wrote with -trace_rtt."""
    vals = []
    for f in glob.glob(os.path.join(rundir, "*_rtt.csv")):
        with open(f) as fh:
            for row in csv.reader(fh, delimiter=";"):
                try:
                    vals.append(float(row[1]))
                except (IndexError, ValueError):
                    continue
    if not vals:
        return None, None
    vals.sort()
    return vals[len(vals) // 2], vals[min(len(vals) - 1, int(len(vals) * 0.99))]


class Load:
    """One scenario's sipp load against a daemon on `port`."""

    unit = "calls/s"
    fixed_rate = 100
    start_rate = 100
    max_rate = 4000
    min_step = 10

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.runs = 0

    def defines(self):
        return {}

    def shm_mb(self):
        # the same for both daemons; 64 MB starved Kamailio's tm at 500 calls/s
        # ("new_t(): out of mem"), which made s2 a memory test, not a speed one
        return 256

    def setup(self):
        pass

    def teardown(self):
        pass

    def sipp_args(self):
        raise NotImplementedError

    def limit(self, rate):
        return max(200, rate * 2)

    def run(self, port, rate, seconds, rtt=False):
        """(successful, failed, retransmissions, seconds taken, p50, p99)."""
        self.runs += 1
        rundir = self.workdir / ("run%03d" % self.runs)
        rundir.mkdir()
        args = self.sipp_args() + (["-trace_rtt", "-rtt_freq", "1"] if rtt else [])
        # a run still going at 1.3x its time + 5 s fails kept_up() anyway: stop
        # sipp soon after instead of waiting out calls an overload left hanging
        succ, fail, retr, took = run_sipp(port, rate, seconds, str(rundir), args, limit=self.limit(rate),
                                          give_up=int(seconds * 1.3 + 5))
        p50, p99 = percentiles(str(rundir)) if rtt else (None, None)
        shutil.rmtree(rundir, ignore_errors=True)
        return succ, fail, retr, took, p50, p99


class S1(Load):
    unit = "requests/s"
    fixed_rate = 1000
    start_rate = 500
    max_rate = 30000
    min_step = 100

    def sipp_args(self):
        return ["-sf", str(BENCH_SCENARIOS / "options_rtd.xml"), "-rp", "1000", "-max_socket", "1000"]

    def limit(self, rate):
        return max(1000, rate)

    def shm_mb(self):
        return 64          # stateless: no shared memory in use (measured so on 2026-11-27)


class S2(Load):
    def setup(self):
        self.callee = free_udp_port()
        self.uas = subprocess.Popen(["sipp", "-sf", str(BENCH_SCENARIOS / "uas_calls.xml"), "-i", "127.0.0.1",
                                     "-p", str(self.callee), "-nostdin"], cwd=str(self.workdir),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def defines(self):
        return {"CALLEE_PORT": self.callee}

    def teardown(self):
        self.uas.kill()
        self.uas.wait(5)

    def sipp_args(self):
        return ["-sn", "uac", "-s", "bob"]


class S2u(S2):
    pass


class S4(Load):
    unit = "REGISTER/s"
    fixed_rate = 200
    start_rate = 200
    users = 1000
    max_rate = 16000

    def setup(self):
        from . import s4
        self.url, self.inf = s4.make_users(str(self.workdir), self.users)
        self.auth = (s4.AUTH_USER, s4.AUTH_PW)

    def defines(self):
        return {"DBURL": SqlitePath(self.url[len("sqlite://"):])}

    def sipp_args(self):
        return ["-sf", str(BENCH_SCENARIOS / "regphone_auth_rtd.xml"), "-inf", str(self.inf),
                "-au", self.auth[0], "-ap", self.auth[1]]


LOADS = {"s1": S1, "s2": S2, "s2u": S2u, "s4": S4}
SCENARIO_NAMES = ("s1", "s2", "s2u", "s3", "s4")


def kept_up(res, rate, seconds):
    """Zero failed, every call done, under 1 % retransmissions, and sipp did
    not fall behind (done within 1.3 x the run time + 3 s)."""
    succ, fail, retr, took = res[:4]
    n = int(rate * seconds)
    return fail == 0 and succ == n and retr * 100 < n and took <= seconds * 1.3 + 3


def measure_rate_scenario(target_cls, scenario, workdir, seconds, children=2, max_rate=None,
                          fixed_rate=None, start_rate=None, search=True, log=print):
    """One daemon start: CPU per call, memory and response times at the fixed
    rate, then the highest sustained rate.  Returns a dict of figures plus the
    (rate, CPU ms per call, ok) points of every run for the chart."""
    load = LOADS[scenario](workdir)
    load.setup()
    d = None
    try:
        body = body_for(scenario, load.defines(), target_cls)
        d = target_cls(workdir, body, children, load.shm_mb()).start()
        pids = d.pids
        points = []

        def one(rate, rtt=False):
            c0 = cpu_seconds(pids)
            res = load.run(d.port, rate, seconds, rtt)
            cpu = cpu_seconds(pids) - c0
            ok = kept_up(res, rate, seconds)
            per = cpu * 1000 / max(res[0], 1)
            points.append((rate, per, ok))
            log("    %-8s %-4s %6d %s: %s  ok=%d failed=%d retrans=%d took=%.1fs cpu=%.3f ms/call"
                % (d.name, scenario, rate, load.unit, "ok  " if ok else "FAIL", res[0], res[1], res[2],
                   res[3], per))
            if not ok:
                time.sleep(3)      # let the daemon drain what the overload left queued
            return ok, res, per

        fixed = fixed_rate or load.fixed_rate
        ok, res, per = one(fixed, rtt=True)
        out = {"cpu_ms": per, "mem_mb": memory_mb(pids), "p50_ms": res[4], "p99_ms": res[5],
               "fixed_rate": fixed, "fixed_ok": ok, "unit": load.unit}
        if search:
            lo, hi, rate = 0, None, start_rate or load.start_rate
            top = max_rate or load.max_rate
            while True:
                if not one(rate)[0]:
                    hi = rate
                    break
                lo = rate
                if rate >= top:
                    break              # the ceiling held: report it (it is the bound, not the daemon's)
                rate = min(rate * 2, top)
            if hi is not None:
                while hi - lo > max(load.min_step, lo // 20):
                    mid = (lo + hi) // 2
                    lo, hi = (mid, hi) if one(mid)[0] else (lo, mid)
            out["max_rate"] = lo
            out["at_ceiling"] = hi is None       # the real highest rate is above the search's ceiling
        out["mem_end_mb"] = memory_mb(pids)
        out["cpu_total_s"] = cpu_seconds(pids)       # since the daemon's launch
        out["points"] = points
        return out
    finally:
        if d is not None:
            d.stop()
        load.teardown()


def grants(rundir):
    """Times (s since the registrar sipp started) of the registrations it
    granted, from its -trace_rtt file (rtd ends on the 200)."""
    out = []
    for f in glob.glob(os.path.join(rundir, "*_rtt.csv")):
        with open(f) as fh:
            for row in csv.reader(fh, delimiter=";"):
                try:
                    out.append(float(row[0]) / 1000)
                except (IndexError, ValueError):
                    continue
    return out


def granted_count(rundir):
    """grants() counted cheaply (a header line, then one line per grant)."""
    n = 0
    for f in glob.glob(os.path.join(rundir, "*_rtt.csv")):
        with open(f, "rb") as fh:
            n += max(0, fh.read().count(b"\n") - 1)
    return n


def measure_s3(target_cls, workdir, records=1000, children=2, limit=None, log=print):
    """Time from the daemon's launch until the registrar sipp has granted all
    `records` uacreg records (read from sipp, so that neither daemon spends
    CPU on being asked), and the daemon's CPU seconds until then."""
    from . import s3
    workdir = pathlib.Path(workdir)
    limit = limit or int(60 + records * 0.05)
    reg_port = free_udp_port()
    regdir = workdir / ("registrar_%d" % records)
    regdir.mkdir()
    url = s3.make_db(workdir / ("s3_%d.db" % records), records, reg_port)
    t_sipp = time.time()
    uas = subprocess.Popen(["sipp", "-i", "127.0.0.1", "-p", str(reg_port), "-sf",
                            str(BENCH_SCENARIOS / "registrar_rtd.xml"), "-set", "granted", "3600",
                            "-nostdin", "-timeout", "%ds" % (limit + 60), "-trace_rtt", "-rtt_freq", "1"],
                           cwd=str(regdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = None
    try:
        time.sleep(0.5)            # sipp's clock starts as it comes up; the daemon after it
        port = free_udp_port()
        tm_mb = max(24, records * 8 // 1000)
        defines = {"DBURL": SqlitePath(url[len("sqlite://"):]), "CONTACT_ADDR": "127.0.0.1:%d" % port,
                   "TM_TABLE_MB": tm_mb}
        shm = tm_mb + 64 + records // 200
        d = target_cls(workdir, body_for("s3", defines, target_cls), children, shm, port)
        if hasattr(d, "pkg_mb"):
            # Kamailio reads every uacreg row into private memory at startup:
            # 8 MB holds about 2 000 of them
            d.pkg_mb = max(8, records // 200)
        t0 = time.time()
        d.start()
        pids = d.pids
        done = False
        while time.time() - t0 < limit and d.proc.poll() is None and uas.poll() is None:
            if granted_count(str(regdir)) >= records:
                done = True
                break
            time.sleep(0.1)
        cpu = cpu_seconds(pids)
        got = sorted(grants(str(regdir)))
        out = {"records": records, "cpu_s": cpu, "mem_mb": memory_mb(pids), "registered": len(got),
               "time_s": (got[records - 1] - (t0 - t_sipp)) if done else None}
        log("    %-8s s3   %d records: %s, CPU %.2f s, memory %.1f MB"
            % (d.name, records, ("all registered %.2f s after launch" % out["time_s"]) if done
               else "only %d registered after %d s" % (len(got), limit), out["cpu_s"], out["mem_mb"]))
        return out
    finally:
        if d is not None:
            d.stop()
        uas.kill()
        uas.wait(5)


# -- summaries ----------------------------------------------------------------------

def median_spread(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return statistics.median(vals), (max(vals) - min(vals))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b
