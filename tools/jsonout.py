"""Deterministic JSON output: sorted keys, no spaces, integers and strings only.

MicroPython's dict order differs from CPython's, so both interpreters write through this to
produce the same bytes.
"""

import json


def write_json(out, value):
    """Compact JSON with sorted keys: the same bytes on every interpreter."""
    if isinstance(value, dict):
        out.write("{")
        first = True
        for key in sorted(value):
            if not first:
                out.write(",")
            first = False
            out.write(json.dumps(key))
            out.write(":")
            write_json(out, value[key])
        out.write("}")
    elif isinstance(value, (list, tuple)):
        out.write("[")
        for i, item in enumerate(value):
            if i:
                out.write(",")
            write_json(out, item)
        out.write("]")
    elif isinstance(value, bool):
        out.write("true" if value else "false")
    elif isinstance(value, (int, str)):
        out.write(json.dumps(value))
    else:
        raise TypeError("trace values are integers and strings only, got %r" % (value,))
