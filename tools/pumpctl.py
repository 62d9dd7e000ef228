#!/usr/bin/env python3
"""The host tool for the pump's serial link (docs/protocol.md): pair, status, history, totals,
Nightscout export, plots, settings.

    pumpctl --port PORT pair [--code ABCD-EFGH-JKLM-NPQR]
    pumpctl --port PORT status
    pumpctl --port PORT history [--since YYYY-MM-DD[THH:MM]] [--until ...] [--csv | --json]
    pumpctl --port PORT totals [--days 7]
    pumpctl --port PORT export --nightscout FILE
    pumpctl --port PORT report OUT_DIR
    pumpctl --port PORT settings get [--file FILE] | settings set --file FILE

PORT is a board's USB serial port (/dev/ttyACM0, COM3) or the pseudo-terminal `make sim`
shows. The key agreed at pairing is kept in --key-file (default: .pumpctl.key); anyone with
that file can command the pump, so it is written readable by its owner only.
"""

import argparse
import csv
import datetime
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _d in ("tools", "firmware"):
    if os.path.join(ROOT, _d) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _d))

import pumplink  # noqa: E402

from pump.history import Record  # noqa: E402

EPOCH = datetime.datetime(2000, 1, 1)  # the pump counts local time in seconds from here
FIELDS = Record.__slots__  # a history record's fields, in the order the link sends them


class Serial:
    """A pyserial port as pumplink's transport."""

    def __init__(self, port, timeout=5):
        import serial

        self.port = serial.Serial(port, 115200, timeout=timeout)
        self.port.reset_input_buffer()

    def write(self, data):
        self.port.write(data)
        self.port.flush()

    def readline(self):
        return self.port.readline()

    def close(self):
        self.port.close()


def local_time(t_s):
    return EPOCH + datetime.timedelta(seconds=t_s)


def pump_seconds(text):
    """'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM' -> the pump's seconds since 2000-01-01."""
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return int((datetime.datetime.strptime(text, fmt) - EPOCH).total_seconds())
        except ValueError:
            pass
    raise SystemExit("pumpctl: --since: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, got %r" % text)


def download(session, since=0, progress=True, until=0xFFFFFFFF):
    """Every history record with since <= t_s < until, page by page, as dicts (docs/history.md
    fields)."""
    records = []
    after = 0
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("history", total=None)
    try:
        while True:
            page = session.call("history", since=since, until=until, after_seq=after, count=20)
            records += [dict(zip(FIELDS, r, strict=True)) for r in page["records"]]
            if bar:
                bar.update(task, completed=len(records), total=max(page["next_seq"] - 1, len(records)))
            if not page["more"] or not page["records"]:
                return records
            since, after = records[-1]["t_s"], records[-1]["seq"]
    finally:
        if bar:
            bar.stop()


def described(records):
    """Records with their names filled in (type, source, mode, kind, alarm) for people."""
    from pump import history_query as Q

    out = []
    for r in records:
        d = dict(r)
        d["time"] = local_time(r["t_s"]).isoformat()
        d["type"] = Q.type_name(r["type"])
        d["source"] = Q.SOURCE_NAMES[r["source"]] if r["source"] < len(Q.SOURCE_NAMES) else r["source"]
        d["mode"] = Q.MODE_NAMES[r["mode"]] if r["mode"] < len(Q.MODE_NAMES) else r["mode"]
        out.append(d)
    return out


def nightscout(records):
    """Nightscout treatments (the careportal's event types and fields) from history records."""
    from pump import history_query as Q
    from pump.alarms import text

    out = []
    carbs = 0
    for r in records:
        when = local_time(r["t_s"]).strftime("%Y-%m-%dT%H:%M:%S")
        base = {"created_at": when, "enteredBy": "pumpctl"}
        t = r["type"]
        if t == Q.TEMP_START:
            minutes, rate_mu_h = r["aux"] >> 16, r["aux"] & 0xFFFF
            entry = {"eventType": "Temp Basal", "duration": minutes, "absolute": rate_mu_h / 1000}
            if r["code"] != 255:
                entry["percent"] = r["code"] - 100  # Nightscout's percent is the change
            out.append(dict(base, **entry))
        elif t == Q.BOLUS_START:
            carbs = r["delivered_mu"]  # a BOLUS_START keeps the calculator's carbs there
        elif t == Q.DOSE and r["code"] in (Q.KIND_NORMAL, Q.KIND_EXTENDED, Q.KIND_DUAL):
            units = r["delivered_mu"] / 1000
            if r["code"] != Q.KIND_NORMAL:
                minutes = (r["aux"] >> 8) // 60
                entry = {"eventType": "Combo Bolus", "insulin": units, "duration": minutes}
                entry["enteredinsulin"] = r["programmed_mu"] / 1000
            elif carbs:
                entry = {"eventType": "Meal Bolus", "insulin": units, "carbs": carbs}
            else:
                entry = {"eventType": "Correction Bolus", "insulin": units}
            if carbs and r["code"] != Q.KIND_NORMAL:
                entry["carbs"] = carbs
            out.append(dict(base, **entry))
            carbs = 0
        elif t == Q.SUSPEND:
            out.append(dict(base, eventType="Suspend Pump"))
        elif t == Q.RESUME:
            out.append(dict(base, eventType="Resume Pump"))
        elif t == Q.RESERVOIR:
            out.append(dict(base, eventType="Insulin Change", notes="reservoir %.1f U" % (r["aux"] / 1000)))
        elif t == Q.DOSE and r["code"] == Q.KIND_PRIME:
            out.append(
                dict(base, eventType="Site Change", notes="primed %.2f U" % (r["delivered_mu"] / 1000))
            )
        elif t == Q.ALARM and (r["aux"] & 0xFF) == 0:  # raised
            out.append(dict(base, eventType="Note", notes="alarm: " + text(r["code"])))
    return out


def report(records, totals, out_dir):
    """PNG plots: basal and bolus over time, daily totals, alarms; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pump import history_query as Q
    from pump.alarms import text

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    op = [r for r in records if r["type"] == Q.OPERATIONAL]
    boluses = [r for r in records if r["type"] == Q.DOSE and r["code"] in (0, 1, 2)]
    fig, ax = plt.subplots(figsize=(10, 4))
    if op:
        ax.step(
            [local_time(r["t_s"]) for r in op],
            [r["programmed_mu"] / 1000 for r in op],
            where="post",
            label="basal U/h",
        )
    if boluses:
        ax.bar(
            [local_time(r["t_s"]) for r in boluses],
            [r["delivered_mu"] / 1000 for r in boluses],
            width=0.01,
            color="tab:red",
            label="bolus U",
        )
    ax.set_title("Basal rate and boluses")
    ax.legend()
    fig.autofmt_xdate()
    paths.append(os.path.join(out_dir, "timeline.png"))
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 4))
    days = [(EPOCH + datetime.timedelta(days=d[0])).strftime("%m-%d") for d in totals]
    ax.bar(days, [d[2] / 1000 for d in totals], label="basal")
    ax.bar(days, [d[3] / 1000 for d in totals], bottom=[d[2] / 1000 for d in totals], label="bolus")
    ax.set_ylabel("U")
    ax.set_title("Daily totals")
    ax.legend()
    paths.append(os.path.join(out_dir, "daily-totals.png"))
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    alarms = [r for r in records if r["type"] == Q.ALARM and (r["aux"] & 0xFF) == 0]
    fig, ax = plt.subplots(figsize=(10, 3))
    names = sorted({text(r["code"]) for r in alarms})
    for r in alarms:
        ax.plot(local_time(r["t_s"]), names.index(text(r["code"])), "o", color="tab:orange")
    ax.set_yticks(range(len(names)), names)
    ax.set_title("Alarms raised (%d)" % len(alarms))
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "alarms.png"))
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


def _units(mu):
    return "%d.%03d" % (mu // 1000, mu % 1000)


def _hhmm(minute):
    return "%02d:%02d" % (minute // 60, minute % 60)


def user_settings(rec):
    """The pump's settings record in the user-facing form (docs/scenarios.md, `settings`),
    amounts as decimal text, so that `settings set` takes back what `settings get` wrote."""

    def schedule(flat, value):
        return [[_hhmm(flat[i]), value(flat[i + 1])] for i in range(0, len(flat), 2)]

    return {
        "basal_profiles": {name: schedule(rec["profiles"][name], _units) for name in rec["profiles"]},
        "active_profile": rec["active_profile"],
        "max_bolus_u": _units(rec["max_bolus_mu"]),
        "max_basal_u_h": _units(rec["max_basal_mu_h"]),
        "max_hourly_u": _units(rec["max_hourly_mu"]),
        "max_daily_u": _units(rec["max_daily_mu"]),
        "dia_h": _units(rec["dia_min"] * 1000 // 60),
        "peak_min": rec["peak_min"],
        "icr_g_per_u": schedule(rec["icr_dg_per_u"], lambda v: "%d.%d" % (v // 10, v % 10)),
        "isf_mgdl_per_u": schedule(rec["isf_mgdl_per_u"], int),
        "target_mgdl": schedule(rec["target_mgdl"], int),
        "bolus_increment_u": _units(rec["bolus_increment_mu"]),
        "low_reservoir_u": _units(rec["low_reservoir_mu"]),
        "auto_off_h": rec["auto_off_min"] // 60,
        "set_change_h": rec["set_change_min"] // 60,
    }


def read_key(path):
    try:
        with open(path) as f:
            return bytes.fromhex(f.read().strip())
    except (OSError, ValueError):
        raise SystemExit("pumpctl: no key in %s: pair first (pumpctl --port PORT pair)" % path) from None


def write_key(path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")


def main(argv=None, transport=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=transport is None, help="serial port, or the pty make sim shows")
    ap.add_argument("--key-file", default=".pumpctl.key")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pair")
    p.add_argument("--code", help="the code on the pump's pairing screen (asked for if not given)")
    sub.add_parser("status")
    p = sub.add_parser("history")
    p.add_argument("--since")
    p.add_argument("--until")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--json", action="store_true")
    p = sub.add_parser("totals")
    p.add_argument("--days", type=int, default=7)
    p = sub.add_parser("export")
    p.add_argument("--nightscout", required=True, metavar="FILE")
    p.add_argument("--since")
    p = sub.add_parser("report")
    p.add_argument("out_dir")
    p = sub.add_parser("settings")
    p.add_argument("action", choices=("get", "set"))
    p.add_argument("--file")
    args = ap.parse_args(argv)
    opened = None
    if transport is None:
        import serial

        try:
            transport = opened = Serial(args.port)
        except (serial.SerialException, OSError) as e:
            raise SystemExit("pumpctl: cannot open %s: %s" % (args.port, e)) from None
    t = transport
    try:
        if args.command == "pair":
            code = args.code or input("Code on the pump's screen: ")
            write_key(args.key_file, pumplink.pair(t, code))
            print("paired; key kept in %s" % args.key_file)
            return 0
        s = pumplink.Session(t, read_key(args.key_file))
        s.hello()
        return run(s, args)
    except pumplink.LinkError as e:
        print("pumpctl: the pump refused: %s" % e, file=sys.stderr)
        return 2
    finally:
        if opened is not None:
            opened.close()  # now, not when collected: a late close could hang up the next one


def run(s, args):
    if args.command == "status":
        st = s.call("status")
        day = (EPOCH + datetime.timedelta(days=st["day"], milliseconds=st["tod_ms"])).strftime(
            "%Y-%m-%d %H:%M"
        )
        print("%s  %s, profile %s" % (day, st["mode"], st["profile"]))
        print(
            "basal %.2f U/h, insulin on board %.2f U, reservoir %.1f U"
            % (st["basal_mu_h"] / 1000, st["iob_mu"] / 1000, st["reservoir_mu"] / 1000)
        )
        if st["bolus"]:
            print(
                "bolus running: %.2f of %.2f U"
                % (st["bolus"]["delivered_mu"] / 1000, st["bolus"]["programmed_mu"] / 1000)
            )
        for code, priority, state in st["alarms"]:
            print("alarm %s (%s), %s" % (code, priority, state))
        print("remote doses %s" % ("on" if st["remote_doses"] else "off"))
        return 0
    if args.command == "history":
        records = described(
            download(s, pump_seconds(args.since) if args.since else 0, progress=sys.stderr.isatty())
        )
        if args.json:
            json.dump(records, sys.stdout, indent=1)
            print()
        else:
            w = csv.DictWriter(sys.stdout, fieldnames=("time",) + FIELDS)
            w.writeheader()
            for r in records:
                w.writerow(r)
        return 0
    if args.command == "totals":
        for day, total, basal, bolus in s.call("totals", days=args.days)["days"]:
            date = (EPOCH + datetime.timedelta(days=day)).strftime("%Y-%m-%d")
            print(
                "%s  total %7.2f U  basal %7.2f U  bolus %7.2f U"
                % (date, total / 1000, basal / 1000, bolus / 1000)
            )
        return 0
    if args.command == "export":
        records = download(s, pump_seconds(args.since) if args.since else 0, progress=sys.stderr.isatty())
        treatments = nightscout(records)
        with open(args.nightscout, "w") as f:
            json.dump(treatments, f, indent=1)
        print("%d treatments written to %s" % (len(treatments), args.nightscout))
        return 0
    if args.command == "report":
        records = download(s, 0, progress=sys.stderr.isatty())
        for path in report(records, s.call("totals", days=14)["days"], args.out_dir):
            print(path)
        return 0
    if args.command == "settings":
        if args.action == "get":
            got = s.call("settings_get")
            text = json.dumps(user_settings(got["settings"]), indent=1, sort_keys=True)
            if args.file:
                with open(args.file, "w") as f:
                    f.write(text + "\n")
            else:
                print(text)
            return 0
        if not args.file:
            raise SystemExit("pumpctl: settings set needs --file (settings in the scenario format)")
        try:
            with open(args.file) as f:
                user = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit("pumpctl: %s: %s" % (args.file, e)) from None
        pumplink.send_settings(s, user)
        print("settings stored on the pump")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
