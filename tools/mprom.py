"""Run the MicroPython unix port with the firmware's bytecode in a ROMFS image, outside the heap.

    python tools/mprom.py IMAGE HEAP ENTRY ARG...

On a Pico or an ESP32 the firmware's bytecode runs in place from flash (a ROMFS partition or
frozen modules) and the heap holds only data. This launcher does the same on the host: it
holds IMAGE (built by `mpremote romfs build`) in this process's memory, starts the unix port
in-process with a heap of HEAP, mounts the image with vfs.VfsRom at /rom and calls
ENTRY.main([ENTRY, ARG...]) from it. Exit status: what main returned.
"""

import ctypes
import sys

import micropython_run

_BOOT = """
import sys, uctypes, vfs
vfs.mount(vfs.VfsRom(uctypes.bytearray_at(%d, %d)), "/rom")
sys.path.insert(0, "/rom")
import %s as entry
raise SystemExit(entry.main(%r))
"""


def main(argv):
    image_path, heap, entry = argv[1], argv[2], argv[3]
    with open(image_path, "rb") as f:
        data = f.read()
    rom = ctypes.create_string_buffer(data, len(data))  # stays alive until run_main returns
    boot = _BOOT % (ctypes.addressof(rom), len(data), entry, [entry] + argv[4:])
    return micropython_run.run_main(["micropython", "-X", "heapsize=" + heap, "-c", boot])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
