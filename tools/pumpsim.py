#!/usr/bin/env python3
"""Run a pump scenario on the virtual rig in simulated time and summarise it.

    python tools/pumpsim.py SCENARIO.json [--trace OUT.json] [--screens DIR]
                            [--runtime cpython|micropython] [--heap 104K]

The same scenario code runs in CPython or inside the real MicroPython interpreter (the unix
port); both write byte-identical JSON traces. The summary is printed from the trace. With
--screens, each `snapshot` event of the scenario becomes a PNG of the OLED in DIR, drawn by
tools/screens.py, with the text of every screen in DIR/screens.txt.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = [os.path.join(ROOT, d) for d in ("firmware", "boards", "host_tests", "tools")]


MPY_DIR = os.path.join(ROOT, "build", "host-mpy")
ROM_IMAGE = os.path.join(ROOT, "build", "host-rom.img")
PLAN_HEAP = "256K"


def tool(name):
    """A MicroPython tool installed beside this interpreter, else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(here):
        return here
    found = shutil.which(name)
    if not found:
        sys.exit("pumpsim: %s is not installed (run: make venv)" % name)
    return found


# The heap the pump's process gets by default and in the tests: what the pump with its history
# memory needs on the 64-bit unix port (80-85 KB measured, docs/benchmarks.md; up to about
# 96 KB while a scenario's presses have a menu open, scenarios/buttons.json), with room for
# the run-to-run spread of the collector's conservative stack scan. The target is 64 KB and
# not met; tools/bench.py reports the smallest heap each scenario needs.
PUMP_HEAP = "104K"

# The source name stored in each .mpy is the module's dotted name, which the interpreter
# interns anyway: a path would cost every module one more interned string in the heap.
MPY_OPTIONS = "-O3 -s <module>"


def compile_mpy():
    """Cross-compile the simulator's modules to .mpy (only those that changed)."""
    mpy_cross = tool("mpy-cross")
    stamp = MPY_DIR + ".options"
    if not os.path.exists(stamp) or open(stamp).read() != MPY_OPTIONS:
        shutil.rmtree(MPY_DIR, ignore_errors=True)  # built with other options: build all again
        os.makedirs(MPY_DIR)
        with open(stamp, "w") as f:
            f.write(MPY_OPTIONS)
    for base in PATHS:
        for dirpath, _, files in os.walk(base):
            for name in files:
                if not name.endswith(".py") or name.startswith("test_"):
                    continue
                src = os.path.join(dirpath, name)
                rel = os.path.relpath(src, base)
                dst = os.path.join(MPY_DIR, rel[:-3] + ".mpy")
                if os.path.exists(dst) and os.path.getmtime(dst) > os.path.getmtime(src):
                    continue
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                module = rel[:-3].replace(os.sep, ".")
                subprocess.run([mpy_cross, "-O3", "-o", dst, "-s", module, src], check=True)
    return MPY_DIR


def build_rom():
    """A ROMFS image of the cross-compiled modules, rebuilt when any of them is newer.

    The pump's process runs its bytecode in place from this image (tools/mprom.py), as a
    board runs it from flash, so the heap holds what a board's heap would hold.
    """
    compile_mpy()
    newest = 0
    for dirpath, _, files in os.walk(MPY_DIR):
        for name in files:
            newest = max(newest, os.path.getmtime(os.path.join(dirpath, name)))
    if not os.path.exists(ROM_IMAGE) or os.path.getmtime(ROM_IMAGE) <= newest:
        subprocess.run(
            [sys.executable, "-m", "mpremote", "romfs", "--no-mpy", "-o", ROM_IMAGE, "build", MPY_DIR],
            check=True,
            capture_output=True,
        )
    return ROM_IMAGE


def run_cpython(path, trace_path):
    for p in PATHS:
        if p not in sys.path:
            sys.path.insert(0, p)
    import simhist

    import scenario
    import simrun

    try:
        sc = scenario.load(path)
    except scenario.ScenarioError as e:
        sys.exit("scenario error: %s" % e)
    buf = io.StringIO()
    sc.write_plan(buf)
    flash_dir = trace_path + ".flash"
    sc.write_settings(flash_dir)
    # the run reads the plan as JSON text, exactly as the MicroPython run does
    plan, events = simrun.read_plan(io.StringIO(buf.getvalue()))
    simrun.Run(plan, events, trace_path, flash_dir).run()
    simhist.finish(trace_path, flash_dir)


def micropython_phases(path, plan_path, trace_path, heap, probe=False):
    """The three MicroPython processes of a run, as (name, command, environment).

    The heap under test is the one the pump runs in, with its bytecode in place in a ROMFS
    image as on a board. Checking a scenario file is host-side work (a board never reads
    one), done first in its own process with room for a month of events; reading the
    history back from the flash the pump left, for the trace, is a download's work, done
    last in a process of the same size.
    """
    env = dict(os.environ, MICROPYPATH=compile_mpy())
    plan = [tool("micropython"), "-X", "heapsize=" + PLAN_HEAP, "-m", "sim_entry", "plan", path, plan_path]
    run = [
        sys.executable,
        os.path.join(ROOT, "tools", "mprom.py"),
        build_rom(),
        heap,
        "sim_entry",
        "run",
        plan_path,
        trace_path,
    ] + (["heap"] if probe else [])
    history = [tool("micropython"), "-X", "heapsize=" + PLAN_HEAP, "-m", "sim_entry", "history"]
    history += [trace_path, plan_path + ".flash"]
    return (("plan", plan, env), ("run", run, env), ("history", history, env))


def run_micropython(path, trace_path, heap):
    plan_path = trace_path + ".plan"
    try:
        for name, cmd, env in micropython_phases(path, plan_path, trace_path, heap):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode:
                sys.exit("pumpsim (micropython %s): %s%s" % (name, proc.stdout, proc.stderr))
    finally:
        for leftover in [plan_path] + [
            trace_path + "." + s
            for s in ("doses", "rejected", "events", "alarms", "screens", "history", "final")
        ]:
            if os.path.exists(leftover):
                os.remove(leftover)
        shutil.rmtree(plan_path + ".flash", ignore_errors=True)


def fmt_u(mu):
    return "%d.%03d U" % (mu // 1000, mu % 1000)


def summary(trace, out=sys.stdout):
    rows = trace["minutes"]
    final = trace["final"]
    last = rows[-1] if rows else [0, 0, 0, 0, 0]
    w = out.write
    w("Simulated %d min (%.1f h)\n" % (last[0], last[0] / 60))
    w(
        "Delivered: basal %s, bolus %s, total therapy %s; prime %s; motor steps %d\n"
        % (fmt_u(last[1]), fmt_u(last[2]), fmt_u(last[1] + last[2]), fmt_u(last[3]), last[4])
    )
    w(
        "End: %s, reservoir %s, insulin on board %s\n\n"
        % (final["state"], fmt_u(final["reservoir_mu"]), fmt_u(final["iob_mu"]))
    )
    span = 60 if last[0] <= 48 * 60 else 1440
    w("%-9s %12s %12s %12s\n" % ("hour" if span == 60 else "day", "basal", "bolus", "prime"))
    prev = [0, 0, 0, 0, 0]
    for row in rows:
        if row[0] % span == 0 or row is rows[-1]:
            label = "%02d:00" % ((row[0] - 1) // 60) if span == 60 else "day %d" % ((row[0] - 1) // 1440 + 1)
            w(
                "%-9s %12s %12s %12s\n"
                % (label, fmt_u(row[1] - prev[1]), fmt_u(row[2] - prev[2]), fmt_u(row[3] - prev[3]))
            )
            prev = row
    w("\nDoses (%d):\n" % len(trace["doses"]))
    for d in trace["doses"]:
        upto = " (at most %s)" % fmt_u(d["delivered_max_mu"]) if "delivered_max_mu" in d else ""
        w(
            "  %7.1f min  %-10s %-9s programmed %s, delivered %s%s\n"
            % (
                d["t_ms"] / 60000,
                d["kind"],
                d["status"],
                fmt_u(d["programmed_mu"]),
                fmt_u(d["delivered_mu"]),
                upto,
            )
        )
    w("Refused (%d):\n" % len(trace["rejected"]))
    for r in trace["rejected"]:
        w("  %7.1f min  %s: %s\n" % (r["t_ms"] / 60000, r["do"], r["reason"]))
    if trace["screens"]:
        w("Screens (%d): %s\n" % (len(trace["screens"]), ", ".join(s["name"] for s in trace["screens"])))
    w("Events (%d):\n" % len(trace["events"]))
    for e in trace["events"][:40]:
        rest = ", ".join("%s=%s" % (k, e[k]) for k in sorted(e) if k not in ("t_ms", "code"))
        w("  %7.1f min  %s %s\n" % (e["t_ms"] / 60000, e["code"], rest))
    if len(trace["events"]) > 40:
        w("  ... %d more in the trace\n" % (len(trace["events"]) - 40))


def write_screens(trace, out_dir):
    """The trace's snapshots as PNG pictures of the OLED, and their text; returns the paths."""
    import screens

    shots = trace["screens"]
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    with open(os.path.join(out_dir, "screens.txt"), "w") as text:
        for i, (shot, frame) in enumerate(
            zip(shots, screens.frames([s["rows"] for s in shots]), strict=True)
        ):
            path = os.path.join(out_dir, "%02d-%s.png" % (i + 1, shot["name"]))
            screens.png(frame, path)
            paths.append(path)
            minute = shot["t_ms"] // 60000
            text.write(
                "%s  at %d:%02d (%s)\n" % (os.path.basename(path), minute // 60, minute % 60, shot["name"])
            )
            text.write("".join("  |%-16s|\n" % row for row in shot["rows"]) + "\n")
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--trace", help="write the JSON trace here")
    ap.add_argument("--screens", metavar="DIR", help="write the scenario's snapshots here as PNG files")
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    ap.add_argument(
        "--heap", default=PUMP_HEAP, help="MicroPython heap of the pump's process (default %s)" % PUMP_HEAP
    )
    ap.add_argument("--quiet", action="store_true", help="write the trace, print no summary")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trace_path = args.trace or os.path.join(tmp, "trace.json")
        if args.runtime == "cpython":
            run_cpython(os.path.abspath(args.scenario), trace_path)
        else:
            run_micropython(os.path.abspath(args.scenario), os.path.abspath(trace_path), args.heap)
        with open(trace_path) as f:
            trace = json.load(f)
    if not args.quiet:
        summary(trace)
    if args.screens:
        for path in write_screens(trace, args.screens):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
