#!/usr/bin/env python3
"""Run the whole firmware, as built for a board, in the MicroPython unix port on the virtual rig.

    python tools/fwsim.py SCENARIO.json [--board pico] [--heap 152K] [--json OUT]
                          [--crash-at-min N]

What runs is the board's build (`make build`: build/<board>/, .mpy compiled for its chip) and
its firmware/main.py, unchanged, with the machine, rp2 (Pico), esp32 (ESP32) and time modules
stood in for by the virtual rig (host_tests/upy/). The bytecode is held in a ROMFS image, as
a board holds it in a ROMFS partition or frozen in its image, so the heap holds what a
board's heap would.

The scenario runs on the board's mechanism (its steps per unit and delivery speed replace the
scenario's rig). Prints what was delivered, the alarms, the heap the pump used (the largest
live heap after a collection, every simulated quarter hour) and each task's worst step in
microseconds of this host. --crash-at-min makes the display bus fail in an unexpected way at
that minute: the last-chance handler and the watchdog then take over.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, d) for d in ("tools", "firmware", "boards", "host_tests")]

import pumpsim  # noqa: E402

import build  # noqa: E402

# the harness beside the board's build in the image: stand-ins, the entry, and what it uses
HARNESS = (
    "upy/machine",
    "upy/rp2",
    "upy/esp32",
    "upy/time",
    "upy/fwrun",
    "upy/fwlive",
    "upy/selfrun",
    "linemodel",
    "actions",
    "selftest",
    "benchdemo",
)
NOT_HERE = ("power_cut", "power_on")  # tools/pumpsim.py simulates power cuts; a board run cannot
TIMEOUT_S = 600  # a month's scenario runs in minutes; a run that takes longer is stuck


def board_module(board):
    import importlib

    return importlib.import_module(build.FILES[board])


def board_doc(doc, board):
    """The scenario document on the board's mechanism: its rig replaces the scenario's."""
    b = board_module(board)
    doc = dict(doc)
    doc["rig"] = {"steps_per_unit": b.STEPS_PER_UNIT, "bolus_u_per_min": b.BOLUS_MU_PER_MIN / 1000}
    return doc


def image(board):
    """build/<board>-sim.img: the board's build and the harness, as a ROMFS image."""
    out = os.path.join(ROOT, "build", board)
    build.build(board, out)
    mpy = pumpsim.compile_mpy()
    stage = os.path.join(ROOT, "build", board + "-sim")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(out, stage)
    for name in HARNESS:
        shutil.copy(os.path.join(mpy, name + ".mpy"), os.path.join(stage, os.path.basename(name) + ".mpy"))
    img = stage + ".img"
    subprocess.run(
        [sys.executable, "-m", "mpremote", "romfs", "--no-mpy", "-o", img, "build", stage],
        check=True,
        capture_output=True,
    )
    return img


def bench_tool(module, presses, board="pico"):
    """tools/<module>.py (selftest, benchdemo) on the virtual rig, a person pressing buttons
    as `presses` says ([(name, at_ms), ...]): (passed, what it printed)."""
    img = image(board)
    with tempfile.TemporaryDirectory() as flash:
        spec = ",".join("%s@%d" % p for p in presses)
        cmd = [
            sys.executable,
            os.path.join(ROOT, "tools", "mprom.py"),
            img,
            "152K",
            "selfrun",
            flash,
            module,
            spec,
        ]
        with _Quiet() as quiet:
            proc = subprocess.run(
                cmd,
                env=dict(os.environ, MICROPYPATH=".frozen"),
                capture_output=True,
                text=True,
                timeout=120,
                stdin=quiet,
            )
    return proc.returncode == 0, proc.stdout + proc.stderr


class _Quiet:
    """A stdin for the firmware's process on which nothing ever arrives and that never ends: the
    board's link (shell/link.py) reads stdin, as a board reads its USB port with no host."""

    def __init__(self, data=b""):
        self.data = data  # what a host sends before the board starts (at most a pipe's buffer)

    def __enter__(self):
        self.r, self.w = os.pipe()
        os.write(self.w, self.data)
        return self.r

    def __exit__(self, *exc):
        os.close(self.r)
        os.close(self.w)


def run(scenario_path, board="pico", heap="152K", crash_at_min=None, flash_dir=None, link_input=b""):
    """Run the scenario; returns the harness's report (a dict). Exits on a bad scenario.

    flash_dir keeps the board's flash between runs: a run on the flash an earlier run left is
    the board starting again after a reset or a power cut (the scenario's start is when the
    board comes back; its settings are written only to a flash that has none)."""
    import scenario

    try:
        with open(scenario_path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("fwsim: %s: %s" % (scenario_path, e))
    for ev in doc.get("events", []) if isinstance(doc, dict) else []:
        if isinstance(ev, dict) and ev.get("do") in NOT_HERE:
            sys.exit(
                "fwsim: %s: %s is not for a run of the board's firmware (tools/pumpsim.py)"
                % (scenario_path, ev["do"])
            )
    try:
        sc = scenario.Scenario(board_doc(doc, board))
    except scenario.ScenarioError as e:
        sys.exit("fwsim: scenario error: %s" % e)
    img = image(board)
    # the unix port flushes each history write with fsync, as LittleFS commits it; in memory
    # (tmpfs) that costs nothing, while on a host's disk it makes a day's run take minutes
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        plan = os.path.join(tmp, "plan")
        with open(plan, "w") as f:
            sc.write_plan(f)
        flash = flash_dir or os.path.join(tmp, "flash")
        if not os.path.exists(os.path.join(flash, "settings.json")):
            sc.write_settings(flash)
        out = os.path.join(tmp, "report.json")
        cmd = [sys.executable, os.path.join(ROOT, "tools", "mprom.py"), img, heap, "fwrun", plan, flash, out]
        if crash_at_min is not None:
            cmd.append(str(crash_at_min * 60000))
        with _Quiet(link_input) as quiet:
            proc = subprocess.run(
                cmd, env=dict(os.environ, MICROPYPATH=".frozen"), capture_output=True, text=True, stdin=quiet
            )
        if proc.returncode or not os.path.exists(out):
            sys.exit(
                "fwsim: the firmware run failed (%d):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr)
            )
        with open(out) as f:
            report = json.load(f)
        report["console"] = proc.stdout
        report["history"] = _history(flash)
        report["error_txt"] = _read(os.path.join(flash, "error.txt"))
    return report


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _history(flash_dir):
    """The history the run left on the flash, as record-type names, oldest first."""
    from pump.history import History
    from pump.history_query import TYPE_NAMES
    from rig import DirFlash

    h = History(DirFlash(flash_dir, fresh=False))
    h.open()
    return [[TYPE_NAMES[r.type], r.code, r.programmed_mu, r.delivered_mu, r.aux] for r in h.records()]


def live(doc, flash_dir, board="pico", heap="256K"):
    """The firmware running live (host_tests/upy/fwlive.py) for tools/termsim.py --firmware: a
    Popen with pipes. doc is a scenario document whose start, rig, settings and reservoir are
    used (its events are not); the board's flash is flash_dir (settings written if it has none)."""
    import scenario

    doc = dict(board_doc(doc, board), events=[])
    sc = scenario.Scenario(doc)
    img = image(board)
    plan = os.path.join(flash_dir + ".plan")
    with open(plan, "w") as f:
        sc.write_plan(f)
    if not os.path.exists(os.path.join(flash_dir, "settings.json")):
        sc.write_settings(flash_dir)
    cmd = [sys.executable, os.path.join(ROOT, "tools", "mprom.py"), img, heap, "fwlive", plan, flash_dir]
    return subprocess.Popen(
        cmd,
        env=dict(os.environ, MICROPYPATH=".frozen"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )


def fmt_u(mu):
    return "%d.%03d U" % (mu // 1000, mu % 1000)


def main(argv=None):
    ap = argparse.ArgumentParser(description="run the board's whole firmware on the virtual rig")
    ap.add_argument("scenario")
    ap.add_argument("--board", default="pico", choices=build.BOARDS)
    ap.add_argument("--heap", default="152K")
    ap.add_argument("--crash-at-min", type=int)
    ap.add_argument("--json", help="write the full report here")
    ap.add_argument("--flash", help="keep the board's flash in this directory (run again: a restart)")
    args = ap.parse_args(argv)
    r = run(args.scenario, args.board, args.heap, args.crash_at_min, args.flash)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)
    basal, bolus, prime = r["delivered_mu"]
    print(
        "%s firmware, %s heap: ran %.1f h, ended by %s"
        % (args.board, args.heap, r["end_ms"] / 3600000, r["end"])
    )
    print(
        "delivered: basal %s, bolus %s, prime %s; motor %d steps"
        % (fmt_u(basal), fmt_u(bolus), fmt_u(prime), r["steps"])
    )
    print(
        "end: %s, reservoir %s, alarms %s"
        % (r["mode"], fmt_u(r["reservoir_mu"]), ", ".join(r["alarms"]) or "none")
    )
    print(
        "history: %d records; display frames %d; watchdog feeds %d"
        % (len(r["history"]), r["frames"], r["watchdog_feeds"])
    )
    print(
        "heap: the firmware's at most %d bytes live (peak %d after a collection, less the harness's %d); "
        "%d with the pump just started; %d in all before a collection, of %d"
        % (
            r["peak_live"] - r["heap_before"],
            r["peak_live"],
            r["heap_before"],
            r["heap_started"] - r["heap_before"],
            r["peak_alloc"],
            r["heap_total"],
        )
    )
    print(
        "worst step per task (us on this host): "
        + ", ".join("%s %d" % kv for kv in sorted(r["worst_us"].items()))
    )
    for line in r["first_lines"]:
        print("  | %-16s |" % line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
