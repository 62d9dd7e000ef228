#!/usr/bin/env python3
"""Throw random and mutated frames at the pump's link parser and count what got through.

    python tools/linkfuzz.py [--frames 1000000] [--seed 1]

A paired pump with remote doses switched ON (the worst case) and a session open. Each frame is
one of: random bytes; a random line in the frame's shape; a correctly signed command (a
bolus, a temp basal, a suspend, a time change...) for the current session, mutated (a byte
flipped, inserted, deleted or the line cut short; never left unchanged); a genuine status
request; or a replay of one of those. The clock
moves an hour and a second a frame, so neither the lockout nor the rate limit hides the
parser. Prints frames, replies, the errors by code, crashes (exceptions out of
Link.frame) and deliveries (anything started: a bolus, a temp basal, a suspend, a change of
settings), and the time taken. Figures are in docs/benchmarks.md; it asserts nothing.
"""

import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _d in ("tools", "firmware", "boards", "host_tests"):
    if os.path.join(ROOT, _d) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _d))

COMMANDS = [
    {"cmd": "bolus", "mu": 2000},
    {"cmd": "bolus", "mu": 1000, "extended_min": 30},
    {"cmd": "temp_basal", "minutes": 60, "percent": 150},
    {"cmd": "suspend"},
    {"cmd": "resume"},
    {"cmd": "status"},
    {"cmd": "history", "since": 0, "after_seq": 0, "count": 20},
    {"cmd": "time_set", "day": 9600, "tod_ms": 0},
    {"cmd": "pair"},
]


def setup():
    from fakeflash import FakeFlash
    from harness import Sim
    from pump import settings_store
    from pump.boot import start
    from pump.link import Link, LinkStore, key_from_code
    from pump.settings_user import settings_to_record

    sim = Sim()
    fs = FakeFlash()
    settings_store.save(fs, settings_to_record(sim.settings))
    sim.pump = start(fs, sim.rig, sim.hw, sim._emit, sim.clock.ticks_ms(), 9500, 0, 200000)
    rng = random.Random(99)
    store = LinkStore(fs)
    store.key = key_from_code("ABCD-EFGH-JKLM-NPQR")
    store.remote_doses = True
    link = Link(sim.pump, store, lambda n: bytes(rng.getrandbits(8) for _ in range(n)))
    return sim, link


def mutate(rng, frame):
    while True:
        b = bytearray(frame)
        how = rng.randrange(4)
        i = rng.randrange(len(b))
        if how == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif how == 1:
            b.insert(i, rng.randrange(256))
        elif how == 2:
            del b[i]
        else:
            b = b[:i]
        if bytes(b) != frame:
            return bytes(b)


def main(argv=None):
    from pump.link import tag

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    sim, link = setup()
    p = sim.pump
    hello = json.loads(link.frame(b'PL1 - 0 {"cmd": "hello"}', 0).split(b" ", 3)[3])
    nonce = bytes.fromhex(hello["nonce"])
    key = link.store.key
    settings_before = p.settings.fingerprint()
    now = 0
    counter = 0
    sent = []
    errors = {}
    crashes = 0
    started = 0
    t0 = time.perf_counter()
    done = 0
    while done < args.frames:
        done += 1
        now = (now + 3601000) % (1 << 30)
        kind = rng.randrange(5)
        if kind == 3:  # a genuine status request, sent as it is: accepted
            counter += 1
            body = b'{"cmd": "status"}'
            frame = b"PL1 " + tag(key, nonce, b"H", counter, body).hex().encode() + b" %d " % counter + body
            sent.append(frame)
            del sent[:-1000]
        elif kind == 4 and sent:  # one of those again: a replay
            frame = rng.choice(sent)
        elif kind == 0:
            frame = bytes(rng.getrandbits(8) for _ in range(rng.randrange(80)))
        elif kind == 1:
            frame = b"PL1 %s %d %s" % (
                rng.choice([b"-", b"%064x" % rng.getrandbits(256)]),
                rng.randrange(1 << 20),
                json.dumps(rng.choice(COMMANDS)).encode(),
            )
        else:
            counter += 1
            body = json.dumps(rng.choice(COMMANDS)).encode()
            good = b"PL1 " + tag(key, nonce, b"H", counter, body).hex().encode() + b" %d " % counter + body
            frame = mutate(rng, good)
        try:
            reply = link.frame(frame, now)
            code = json.loads(reply.split(b" ", 3)[3]).get("error", "ok")
            errors[code] = errors.get(code, 0) + 1
        except Exception:  # noqa: BLE001 - counted: the figure this benchmark is for
            crashes += 1
        if p.current_bolus is not None or p.temp is not None or p.mode != "running":
            started += 1
            break
    elapsed = time.perf_counter() - t0
    changed = p.settings.fingerprint() != settings_before
    print("frames %d in %.1f s (%.0f a second)" % (done, elapsed, done / elapsed))
    print("crashes %d" % crashes)
    print("deliveries or therapy changes %d; settings changed: %s" % (started, "yes" if changed else "no"))
    print("replies by error code: " + ", ".join("%s %d" % kv for kv in sorted(errors.items())))
    print(
        "history records written %d (refusals are not recorded for frames that fail to verify)"
        % (p.history().next_seq - 1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
