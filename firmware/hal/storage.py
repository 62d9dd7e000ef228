"""The pump's files on the board's flash (LittleFS): the interface the history and the
settings store use (pump/history.py, pump/settings_store.py).

    flash = Flash(board.FLASH_ROOT)

LittleFS gives what they rely on: data is durable once a file is flushed or closed, a rename
is atomic, and a full disk raises OSError(ENOSPC). Names are plain file names in one
directory; listdir() yields them one at a time (os.ilistdir), so listing the history's
segments never holds all their names in the heap.
"""

import os


class Flash:
    def __init__(self, root="/"):
        self._root = root.rstrip("/")

    def _path(self, name):
        return self._root + "/" + name

    def open(self, name, mode):
        return open(self._path(name), mode)

    def rename(self, src, dst):
        os.rename(self._path(src), self._path(dst))

    def remove(self, name):
        os.remove(self._path(name))

    def listdir(self):
        ilistdir = getattr(os, "ilistdir", None)
        if ilistdir is None:  # CPython, for the host tests
            return os.listdir(self._root or "/")
        return (entry[0] for entry in ilistdir(self._root or "/"))

    def size(self, name):
        return os.stat(self._path(name))[6]

    def free_bytes(self):
        """Free space on the filesystem, in bytes."""
        st = os.statvfs(self._root or "/")
        return st[1] * st[4]  # f_frsize x f_bavail

    def deinit(self):
        """Nothing to release: every file is closed after each use."""
