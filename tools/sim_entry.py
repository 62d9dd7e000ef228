"""Entry points for running a scenario inside the MicroPython unix port, in two processes.

    micropython -X heapsize=64K tools/sim_entry.py plan SCENARIO PLAN
    micropython -X heapsize=64K tools/sim_entry.py run PLAN TRACE [heap]
    micropython -X heapsize=256K tools/sim_entry.py history TRACE FLASH

(as tools/pumpsim.py does, with MICROPYPATH naming the cross-compiled firmware/, boards/,
host_tests/ and tools/). "plan" checks the scenario file and writes it in the pump's
integer form; "run" runs that plan, and with "heap" also prints the largest live heap it
saw, measured after a collection at every simulated quarter hour; "history" reads the
history back from the flash the run left and closes the trace (tools/simhist.py). A board
works the same way: settings are parsed at start-up, and the code that parses them is not
what runs the therapy; its history is analysed by whatever downloads it.
"""

import gc
import sys


def main(argv):
    if argv[1] == "plan":
        import scenario

        try:
            sc = scenario.load(argv[2])
        except scenario.ScenarioError as e:
            print("scenario error:", e)
            return 2
        with open(argv[3], "w") as out:
            sc.write_plan(out)
        sc.write_settings(argv[3] + ".flash")
        return 0
    if argv[1] == "history":
        import simhist

        simhist.finish(argv[2], argv[3])
        return 0
    import simrun

    # Loading bytecode leaves garbage between the code it keeps; collecting it before the
    # pump allocates its buffers lets them fill those gaps instead of splitting free space.
    gc.collect()
    peak = [gc.mem_alloc()]

    def probe(minute):
        if minute % 15 == 0:
            gc.collect()
            peak[0] = max(peak[0], gc.mem_alloc())

    with open(argv[2]) as f:
        plan, events = simrun.read_plan(f)
        run = simrun.Run(plan, events, argv[3], argv[2] + ".flash", probe if argv[4:] == ["heap"] else None)
        plan = None  # the header's settings now live in the pump
        run.run()
    if argv[4:] == ["heap"]:
        print("live heap peak:", peak[0], "bytes of", gc.mem_alloc() + gc.mem_free())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
