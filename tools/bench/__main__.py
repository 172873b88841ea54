# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy against Kamailio 5.6, same configs, same load, same machine (issue 9).

Run: python -m tools.bench [--target kampy|kamailio|both] [--scenario s1|s2|s2u|s3|s4|all]
                           [--duration S] [--repeat N] [--records N ...] [--note TEXT]

Writes tools/bench/results.json (the figures of every scenario measured so
far; a run replaces only the scenarios it measured), regenerates
tools/bench/RESULTS.md from it and, when matplotlib is importable, one chart
per scenario in tools/bench/charts/.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile

from . import compare as C
from . import soak as S

HERE = C.HERE
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"
CHARTS = HERE / "charts"

# issue 9's targets: (figure, kampy/Kamailio bound, "min" = ratio must be at least, "max" = at most)
TARGETS = {
    "s1": [("max_rate", 0.5, "min"), ("cpu_ms", 2.0, "max")],
    "s2": [("max_rate", 0.35, "min"), ("cpu_ms", 3.0, "max")],
    "s2u": [("max_rate", 0.35, "min"), ("cpu_ms", 3.0, "max")],
    "s3": [("time_s", 3.0, "max"), ("cpu_s", 4.0, "max")],
    "s4": [("max_rate", 0.35, "min")],
}
LABELS = {
    "max_rate": "highest sustained rate (%s)", "cpu_ms": "proxy CPU per call at %d %s (ms)",
    "mem_mb": "memory after the fixed-rate run (PSS sum, MB)",
    "mem_end_mb": "memory at the end (PSS sum, MB)",
    "p50_ms": "response time p50 (ms, sipp)", "p99_ms": "response time p99 (ms, sipp)",
    "time_s": "time from launch until all are registered (s)", "cpu_s": "proxy CPU seconds until then",
    "s3_mem_mb": "memory then (PSS sum, MB)",
}
RATE_FIGURES = ("max_rate", "cpu_ms", "mem_mb", "mem_end_mb", "p50_ms", "p99_ms")
S3_FIGURES = ("time_s", "cpu_s", "mem_mb")


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "loadavg_start": round(os.getloadavg()[0], 2)}


def sipp_version():
    try:
        out = subprocess.run(["sipp", "-v"], capture_output=True, text=True, timeout=10).stdout
        return next((ln.strip() for ln in out.splitlines() if "SIPp" in ln), "sipp")
    except (OSError, subprocess.TimeoutExpired):
        return "sipp (not installed)"


def summarize(runs, figures):
    """Median and spread (max − min) of each figure over the repeats."""
    return {f: C.median_spread([r.get(f) for r in runs]) for f in figures}


def run_scenario(scenario, targets, a, log):
    entry = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "duration": a.duration,
             "repeat": a.repeat, "children": a.children, "targets": {}}
    for tname in targets:
        cls = C.TARGETS[tname]
        runs = []
        for i in range(a.repeat):
            log("  %s %s, run %d of %d" % (scenario, tname, i + 1, a.repeat))
            with tempfile.TemporaryDirectory(prefix="kampy-bench-") as tmp:
                if scenario == "s3":
                    for n in a.records:
                        r = C.measure_s3(cls, tmp, n, a.children, log=log)
                        runs.append(r)
                else:
                    runs.append(C.measure_rate_scenario(cls, scenario, tmp, a.duration, a.children,
                                                        max_rate=a.max_rate, fixed_rate=a.fixed_rate,
                                                        start_rate=a.start_rate, log=log))
        if scenario == "s3":
            per_n = {}
            for n in a.records:
                per_n[str(n)] = summarize([r for r in runs if r["records"] == n], S3_FIGURES)
            entry["targets"][tname] = {"by_records": per_n, "runs": runs}
        else:
            entry["targets"][tname] = {"summary": summarize(runs, RATE_FIGURES), "runs": runs,
                                       "unit": runs[0]["unit"], "fixed_rate": runs[0]["fixed_rate"]}
    return entry


# -- report -----------------------------------------------------------------------------

def fmt(v, spread=None):
    if v is None:
        return "–"
    if abs(v) >= 100 or (abs(v) >= 1 and float(v).is_integer()):
        s = "%.0f" % v
    else:
        s = "%.2f" % v if abs(v) < 10 else "%.1f" % v
    if spread:
        s += " ±%s" % (("%.0f" % (spread / 2)) if spread >= 100 else "%.2g" % (spread / 2))
    return s


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


def figure_rows(entry, figures, pick):
    """Rows (label, kampy, kamailio, ratio) for the figures `pick` gives."""
    tg = entry["targets"]
    rows = []
    for f in figures:
        k = pick(tg.get("kampy"), f)
        m = pick(tg.get("kamailio"), f)
        rows.append((f, k, m, C.ratio(k[0], m[0])))
    return rows


def label(f, t):
    if f == "max_rate":
        return LABELS[f] % t.get("unit", "calls/s")
    if f == "cpu_ms":
        return LABELS[f] % (t.get("fixed_rate", 0), t.get("unit", "calls/s"))
    return LABELS[f]


def capped(t):
    """The rate search of some repeat held at its ceiling."""
    return bool(t) and any(r.get("at_ceiling") for r in t.get("runs", ()))


def verdict(r, bound, how):
    if r is None:
        return "not measured"
    ok = r >= bound if how == "min" else r <= bound
    return "met" if ok else "NOT met"


def render(results, meta):
    out = ["# kampy against Kamailio — benchmark results", "",
           "Generated by `python -m tools.bench` (tools/bench/__main__.py); do not edit by hand.",
           "Each scenario's config (tools/bench/configs/) is loaded unchanged by both daemons;",
           "children=2, loopback, the same shared-memory size for both, sipp as the load.",
           "Figures are medians over the repeats, ± half the spread (max − min); the ratio is",
           "kampy / Kamailio.  CPU is summed over every process of the daemon (from /proc);",
           "memory is PSS summed over them (shared memory counted once).  sipp measures",
           "response times in whole milliseconds, so sub-millisecond times read 0.  sipp shares",
           "the machine: where both daemons reach the same highest rate, sipp was the limit and",
           "the ratio only says that kampy kept up that far.", ""]
    m = meta["machine"]
    out += ["Last run: %s — %d CPUs (%s), kernel %s, load average %.2f at start, %.2f at end."
            % (meta["date"], m["nproc"], m["cpu"], m["kernel"], m["loadavg_start"], m.get("loadavg_end", 0)),
            "Versions: %s; %s; %s." % (meta["kampy"], meta["kamailio"], meta["sipp"]), ""]
    if meta.get("note"):
        out += ["**Note:** " + meta["note"], ""]
    targets_rows = []
    for scen in C.SCENARIO_NAMES:
        e = results.get(scen)
        if not e:
            continue
        out += ["## %s" % scen, "",
                "Measured %s, %s%d repeat(s), children=%d%s."
                % (e["date"], "" if scen == "s3" else "%d s per step, " % e["duration"], e["repeat"],
                   e["children"],
                   (", " + e["note"]) if e.get("note") and e["note"] != meta.get("note") else ""), ""]
        tg = e["targets"]
        ratios = {}
        if scen == "s3":
            out += ["| records | figure | kampy | Kamailio | kampy/Kamailio |", "|---|---|---|---|---|"]
            ns = sorted({n for t in tg.values() for n in t["by_records"]}, key=int)
            for n in ns:
                for f in S3_FIGURES:
                    k = tg.get("kampy", {}).get("by_records", {}).get(n, {}).get(f, (None, None))
                    mm = tg.get("kamailio", {}).get("by_records", {}).get(n, {}).get(f, (None, None))
                    r = C.ratio(k[0], mm[0])
                    if n == ns[-1]:
                        ratios[f] = r
                    out.append("| %s | %s | %s | %s | %s |" % (n, LABELS["s3_" + f if f == "mem_mb" else f],
                                                                fmt(*k), fmt(*mm), fmt_ratio(r)))
        else:
            t0 = tg.get("kampy") or tg.get("kamailio")
            out += ["| figure | kampy | Kamailio | kampy/Kamailio |", "|---|---|---|---|"]
            for f in RATE_FIGURES:
                k = (tg.get("kampy") or {}).get("summary", {}).get(f, (None, None))
                mm = (tg.get("kamailio") or {}).get("summary", {}).get(f, (None, None))
                r = C.ratio(k[0], mm[0])
                if f in ("p50_ms", "p99_ms") and not (k[0] and mm[0]):
                    r = None           # under sipp's 1 ms resolution: no ratio
                ratios[f] = r
                ks, ms = fmt(*k), fmt(*mm)
                if f == "max_rate":
                    ks = ("≥ " + ks) if capped(tg.get("kampy")) else ks
                    ms = ("≥ " + ms) if capped(tg.get("kamailio")) else ms
                    if capped(tg.get("kamailio")) and not capped(tg.get("kampy")):
                        r = ratios[f] = None     # only a bound: no target verdict on it
                out.append("| %s | %s | %s | %s |" % (label(f, t0), ks, ms, fmt_ratio(r)))
        if (CHARTS / ("%s.png" % scen)).exists():
            what = ("time and proxy CPU against records" if scen == "s3"
                    else "proxy CPU per call against offered rate")
            out += ["", "![%s: %s](charts/%s.png)" % (scen, what, scen)]
        out.append("")
        for f, bound, how in TARGETS[scen]:
            targets_rows.append("| %s | %s %s %.2g× | %s | %s |" % (
                scen, f, "≥" if how == "min" else "≤", bound, fmt_ratio(ratios.get(f)),
                verdict(ratios.get(f), bound, how)))
    soaked = S.load()
    out += ["## Issue 9's targets", "", "| scenario | target (kampy/Kamailio) | measured | status |",
            "|---|---|---|---|"] + targets_rows + S.target_rows(soaked)
    out += [""] + S.section(soaked)
    return "\n".join(out)


def _pyplot(scen, log):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("note: matplotlib is not importable; no chart for %s (pip install matplotlib)" % scen)
        return None
    CHARTS.mkdir(exist_ok=True)
    return plt


def chart_s3(entry, log):
    """s3 has no offered rate: time to register all and proxy CPU seconds
    against the number of records, every repeat a point, both daemons."""
    plt = _pyplot("s3", log)
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, f, ylabel in ((axes[0], "time_s", "time until all are registered (s)"),
                          (axes[1], "cpu_s", "proxy CPU seconds until then")):
        for tname, t in sorted(entry["targets"].items()):
            pts = sorted((r["records"], r[f]) for r in t.get("runs", ()) if r.get(f) is not None)
            if not pts:
                continue
            line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", label=tname + " (each run)")
            med = sorted((int(n), figs[f][0]) for n, figs in t.get("by_records", {}).items()
                         if figs.get(f) and figs[f][0] is not None)
            ax.plot([m[0] for m in med], [m[1] for m in med], "-", color=line.get_color(),
                    label=tname + " (median)")
        ax.set_xscale("log")
        ax.set_xlabel("uacreg records")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle("s3: challenged registrations, children=%d" % entry.get("children", 2))
    fig.tight_layout()
    fig.savefig(str(CHARTS / "s3.png"), dpi=100)
    plt.close(fig)


def chart(scen, entry, log):
    """Proxy CPU per call against offered rate, both daemons on one plot."""
    if scen == "s3":
        return chart_s3(entry, log)
    plt = _pyplot(scen, log)
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for tname, t in entry["targets"].items():
        pts = sorted((p[0], p[1], p[2]) for r in t["runs"] for p in r.get("points", ()))
        if not pts:
            continue
        line, = ax.plot([p[0] for p in pts if p[2]], [p[1] for p in pts if p[2]], "o-", label=tname)
        bad = [p for p in pts if not p[2]]
        if bad:
            ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", color=line.get_color(),
                    label="%s (not sustained)" % tname)
    unit = next(iter(entry["targets"].values())).get("unit", "calls/s")
    ax.set_xlabel("offered rate (%s)" % unit)
    ax.set_ylabel("proxy CPU per call (ms)")
    ax.set_title("%s: proxy CPU per call, children=2" % scen)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(str(CHARTS / ("%s.png" % scen)), dpi=100)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", choices=("kampy", "kamailio", "both"), default="both")
    ap.add_argument("--scenario", choices=C.SCENARIO_NAMES + ("all",), default="all")
    ap.add_argument("--duration", type=int, default=20, help="seconds per step of the rate search")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--records", type=int, nargs="+", default=[1000, 10000], help="s3's uacreg records")
    ap.add_argument("--fixed-rate", type=int, default=None, help="rate of the CPU-per-call run "
                    "(default: per scenario)")
    ap.add_argument("--start-rate", type=int, default=None, help="first rate of the search "
                    "(default: per scenario)")
    ap.add_argument("--max-rate", type=int, default=None, help="stop stepping up here")
    ap.add_argument("--note", default="", help="a line for RESULTS.md (e.g. the machine was loaded)")
    ap.add_argument("--no-report", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--report-only", action="store_true", help="measure nothing: redraw the charts and "
                    "RESULTS.md from results.json")
    a = ap.parse_args(argv)
    # a plain kill must still stop the daemons and sipps started (their finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    def log(s):
        print(s, flush=True)

    targets = ["kampy", "kamailio"] if a.target == "both" else [a.target]
    if "kamailio" in targets and not a.report_only and not C.kamailio_available():
        sys.exit("kamailio (and kamcmd) not found: apt-get install kamailio kamailio-sqlite-modules, "
                 "or run with --target kampy")
    scenarios = list(C.SCENARIO_NAMES) if a.scenario == "all" else [a.scenario]
    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
            "kampy": C.KampyTarget.version(), "kamailio": C.KamailioTarget.version(),
            "sipp": sipp_version(), "note": a.note}
    results = {}
    if RESULTS_JSON.exists() and not a.no_report:
        try:
            results = json.loads(RESULTS_JSON.read_text())
        except ValueError:
            results = {}
    old_meta = results.pop("_meta", None)
    if a.report_only:
        if not old_meta:
            sys.exit("no %s to report from" % RESULTS_JSON)
        for scen, entry in results.items():
            chart(scen, entry, log)
        RESULTS_MD.write_text(render(results, old_meta))
        log("wrote %s" % RESULTS_MD)
        return results
    for scen in scenarios:
        log("%s (%s)" % (scen, ", ".join(targets)))
        entry = run_scenario(scen, targets, a, log)
        entry["note"] = a.note
        results[scen] = entry
        if not a.no_report:
            chart(scen, entry, log)
    meta["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    text = render(results, meta)
    if a.no_report:
        print(text)
        return results
    RESULTS_JSON.write_text(json.dumps(dict(results, _meta=meta), indent=1, sort_keys=True) + "\n")
    RESULTS_MD.write_text(text)
    log("wrote %s" % RESULTS_MD)
    return results


if __name__ == "__main__":
    main()
