# SPDX-License-Identifier: GPL-2.0-or-later
"""Memory soak (issue 9): kampy under a steady sipp load at half its highest
sustained rate for 10 minutes; its memory must stay flat (RSS growth < 5 %).

Run: python -m tools.bench.soak [--scenario s1|s2|s2u|s3|s4|all] [--minutes 10] [--rate R]

The daemon, config and load are the side-by-side harness's (compare.py), with
children=2.  Every --interval seconds the RSS and PSS summed over the daemon's
process tree are sampled (and each process's RSS, anonymous and shared parts,
so that a growth can be pinned on one process).  Growth = (mean of the last
minute - mean of the minute after a one-minute warm-up) / the latter: the
warm-up is where caches, tables and shared-memory pages first fill, which is
not a leak.  The default rate is half the kampy highest rate in
tools/bench/results.json.

s3 has no offered rate: the load is kampy's own uac refreshes.  N records
(--records, 2 000) register against the challenging sipp registrar, which
grants a short expiry chosen so that N records refresh at about half of the
registration rate s3 measured (records / time to register them all).  The
expiry follows the uac refresh rule (modules/uac/README.md: a margin of 1/10,
5..60 s, minus a random share up to 15 % of the lifetime; never before half
of it).  What rate the refreshes really reached is measured and reported.

Writes tools/bench/soak.json (a run replaces only the scenarios it ran) and
prints a Markdown table of every scenario in it.
"""

import argparse
import csv
import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

from . import compare as C

SOAK_JSON = C.HERE / "soak.json"
RESULTS_JSON = C.HERE / "results.json"
GROWTH_LIMIT = 5.0            # %, issue 9's bound on RSS growth


# -- memory ---------------------------------------------------------------------------

def _status_kb(pid):
    """VmRSS, RssAnon, RssShmem (kB) of one process; None when it is gone."""
    out = {}
    try:
        for line in open("/proc/%d/status" % pid):
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssShmem"):
                out[key] = int(line.split()[1])
    except OSError:
        return None
    return out


def _pss_kb(pid):
    try:
        for line in open("/proc/%d/smaps_rollup" % pid):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample_memory(root):
    """One sample over the daemon's process tree: the sums (MB) and each
    process's RSS / anonymous / shared-memory / PSS kB."""
    procs = {}
    for pid in C.proc_tree(root):
        st = _status_kb(pid)
        if st is None:
            continue
        procs[str(pid)] = [st.get("VmRSS", 0), st.get("RssAnon", 0), st.get("RssShmem", 0), _pss_kb(pid)]
    tot = [sum(v[i] for v in procs.values()) / 1024 for i in range(4)]
    return {"rss_mb": tot[0], "anon_mb": tot[1], "shmem_mb": tot[2], "pss_mb": tot[3], "procs": procs}


def window_mean(samples, key, lo, hi):
    """Mean of `key` over the samples whose nominal time t is in [lo, hi)."""
    vals = [s[key] for s in samples if lo <= s["t"] < hi]
    return sum(vals) / len(vals) if vals else None


def growth(samples, key, seconds, warmup, window):
    """(baseline, end, growth %): the minute after the warm-up against the
    last minute of the run."""
    base = window_mean(samples, key, warmup, warmup + window)
    end = window_mean(samples, key, seconds - window + 1e-6, seconds + 1e-6)
    if not base or end is None:
        return base, end, None
    return base, end, (end - base) * 100 / base


def per_process_growth(samples, names, seconds, warmup, window):
    """Each process's RSS and anonymous-memory growth (kB), to say which one grows."""
    out = {}
    pids = sorted({p for s in samples for p in s["procs"]}, key=int)
    for pid in pids:
        row = {"name": names.get(pid, "?")}
        for i, key in ((0, "rss"), (1, "anon"), (2, "shmem")):
            ss = [{"t": s["t"], "v": s["procs"][pid][i]} for s in samples if pid in s["procs"]]
            base, end, _ = growth(ss, "v", seconds, warmup, window)
            row[key + "_kb"] = [base, end]
        out[pid] = row
    return out


# -- sipp's statistics ------------------------------------------------------------------

def _last_row(stat_file):
    """(header, last complete row) of sipp's -trace_stat file, or None."""
    try:
        rows = list(csv.reader(open(stat_file), delimiter=";"))
    except OSError:
        return None
    if len(rows) < 2:
        return None
    head, last = rows[0], rows[-1]
    if len(last) < len(head) - 1:       # being written: take the row before
        last = rows[-2] if len(rows) > 2 else None
    return (head, last) if last else None


def sipp_counters(stat_file):
    """The cumulative counters of sipp's -trace_stat file's last complete row."""
    got = _last_row(stat_file)
    if got is None:
        return {}
    head, last = got
    out = {}
    for name, key in (("SuccessfulCall(C)", "successful"), ("FailedCall(C)", "failed"),
                      ("Retransmissions(C)", "retrans"), ("TotalCallCreated", "created"),
                      ("CurrentCall", "current")):
        try:
            out[key] = int(last[head.index(name)])
        except (ValueError, IndexError):
            pass
    return out


def failure_kinds(stat_file):
    """sipp's reasons for its failed calls (the non-zero Failed...(C) counters)."""
    got = _last_row(stat_file)
    if got is None:
        return {}
    return {n[:-3]: int(v) for n, v in zip(*got)
            if n.startswith("Failed") and n.endswith("(C)") and n != "FailedCall(C)"
            and v.isdigit() and v != "0"}


def why_failed(workdir, target):
    """What sipp found unexpected (its -trace_err file, first lines) and the
    daemon's errors and warnings (last lines), kept in the results when a
    call failed: the run's directory is gone afterwards."""
    err = pathlib.Path(workdir) / "sipp_errors.log"
    sipp_err = err.read_text(errors="replace")[:3000] if err.exists() else ""
    log = [ln for ln in target.output().splitlines() if "ERROR" in ln or "WARN" in ln or "CRIT" in ln]
    return {"sipp_errors": sipp_err, "kampy_log": log[-20:]}


# -- rates ------------------------------------------------------------------------------

def max_rates(path=RESULTS_JSON):
    """kampy's highest sustained rate per scenario from the harness's results
    (for s3: registrations/s, the records over the time to register them all)."""
    try:
        res = json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for scen, e in res.items():
        t = (e.get("targets") or {}).get("kampy") if isinstance(e, dict) else None
        if not t:
            continue
        if scen == "s3":
            best = None
            for n, figs in t.get("by_records", {}).items():
                ts = (figs.get("time_s") or [None])[0]
                if ts and (best is None or int(n) > best[0]):
                    best = (int(n), ts)
            if best:
                out[scen] = best[0] / best[1]
        else:
            mr = (t.get("summary", {}).get("max_rate") or [None])[0]
            if mr:
                out[scen] = mr
    return out


def mean_refresh(granted):
    """Mean seconds between a record's refreshes when the registrar grants
    `granted` s (the uac README's rule: a margin of 1/10, 5..60 s and at most
    half, minus a random 0..15 %, never before half the lifetime)."""
    margin = min(max(granted * 0.1, 5.0), 60.0, granted / 2.0)
    steps = 200
    return sum(max(granted - margin - granted * 0.15 * (i + 0.5) / steps, granted / 2.0, 0.5)
               for i in range(steps)) / steps


def pick_granted(records, rate):
    """The granted expiry (whole s, 2..3600) whose refreshes come nearest
    `rate` registrations/s for `records` records."""
    want = records / rate
    return min(range(2, 3601), key=lambda g: abs(mean_refresh(g) - want))


# -- one soak ---------------------------------------------------------------------------

def _names(target):
    try:
        return {str(p["PID"]): p["DSC"] for p in target.k.rpc("core.psx")}
    except Exception:         # the RPC is a nicety here: only labels
        return {}


def machine_busy_s():
    """CPU seconds the whole machine spent busy since boot (all cores), and
    those the hypervisor took (steal)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    tck = os.sysconf("SC_CLK_TCK")
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / tck, f[7] / tck


def cpu_sample(daemon_pids, load_pids):
    """Cumulative CPU seconds of the daemon, of the sipp load and of the
    machine: a failing stretch can then be told from the machine being
    busy with something else (the benchmark shares it)."""
    busy, steal = machine_busy_s()
    return {"daemon": C.cpu_seconds(daemon_pids), "sipp": C.cpu_seconds(load_pids),
            "machine": busy, "steal": steal, "loadavg": round(os.getloadavg()[0], 2)}


def _cpu_text(prev, cur, dt):
    if not prev or dt <= 0:
        return ""
    pct = {k: (cur[k] - prev[k]) * 100 / dt for k in ("daemon", "sipp", "machine", "steal")}
    return "  CPU kampy %3.0f%% sipp %3.0f%% other %3.0f%% steal %2.0f%%" % (
        pct["daemon"], pct["sipp"], max(0.0, pct["machine"] - pct["daemon"] - pct["sipp"]), pct["steal"])


def cpu_shares(samples):
    """Mean CPU % (of one core) of kampy, sipp and everything else over the run."""
    a, b = samples[0].get("cpu"), samples[-1].get("cpu")
    dt = samples[-1]["at"] - samples[0]["at"]
    if not a or not b or dt <= 0:
        return None
    out = {k: (b[k] - a[k]) * 100 / dt for k in ("daemon", "sipp", "machine", "steal")}
    out["other"] = max(0.0, out.pop("machine") - out["daemon"] - out["sipp"])
    return out


def _sample_loop(d, seconds, interval, alive, log, extra=None, load_pids=lambda: []):
    """Samples at nominal times 0, interval, ... seconds (while `alive`)."""
    samples = []
    t0 = time.time()
    k = 0
    prev = None
    while k * interval <= seconds + 1e-9:
        nominal = k * interval
        delay = t0 + nominal - time.time()
        if delay > 0:
            time.sleep(delay)
        if d.proc.poll() is not None:
            raise RuntimeError("kampy died during the soak:\n" + d.output()[-3000:])
        s = sample_memory(d.proc.pid)
        s["t"] = nominal
        s["at"] = round(time.time() - t0, 2)
        s["cpu"] = cpu_sample(C.proc_tree(d.proc.pid), load_pids())
        if extra:
            s.update(extra())
        samples.append(s)
        log("    t=%4ds  RSS %7.1f MB  PSS %6.1f MB  anon %6.1f MB  shm %6.1f MB%s%s"
            % (nominal, s["rss_mb"], s["pss_mb"], s["anon_mb"], s["shmem_mb"],
               _cpu_text(prev and prev["cpu"], s["cpu"], s["at"] - (prev["at"] if prev else 0)),
               ("  " + " ".join("%s=%s" % kv for kv in sorted(s["sipp"].items()))) if s.get("sipp") else ""))
        prev = s
        if not alive():
            break
        k += 1
    return samples


def _sipp_cmd(port, rate, n, seconds, stat, args, limit, interval):
    """sipp's statistics are dumped 3 times per sample interval: a dump in
    step with the samples would be read just before it is written."""
    return ["sipp", "127.0.0.1:%d" % port] + args + [
        "-m", str(n), "-r", str(rate), "-l", str(limit), "-i", "127.0.0.1", "-p", str(C.free_udp_port()),
        "-nostdin", "-timeout", "%ds" % (seconds + 120), "-trace_stat", "-stf", str(stat),
        "-fd", str(max(1, int(interval // 3))), "-trace_err", "-error_file",
        str(stat.parent / "sipp_errors.log")]


def soak_rate_scenario(scenario, workdir, rate, seconds, interval, warmup, window, children=2, log=print):
    """kampy with `scenario`'s config under one sipp run of `rate` x `seconds` calls."""
    workdir = pathlib.Path(workdir)
    load = C.LOADS[scenario](workdir)
    load.setup()
    d = sipp = sipp_log = None
    try:
        d = C.KampyTarget(workdir, C.body_for(scenario, load.defines(), C.KampyTarget), children,
                          load.shm_mb()).start()
        names = _names(d)
        c0 = C.cpu_seconds(d.pids)
        stat = workdir / "soak_stat.csv"
        n = int(rate * seconds)
        cmd = _sipp_cmd(d.port, rate, n, seconds, stat, load.sipp_args(), load.limit(rate), interval)
        sipp_log = open(workdir / "sipp_soak.log", "wb")
        sipp = subprocess.Popen(cmd, cwd=str(workdir), stdout=sipp_log, stderr=subprocess.STDOUT)
        samples = _sample_loop(d, seconds, interval, lambda: sipp.poll() is None, log,
                               lambda: {"sipp": sipp_counters(stat)},
                               lambda: [sipp.pid] + ([load.uas.pid] if hasattr(load, "uas") else []))
        try:
            sipp.wait(max(60, seconds * 0.3))       # the calls still in flight at the end
        except subprocess.TimeoutExpired:
            log("    sipp still running %ds after the soak: stopped" % max(60, seconds * 0.3))
        cpu = C.cpu_seconds(d.pids) - c0
        stats = {"tm_retransmissions": d.stat("tm:retransmissions") if scenario in ("s2", "s2u") else None}
        sipp_out = sipp_counters(stat)
        out = {"offered": n, "successful": sipp_out.get("successful", 0), "failed": sipp_out.get("failed", n),
               "retransmissions": sipp_out.get("retrans", 0), "cpu_s": cpu, "kampy": stats}
        out["not_done"] = max(0, n - out["successful"] - out["failed"])
        out["retrans_pct"] = out["retransmissions"] * 100 / max(n, 1)
        if out["failed"] or out["not_done"]:
            out["failed_why"] = dict(why_failed(workdir, d), sipp=failure_kinds(stat))
        return samples, names, out
    finally:
        if sipp is not None and sipp.poll() is None:
            sipp.kill()
            sipp.wait(5)
        if sipp_log is not None:
            sipp_log.close()
        if d is not None:
            d.stop()
        load.teardown()


def soak_s3(workdir, records, granted, seconds, interval, warmup, window, children=2, log=print):
    """`records` uacreg records refreshing against the registrar's `granted` s."""
    from . import s3
    workdir = pathlib.Path(workdir)
    reg_port = C.free_udp_port()
    regdir = workdir / "registrar"
    regdir.mkdir()
    url = s3.make_db(workdir / "s3_soak.db", records, reg_port)
    stat = regdir / "registrar_stat.csv"
    t_sipp = time.time()
    uas = subprocess.Popen(["sipp", "-i", "127.0.0.1", "-p", str(reg_port), "-sf",
                            str(C.BENCH_SCENARIOS / "registrar_rtd.xml"), "-set", "granted", str(granted),
                            "-nostdin", "-timeout", "%ds" % (seconds + 180), "-trace_rtt", "-rtt_freq", "1",
                            "-trace_stat", "-stf", str(stat), "-fd", str(max(1, int(interval // 3))),
                            "-trace_err", "-error_file", str(workdir / "sipp_errors.log")],
                           cwd=str(regdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = None
    try:
        time.sleep(0.5)              # the registrar is up before the daemon sends
        port = C.free_udp_port()
        tm_mb = max(24, records * 8 // 1000)
        defines = {"DBURL": C.SqlitePath(url[len("sqlite://"):]), "CONTACT_ADDR": "127.0.0.1:%d" % port,
                   "TM_TABLE_MB": tm_mb}
        d = C.KampyTarget(workdir, C.body_for("s3", defines, C.KampyTarget), children,
                          tm_mb + 64 + records // 200, port)
        d.start()
        t0 = time.time()
        names = _names(d)
        c0 = C.cpu_seconds(d.pids)

        def extra():
            return {"sipp": dict(sipp_counters(stat), granted=C.granted_count(str(regdir)))}
        samples = _sample_loop(d, seconds, interval, lambda: uas.poll() is None, log, extra,
                               lambda: [uas.pid])
        if uas.poll() is not None:
            raise RuntimeError("the registrar sipp stopped during the soak")
        cpu = C.cpu_seconds(d.pids) - c0
        active = d.stat("uac:regactive")
        created = d.stat("tm:created")
        retrans = d.stat("tm:retransmissions")
        grants = [g - (t0 - t_sipp) for g in C.grants(str(regdir))]
        steady = [g for g in grants if warmup <= g < seconds]
        reg = sipp_counters(stat)
        why = None
        if reg.get("failed") or active < records:
            why = dict(why_failed(workdir, d), sipp=failure_kinds(stat))
        out = {"records": records, "granted": granted, "grants": len(grants),
               "steady_rate": len(steady) / max(seconds - warmup, 1), "registered_at_end": active,
               "failed": reg.get("failed", 0) + max(0, records - active),
               "registrar_failed": reg.get("failed", 0), "registrar_retransmissions": reg.get("retrans", 0),
               "retransmissions": retrans, "transactions": created,
               "retrans_pct": retrans * 100 / max(created, 1), "cpu_s": cpu}
        if why:
            out["failed_why"] = why
        return samples, names, out
    finally:
        if d is not None:
            d.stop()
        uas.kill()
        uas.wait(5)


def run(scenario, rate=None, minutes=10.0, interval=30.0, warmup=60.0, window=60.0, records=2000,
        children=2, log=print, results_json=RESULTS_JSON):
    """One scenario's soak: its entry of soak.json."""
    seconds = minutes * 60
    if warmup + window > seconds:
        raise ValueError("a %.0f s soak has no room for a %.0f s warm-up and a %.0f s window"
                         % (seconds, warmup, window))
    top = max_rates(results_json).get(scenario)
    unit = "registrations/s" if scenario == "s3" else C.LOADS[scenario].unit
    if rate is None:
        if not top:
            raise ValueError("no kampy highest rate for %s in %s: give --rate" % (scenario, results_json))
        rate = top / 2
        source = "50 %% of kampy's highest rate %.0f %s in %s" % (top, unit, pathlib.Path(results_json).name)
    else:
        source = "given"
    if scenario != "s3":
        rate = max(1, int(round(rate)))
    entry = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "minutes": minutes,
             "interval_s": interval, "warmup_s": warmup, "window_s": window, "children": children,
             "rate": rate, "rate_source": source, "max_rate": top, "unit": unit,
             "loadavg_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="kampy-soak-") as tmp:
        if scenario == "s3":
            granted = pick_granted(records, rate)
            log("  s3: %d records, registrar grants %d s: refreshes every %.1f s on average, "
                "about %.0f registrations/s (rate: %s)"
                % (records, granted, mean_refresh(granted), records / mean_refresh(granted), source))
            samples, names, out = soak_s3(tmp, records, granted, seconds, interval, warmup, window,
                                          children, log)
            log("  s3: %d grants, %.0f registrations/s after the warm-up, %d of %d registered at the end"
                % (out["grants"], out["steady_rate"], out["registered_at_end"], records))
        else:
            log("  %s: %d %s for %g min (rate: %s)" % (scenario, rate, unit, minutes, source))
            samples, names, out = soak_rate_scenario(scenario, tmp, rate, seconds, interval, warmup,
                                                     window, children, log)
            log("  %s: %d successful, %d failed, %d not done, %d retransmissions (%.2f %%)"
                % (scenario, out["successful"], out["failed"], out["not_done"], out["retransmissions"],
                   out["retrans_pct"]))
    entry.update(out)
    entry["loadavg_end"] = round(os.getloadavg()[0], 2)
    for key in ("rss_mb", "pss_mb", "anon_mb", "shmem_mb"):
        base, end, g = growth(samples, key, seconds, warmup, window)
        entry[key] = {"start": base, "end": end, "growth_pct": g}
    entry["cpu_pct"] = cpu_shares(samples)
    entry["processes"] = per_process_growth(samples, names, seconds, warmup, window)
    entry["samples"] = [{k: v for k, v in s.items() if k != "procs"} for s in samples]
    entry["samples_per_process"] = {pid: [s["procs"].get(pid) for s in samples] for pid in entry["processes"]}
    g = entry["rss_mb"]["growth_pct"]
    entry["verdict"] = "not measured" if g is None else ("met" if g < GROWTH_LIMIT else "NOT met")
    log("  %s: RSS %.1f -> %.1f MB (%+.2f %%), PSS %+.2f %%: %s"
        % (scenario, entry["rss_mb"]["start"] or 0, entry["rss_mb"]["end"] or 0, g or 0,
           entry["pss_mb"]["growth_pct"] or 0, entry["verdict"]))
    return entry


# -- report -----------------------------------------------------------------------------

TABLE_HEAD = ["| scenario | rate | minutes | RSS start (MB) | RSS end (MB) | RSS growth | PSS growth "
              "| failed | retransmissions | RSS growth < 5 % |",
              "|---|---|---|---|---|---|---|---|---|---|"]


def _pct(v):
    return "–" if v is None else "%+.2f %%" % v


def _mb(v):
    return "–" if v is None else "%.1f" % v


def table(results):
    """The Markdown table of every scenario in `results` (soak.json's content)."""
    out = list(TABLE_HEAD)
    for scen in C.SCENARIO_NAMES:
        e = results.get(scen)
        if not e:
            continue
        rate = "%.0f %s" % (e["rate"], e["unit"])
        if scen == "s3":
            rate = "%d records, granted %d s: %.0f %s" % (e["records"], e["granted"], e["steady_rate"],
                                                           e["unit"])
        out.append("| %s | %s | %g | %s | %s | %s | %s | %d | %.2f %% | %s |"
                   % (scen, rate, e["minutes"], _mb(e["rss_mb"]["start"]), _mb(e["rss_mb"]["end"]),
                      _pct(e["rss_mb"]["growth_pct"]), _pct(e["pss_mb"]["growth_pct"]),
                      failed_total(e), e["retrans_pct"], e["verdict"]))
    return out


def target_rows(results):
    """Rows for RESULTS.md's table of issue 9's targets."""
    rows = []
    for scen in C.SCENARIO_NAMES:
        e = results.get(scen)
        if e:
            at = "%g min at %.0f %s" % (e["minutes"], e["steady_rate"] if scen == "s3" else e["rate"], e["unit"])
            rows.append("| %s | soak RSS growth < 5 %% (%s) | %s | %s |"
                        % (scen, at, _pct(e["rss_mb"]["growth_pct"]), e["verdict"]))
            lost = failed_total(e)
            rows.append("| %s | soak: zero failed calls (%s) | %d failed of %d | %s |"
                        % (scen, at, lost, e.get("grants", e.get("offered", 0)) if scen == "s3"
                           else e.get("offered", 0), "met" if lost == 0 else "NOT met"))
    return rows


def failed_total(e):
    """Calls that failed or never finished in a soak (s3: the registrar's
    failed transactions plus the records not registered at the end)."""
    return e["failed"] + e.get("not_done", 0)


def section(results):
    """RESULTS.md's soak section (no lines when nothing was soaked)."""
    scen = [s for s in C.SCENARIO_NAMES if s in results]
    if not scen:
        return []
    dates = sorted(results[s]["date"] for s in scen)
    return ["## Memory soak", "",
            "From `python -m tools.bench.soak` (soak.json; %s to %s): kampy alone, children=2, under a "
            "steady load at half its highest rate above; RSS and PSS summed over the daemon's processes, "
            "sampled every 30 s; growth = mean of the last minute against the mean of the minute after a "
            "one-minute warm-up.  s3's load is its own refreshes (a short granted expiry; the rate shown "
            "is what the registrar saw)." % (dates[0], dates[-1]), ""] + table(results) + [""]


def load(path=SOAK_JSON):
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError):
        return {}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.bench.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", choices=C.SCENARIO_NAMES + ("all",), default="all")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=None, help="offered rate (s3: registrations/s); "
                    "default: half kampy's highest rate in results.json")
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between memory samples")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline minute")
    ap.add_argument("--window", type=float, default=60.0, help="seconds averaged at the start and the end")
    ap.add_argument("--records", type=int, default=2000, help="s3's uacreg records")
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--out", default=str(SOAK_JSON), help="results file (merged: a run replaces only "
                    "the scenarios it ran)")
    ap.add_argument("--results", default=str(RESULTS_JSON), help="the harness's results, for the rates")
    a = ap.parse_args(argv)
    # a plain kill must still stop the daemon and the sipps (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    def log(s):
        print(s, flush=True)

    scenarios = list(C.SCENARIO_NAMES) if a.scenario == "all" else [a.scenario]
    results = load(a.out)
    for scen in scenarios:
        log("%s: soak, %g min, sample every %g s" % (scen, a.minutes, a.interval))
        results[scen] = run(scen, a.rate, a.minutes, a.interval, a.warmup, a.window, a.records, a.children,
                            log, a.results)
        results["_meta"] = {"kampy": C.KampyTarget.version(), "machine": {"nproc": os.cpu_count(),
                            "kernel": os.uname().release}}
        pathlib.Path(a.out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    log("wrote %s" % a.out)
    print("\n".join(table(results)))
    return results


if __name__ == "__main__":
    main()
