"""An independent reference for what a scenario programs: the basal integral, minute by minute.

Written from the therapy rules, not from the core's code: the scheduled rate by time of day,
a percent temp basal as floor(scheduled x percent / 100) mU/h, an absolute one rounded down
to 0.01 U/h, nothing while suspended (temp timers keep running), a timed suspend resuming by
itself, a new reservoir leaving the pump suspended. Events the pump refused (the trace's
`rejected`) are skipped. Exact: Fractions of a milliunit.
"""

import json
from fractions import Fraction

import sim as board
from pump.settings_user import rig_from_user, settings_from_user


def _segment(schedule, tod_min):
    pairs = list(zip(schedule[0::2], schedule[1::2], strict=True))
    return [v for start, v in pairs if start <= tod_min][-1]


def basal_integral_by_minute(doc, trace):
    """Programmed basal in mU (Fraction) at the end of each minute 1..N of a scenario."""
    import scenario

    doc = json.loads(json.dumps(doc))  # Scenario takes over (and converts) what it is given
    sc = scenario.Scenario(doc)
    settings = settings_from_user(doc["settings"], rig_from_user(doc.get("rig", {}), board))
    rejected = {(r["t_ms"], r["do"]) for r in trace["rejected"]}
    events = [(at, do, args) for at, do, args in sc.events if (at, do) not in rejected]
    state = {"profile": settings.active_profile, "suspended": False, "resume_at": None, "temp": None}

    def apply(ms, do, a):
        if do == "temp_basal":
            state["temp"] = (ms + a["minutes"] * 60000, a.get("percent"), a.get("rate_u_h"))
        elif do == "cancel_temp_basal":
            state["temp"] = None
        elif do == "suspend":
            state["suspended"] = True
            state["resume_at"] = ms + a["minutes"] * 60000 if a.get("minutes") else None
        elif do in ("resume", "new_reservoir"):
            state["suspended"] = do == "new_reservoir"
            state["resume_at"] = None
        elif do == "set_profile":
            state["profile"] = a["name"]

    def rate_at(ms):
        if state["resume_at"] is not None and ms >= state["resume_at"]:
            state["suspended"], state["resume_at"] = False, None
        temp = state["temp"]
        if temp and ms >= temp[0]:
            temp = state["temp"] = None
        if state["suspended"]:
            return 0
        sched = _segment(settings.profiles[state["profile"]], (sc.tod_ms + ms) // 60000 % 1440)
        if temp is None:
            return sched
        if temp[1] is None:
            return temp[2] - temp[2] % 10
        return sched * temp[1] // 100

    total = 0  # mU x ms / h
    out = []
    ei = 0
    for minute in range(sc.end_ms // 60000):
        t, end = minute * 60000, (minute + 1) * 60000
        while t < end:
            while ei < len(events) and events[ei][0] <= t:
                apply(t, events[ei][1], events[ei][2])
                ei += 1
            rate = rate_at(t)
            nxt = end
            for c in (
                events[ei][0] if ei < len(events) else end,
                state["resume_at"],
                state["temp"][0] if state["temp"] else None,
            ):
                if c is not None and t < c < nxt:
                    nxt = c
            total += rate * (nxt - t)
            t = nxt
        out.append(Fraction(total, 3600000))
    return out
