#!/usr/bin/env python3
"""Benchmark the scenario simulator on CPython and on the MicroPython unix port.

    python tools/bench.py            (make bench)

Prints figures for scenarios/week-bench.json and asserts nothing about timing:
  - CPython: wall time of the run (in process, the plan made beforehand), best of 3;
  - MicroPython: wall time of the plan and run processes, best of 3 each;
  - the pump's heap, with its bytecode in place in a ROMFS image as on a board: the smallest
    -X heapsize (whole KB) the run process succeeds in, the largest live heap it holds
    (after a collection, every simulated quarter hour), and whether the 64K target is
    enough (the plan process, which only checks the scenario file, always gets
    tools/pumpsim.py's PLAN_HEAP);
  - whether the MicroPython trace equals the CPython trace byte for byte.
A 30-day CPython figure comes from scenarios/month-wrap.json when that file exists.
Exits non-zero only if a scenario does not run at all or the traces differ.
"""

import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
WEEK = os.path.join(ROOT, "scenarios", "week-bench.json")
MONTH = os.path.join(ROOT, "scenarios", "month-wrap.json")
REPEAT = 3
HEAP_LO_KB, HEAP_HI_KB, BOARD_HEAP_KB = 16, 256, 64

sys.path.insert(0, TOOLS)
import pumpsim  # noqa: E402  (tools/ is not a package)

for _p in pumpsim.PATHS:
    if _p not in sys.path:
        sys.path.insert(0, _p)


def rel(path):
    return os.path.relpath(path, ROOT)


# ------------------------------------------------------------------ CPython


def cpython_plan(path):
    """(plan header, plan text) of a scenario, made as tools/pumpsim.py run_cpython makes it."""
    import scenario
    import simrun

    try:
        sc = scenario.load(path)
    except scenario.ScenarioError as e:
        sys.exit("bench: %s: scenario error: %s" % (rel(path), e))
    buf = io.StringIO()
    sc.write_plan(buf)
    text = buf.getvalue()
    header, _ = simrun.read_plan(io.StringIO(text))
    return header, (text, sc)


def cpython_run_s(plan, trace_path):
    """Best-of-REPEAT wall time of simrun's Run on the plan; the trace is left at trace_path."""
    import simhist

    import simrun

    best = None
    first = None
    for _ in range(REPEAT):
        gc.collect()
        t0 = time.perf_counter()
        plan_text, sc = plan
        sc.write_settings(trace_path + ".flash")
        header, events = simrun.read_plan(io.StringIO(plan_text))
        simrun.Run(header, events, trace_path, trace_path + ".flash").run()
        simhist.finish(trace_path, trace_path + ".flash")
        t = time.perf_counter() - t0
        best = t if best is None or t < best else best
        with open(trace_path, "rb") as f:
            data = f.read()
        if first is None:
            first = data
        elif data != first:
            sys.exit("bench: CPython runs of the same plan wrote different traces")
    return best


# -------------------------------------------------------------- MicroPython


_VERSION = (
    "import sys; v = sys.implementation.version; "
    "print('MicroPython %d.%d.%d%s' % (v[0], v[1], v[2], '-' + v[3] if len(v) > 3 and v[3] else ''))"
)


class MicroPython:
    """The two processes of tools/pumpsim.py run_micropython, timed one by one."""

    def __init__(self, tmp):
        self.exe = pumpsim.tool("micropython")
        self.tmp = tmp
        self.attempt = 0

    def version(self):
        proc = subprocess.run(
            [self.exe, "-c", _VERSION],
            capture_output=True,
            text=True,
        )
        return proc.stdout.strip() or "MicroPython"

    def _phase(self, cmd, env):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        t = time.perf_counter() - t0
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        return proc.returncode, t, lines[-1] if lines else "exit status %d" % proc.returncode

    def run(self, scenario_path, heap_kb, probe=False):
        """(error or None, plan s, run s, trace path, last line): a plan, then a run at heap_kb."""
        self.attempt += 1
        d = os.path.join(self.tmp, "mpy%d" % self.attempt)  # a failed run leaves side files
        os.mkdir(d)
        plan, trace = os.path.join(d, "plan"), os.path.join(d, "trace.json")
        (_, plan_cmd, env), (_, run_cmd, _), (_, history_cmd, _) = pumpsim.micropython_phases(
            scenario_path, plan, trace, "%dK" % heap_kb, probe
        )
        rc, t_plan, last = self._phase(plan_cmd, env)
        if rc:
            return "plan phase: " + last, t_plan, None, None, last
        rc, t_run, last = self._phase(run_cmd, env)
        if rc:
            return "run phase: " + last, t_plan, t_run, None, last
        rc, _, history_last = self._phase(history_cmd, env)
        if rc:
            return "history phase: " + history_last, t_plan, t_run, None, last
        return None, t_plan, t_run, trace, last

    def startup_s(self, heap_kb):
        best = None
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            subprocess.run([self.exe, "-X", "heapsize=%dK" % heap_kb, "-c", "pass"], check=True)
            t = time.perf_counter() - t0
            best = t if best is None or t < best else best
        return best

    def min_heap_kb(self, scenario_path):
        """Smallest heap in HEAP_LO_KB..HEAP_HI_KB (whole KB) where both phases succeed, or None."""
        if self.run(scenario_path, HEAP_HI_KB)[0]:
            return None
        lo, hi = HEAP_LO_KB, HEAP_HI_KB
        while lo < hi:
            mid = (lo + hi) // 2
            if self.run(scenario_path, mid)[0]:
                lo = mid + 1
            else:
                hi = mid
        return lo


# ------------------------------------------------------------------- report


def read(path):
    with open(path, "rb") as f:
        return f.read()


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


def row(label, wall_s, hours):
    if wall_s is None:
        return "%-44s %9s %15s %14s" % (label, "-", "-", "-")
    if hours is None:
        return "%-44s %9.3f %15s %14s" % (label, wall_s, "-", "-")
    return "%-44s %9.3f %15.0f %14.0f" % (label, wall_s, hours / wall_s, hours * 3600 / wall_s)


def measure(tmp):
    """Every figure for the report, as a dict."""
    r = {"notes": []}
    with open(WEEK) as f:
        r["events"] = len(json.load(f).get("events", []))
    header, week_plan = cpython_plan(WEEK)
    r["hours"] = header["end_ms"] / 3600000

    # CPython
    cpy_trace = os.path.join(tmp, "cpython.json")
    r["cpython_s"] = cpython_run_s(week_plan, cpy_trace)
    r["month"] = None
    if os.path.exists(MONTH):
        m_header, m_plan = cpython_plan(MONTH)
        r["month"] = (m_header["end_ms"] / 3600000, cpython_run_s(m_plan, os.path.join(tmp, "month.json")))

    # MicroPython: the heap first, so that the timed runs use a heap that works
    mpy = MicroPython(tmp)
    r["mpy_version"] = mpy.version()
    r["min_kb"] = min_kb = mpy.min_heap_kb(WEEK)
    err64, _, _, _, last = mpy.run(WEEK, BOARD_HEAP_KB, probe=True)
    r["err64"] = err64
    r["live_peak"] = None if err64 else last
    r["heap_kb"] = heap_kb = BOARD_HEAP_KB if not err64 else min_kb
    r["plan_s"] = r["run_s"] = None
    mpy_trace = min_trace = None
    if heap_kb is not None:
        for _ in range(REPEAT):
            err, t_plan, t_run, mpy_trace, _ = mpy.run(WEEK, heap_kb)
            if err:
                r["notes"].append("MicroPython at %dK failed in a timed run: %s" % (heap_kb, err))
                break
            r["plan_s"] = t_plan if r["plan_s"] is None else min(r["plan_s"], t_plan)
            r["run_s"] = t_run if r["run_s"] is None else min(r["run_s"], t_run)
        if min_kb != heap_kb:
            min_trace = mpy.run(WEEK, min_kb)[3]
    r["startup_s"] = mpy.startup_s(heap_kb or HEAP_HI_KB)
    r["heaps"] = []
    for name in sorted(os.listdir(os.path.join(ROOT, "scenarios"))):
        path = os.path.join(ROOT, "scenarios", name)
        if name.endswith(".json"):
            err, _, _, _, last = mpy.run(path, BOARD_HEAP_KB, probe=True)
            r["heaps"].append((name, mpy.min_heap_kb(path), err or last))

    # the traces
    cpy_bytes = read(cpy_trace)
    r["trace_bytes"] = len(cpy_bytes)
    r["same"] = r["same_min"] = None
    if mpy_trace:
        mpy_bytes = read(mpy_trace)
        r["same"] = mpy_bytes == cpy_bytes
        if not r["same"]:
            r["notes"].append(
                "traces differ first at byte %d (CPython %d bytes, MicroPython %d bytes)"
                % (first_difference(cpy_bytes, mpy_bytes), len(cpy_bytes), len(mpy_bytes))
            )
    if min_trace:
        r["same_min"] = read(min_trace) == cpy_bytes
    return r


def source_state():
    """The commit the figures were taken at, marked when the tree has uncommitted changes."""
    try:
        proc = subprocess.run(
            ["git", "-C", ROOT, "describe", "--always", "--dirty=+uncommitted"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    return proc.stdout.strip() or "unknown"


def report(r):
    lines = []
    w = lines.append
    w("bench: %s, %.1f simulated hours, %d events" % (rel(WEEK), r["hours"], r["events"]))
    w("CPython %s; %s (unix port); best of %d" % (sys.version.split()[0], r["mpy_version"], REPEAT))
    w("source: %s" % source_state())
    w("")
    w("%-44s %9s %15s %14s" % ("", "wall s", "sim h / wall s", "x real time"))
    w(row("CPython      run (in process)", r["cpython_s"], r["hours"]))
    if r["month"]:
        month_h, month_s = r["month"]
        w(row("CPython      run, %s (%.0f h)" % (os.path.basename(MONTH), month_h), month_s, month_h))
    else:
        w(row("CPython      run, 30 days (skipped)", None, None))
    heap = "%dK" % r["heap_kb"] if r["heap_kb"] else "-"
    w(row("MicroPython  plan process (heap %s)" % pumpsim.PLAN_HEAP, r["plan_s"], None))
    w(row("MicroPython  run process (heap %s)" % heap, r["run_s"], r["hours"] if r["run_s"] else None))
    w(row("MicroPython  start-up alone (-c pass)", r["startup_s"], None))
    w("")
    if r["min_kb"] is None:
        w("MicroPython heap: fails even at %dK" % HEAP_HI_KB)
    else:
        w(
            "MicroPython heap: smallest -X heapsize the pump runs in: %dK (searched %d..%dK, 1K steps)"
            % (r["min_kb"], HEAP_LO_KB, HEAP_HI_KB)
        )
    err64 = r["err64"]
    w("MicroPython heap %dK: %s" % (BOARD_HEAP_KB, "FAILS (%s)" % err64 if err64 else "passes"))
    if r["live_peak"]:
        w("MicroPython run at %dK, code in ROMFS: %s" % (BOARD_HEAP_KB, r["live_peak"]))
    if r["same"] is None:
        same = "not compared: no MicroPython run succeeded"
    else:
        same = "yes, identical (%d bytes)" % r["trace_bytes"] if r["same"] else "NO"
        if r["same_min"] is not None:
            same += "; also at %dK: %s" % (r["min_kb"], "identical" if r["same_min"] else "DIFFERS")
    w("Trace MicroPython == CPython byte for byte: " + same)
    w("")
    w("Every shipped scenario, the pump's process:")
    for name, min_kb, at64 in r["heaps"]:
        w("  %-18s smallest heap %sK; at %dK: %s" % (name, min_kb, BOARD_HEAP_KB, at64))
    if not r["month"]:
        w("Note: 30-day figure skipped: %s not found" % rel(MONTH))
    for note in r["notes"]:
        w("Note: " + note)
    return lines


def occlusion_report():
    """Occlusion figures from the rig model (docs/occlusion.md), with their targets."""
    from occlusion import SupervisorRig, occlusion_figures

    lines = ["", "Occlusion, on the rig model (line blocked after 2 min of open flow):"]
    lines.append("  %-22s %16s %16s %16s" % ("delivery", "minutes to alarm", "U pushed", "U released"))
    for label, rate, target_min in (
        ("0.1 U/h basal", 100, 180),
        ("1 U/h basal", 1000, 30),
        ("5 U bolus at 2 U/min", 120000, None),
    ):
        minutes, pushed_u, released_u = occlusion_figures(rate, SupervisorRig())
        target = " (target <= %d)" % target_min if target_min else ""
        lines.append(
            "  %-22s %16s %16.3f %16.3f%s"
            % (label, "none" if minutes is None else "%.2f" % minutes, pushed_u, released_u, target)
        )
    lines.append(
        "  targets: U pushed <= 0.5, U released <= 0.2; commercial typical 75 min / 12.5 h, up to 3 U"
    )
    return lines


def main():
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(tmp)
    lines = report(r) + occlusion_report()
    lines.append("(bench took %.0f s)" % (time.perf_counter() - t0))
    print("\n".join(lines))
    # figures only: a failure exit means the scenario did not run or the runtimes disagree
    ok = r["same"] and r["same_min"] is not False and not r["notes"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
