"""A flat LittleFS-like file store in RAM with fault injection, for tests and the simulator.

It offers the `fs` interface the core is handed (open/rename/remove/listdir/size, binary
modes "rb", "wb", "ab") with the semantics of LittleFS v2 that matter to the core:

* data written to a file becomes durable only when the handle is flushed or closed; a new
  file exists (empty) as soon as it is opened for writing; "wb" replaces the old contents
  only when the new ones are flushed; `rename` is atomic and replaces the target;
* space is counted in blocks: a file occupies ceil(size / block) blocks, at least one, and
  unflushed data is charged too; a write that would pass the capacity raises
  OSError(ENOSPC) and writes nothing.

Faults: `power_cut(cut_at)` loses every open file's unflushed data, or with an int keeps a
prefix of it (a torn tail), and kills every open handle (later calls raise OSError(EIO));
`arm_cut(n, tear)` makes the power fail at the n-th counted operation from now (open, read,
write, flush, close, rename, remove) and raise PowerCut, so a test can cut at any point of
any sequence; `set_full(True)` makes every write and file creation fail with ENOSPC;
`fail_next(n, err, after)` makes n counted operations, after `after` more, raise
OSError(err) and do nothing.
Runs on CPython and in the MicroPython unix port; listdir order is deterministic but not
sorted ascending, so nothing may depend on it.
"""

ENOENT = 2
EIO = 5
ENOSPC = 28


_NAMES = {ENOENT: "ENOENT", EIO: "EIO", ENOSPC: "ENOSPC"}


def _err(errno):
    # two arguments: CPython sets .errno only from the (errno, strerror) form
    return OSError(errno, _NAMES.get(errno, "error"))


class PowerCut(Exception):
    """The armed power cut happened: the caller's process is dead; re-open and carry on."""


class _Handle:
    def __init__(self, flash, path, mode):
        self._flash = flash
        self.path = path
        self.mode = mode
        self.pending = b""  # written, not yet durable
        self.truncate = mode == "wb"  # the first flush replaces the old contents
        self.data = b""  # what a reader sees
        self.pos = 0
        self.dead = False
        self.closed = False

    def write(self, data):
        return self._flash._write(self, data)

    def read(self, n=-1):
        return self._flash._read(self, n)

    def flush(self):
        self._flash._flush(self)

    def close(self):
        self._flash._close(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeFlash:
    def __init__(self, capacity_bytes=1 << 20, block=4096):
        self.block = block
        self.total_blocks = capacity_bytes // block
        self._files = {}  # path -> durable bytes
        self._file_blocks = 0  # blocks held by durable contents
        self._open = []  # live writing handles
        self._full = False
        self._fail = 0
        self._fail_errno = EIO
        self._fail_skip = 0
        self._bad = set()  # paths whose every open fails with EIO (fail_reads)
        self._cut_op = None  # the value of `ops` at which the armed cut happens
        self._cut_tear = None
        self.ops = 0  # counted operations so far
        self.cuts = 0  # power cuts so far

    # ------------------------------------------------------------ fault injection

    def power_cut(self, cut_at=None):
        """Lose unflushed data (or keep cut_at % (len + 1) bytes of it); kill every handle."""
        for h in self._open:
            if cut_at is not None and h.pending:
                keep = cut_at % (len(h.pending) + 1)
                if keep:
                    self._land(h, h.pending[:keep])
            h.pending = b""
            h.dead = True
        self._open = []
        self.cuts += 1

    def arm_cut(self, after_ops, tear=None):
        """Cut the power at the after_ops-th counted operation from now (1 = the next one).

        The operation does not happen, except a write, whose bytes join the unflushed data
        before the cut, so `tear` can leave any prefix of them behind.
        """
        self._cut_op = self.ops + after_ops
        self._cut_tear = tear

    def disarm(self):
        self._cut_op = None

    def set_full(self, full=True):
        self._full = full

    def fail_next(self, n=1, err=EIO, after=0):
        """The n counted operations after the next `after` ones raise OSError(err), doing nothing."""
        self._fail = n
        self._fail_errno = err
        self._fail_skip = after

    def durable_bytes(self, path):
        if path not in self._files:
            raise _err(ENOENT)
        return self._files[path]

    def corrupt(self, path, offset, mask=0xFF):
        """Flip bits of one durable byte (bit rot, a bad block)."""
        data = bytearray(self.durable_bytes(path))
        data[offset] ^= mask
        self._files[path] = bytes(data)

    def fail_reads(self, path):
        """From now on every open of path fails with EIO, as a block gone bad does."""
        self._bad.add(path)

    def put(self, path, data):
        """Set a file's durable contents directly (a test preparing a state)."""
        self._set(path, bytes(data))

    def free_blocks(self):
        return self.total_blocks - self._used()

    # -------------------------------------------------------------- fs interface

    def open(self, path, mode):
        self._step()
        if path in self._bad:
            raise _err(EIO)
        if mode not in ("rb", "wb", "ab"):
            raise ValueError("binary modes rb, wb, ab only: " + repr(mode))
        h = _Handle(self, path, mode)
        if mode == "rb":
            if path not in self._files:
                raise _err(ENOENT)
            h.data = self._files[path]
            return h
        if path not in self._files:
            if self._full or self._used() + 1 > self.total_blocks:
                raise _err(ENOSPC)
            self._set(path, b"")
        self._open.append(h)
        return h

    def rename(self, src, dst):
        self._step()
        if src not in self._files:
            raise _err(ENOENT)
        data = self._files[src]
        self._set(src, None)
        self._set(dst, data)

    def remove(self, path):
        self._step()
        if path not in self._files:
            raise _err(ENOENT)
        self._set(path, None)

    def listdir(self):
        names = list(self._files)
        names.sort()
        names.reverse()
        return names

    def size(self, path):
        return len(self.durable_bytes(path))

    # ------------------------------------------------------------------- handles

    def _write(self, h, data):
        cut = self._step(True)
        if not cut:
            self._live(h, True)
        data = bytes(data)
        fits = not self._full and self._used() + self._growth(h, len(data)) <= self.total_blocks
        if cut:
            if fits:
                h.pending += data
            self._cut()
        if not fits:
            raise _err(ENOSPC)
        h.pending += data
        return len(data)

    def _read(self, h, n):
        self._step()
        self._live(h, False)
        end = len(h.data) if n is None or n < 0 else min(len(h.data), h.pos + n)
        out = h.data[h.pos : end]
        h.pos = end
        return out

    def _flush(self, h):
        self._step()
        self._live(h, False)
        if h.mode != "rb":
            self._commit(h)

    def _close(self, h):
        if h.closed or h.dead:
            h.closed = True
            return
        try:
            self._step()
        except OSError:
            h.closed = True  # an injected failure: the handle is gone, its pending data too
            self._drop(h)
            raise
        self._live(h, False)
        h.closed = True
        if h.mode != "rb":
            self._commit(h)
            self._drop(h)

    # ------------------------------------------------------------------ internals

    def _step(self, write=False):
        """Count an operation and inject an armed fault into it.

        An armed power cut kills any operation at once, except a write, which gets True
        back so that its bytes join the unflushed data before the cut.
        """
        self.ops += 1
        if self._cut_op is not None and self.ops >= self._cut_op:
            self._cut_op = None
            if write:
                return True
            self._cut()
        if self._fail > 0:
            if self._fail_skip > 0:
                self._fail_skip -= 1
                return False
            self._fail -= 1
            raise _err(self._fail_errno)
        return False

    def _cut(self):
        self.power_cut(self._cut_tear)
        raise PowerCut()

    def _live(self, h, writing):
        if h.dead or h.closed:
            raise _err(EIO)
        if writing and h.mode == "rb":
            raise _err(EIO)

    def _commit(self, h):
        if h.truncate or h.pending:
            self._land(h, h.pending)
            h.pending = b""

    def _land(self, h, data):
        if h.truncate:
            h.truncate = False
            self._set(h.path, data)
        else:
            self._set(h.path, self._files.get(h.path, b"") + data)

    def _drop(self, h):
        h.pending = b""
        if h in self._open:
            self._open.remove(h)

    def _blocks(self, n):
        return max(1, (n + self.block - 1) // self.block)

    def _set(self, path, data):
        if path in self._files:
            self._file_blocks -= self._blocks(len(self._files[path]))
            del self._files[path]
        if data is not None:
            self._files[path] = data
            self._file_blocks += self._blocks(len(data))

    def _charge(self, h, pending_len):
        """Blocks an open handle holds beyond its file's durable contents."""
        if h.truncate and self._files.get(h.path):
            return (pending_len + self.block - 1) // self.block
        size = len(self._files.get(h.path, b""))
        return self._blocks(size + pending_len) - self._blocks(size)

    def _growth(self, h, n):
        return self._charge(h, len(h.pending) + n) - self._charge(h, len(h.pending))

    def _used(self):
        used = self._file_blocks
        for h in self._open:
            used += self._charge(h, len(h.pending))
        return used
