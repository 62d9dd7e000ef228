"""Finish a trace written by tools/simrun.py: the pump's history, read back from its flash.

    finish(trace_path, flash_dir)

appends `,"history":[...]}` to the trace — every record the history holds, oldest first, as
a download from the pump would give them — and removes the flash directory. Runs on CPython
and inside the MicroPython unix port with the same bytes out.
"""

from jsonout import write_json
from pump.history import History
from pump.history_query import type_name
from rig import DirFlash


def finish(trace_path, flash_dir):
    flash = DirFlash(flash_dir, fresh=False)
    history = History(flash)
    history.open()
    with open(trace_path, "a") as out:
        out.write(',"history":[')
        first = True
        for rec in history.records():
            if not first:
                out.write(",")
            first = False
            write_json(
                out,
                {
                    "seq": rec.seq,
                    "t_s": rec.t_s,
                    "type": type_name(rec.type),
                    "source": rec.source,
                    "mode": rec.mode,
                    "code": rec.code,
                    "programmed_mu": rec.programmed_mu,
                    "delivered_mu": rec.delivered_mu,
                    "reservoir_mu": rec.reservoir_mu,
                    "aux": rec.aux,
                },
            )
        out.write("]}\n")
    flash.wipe()
