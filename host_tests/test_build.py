"""make build BOARD=pico|esp32: every firmware module cross-compiles for both boards, and no
file outside boards/ holds a pin number."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("board, arch", [("pico", "armv6m"), ("esp32", "xtensawin")])
def test_the_firmware_builds_for_each_board(tmp_path, board, arch):
    out = tmp_path / board
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build.py"), board, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "-march=%s" % arch in proc.stdout
    modules = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mpy"))
    other = "esp32" if board == "pico" else "rp2"  # the other chip's drivers stay out
    sources = sorted(
        "lib/%s/%s.mpy" % (p.parent.name, p.stem)
        for p in (ROOT / "firmware").glob("*/*.py")
        if not p.stem.endswith("_" + other)
    )
    assert modules == sorted(sources + ["board.mpy"])
    for path in out.rglob("*.mpy"):
        head = path.read_bytes()[:4]
        # MicroPython .mpy version 6, small ints of at most 31 bits as on both chips
        assert head[:2] == b"M\x06" and head[3] <= 31, (path, head)


def test_unknown_board_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build.py"), "nrf52", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "no board 'nrf52' (one of pico, esp32)" in proc.stderr


PIN_USE = re.compile(r"\b(Pin|PWM|ADC|I2C|SoftI2C|RMT|StateMachine)\(\s*\d")


def test_pin_numbers_live_only_under_boards():
    """A pin number handed straight to a machine class anywhere but boards/ is a defect."""
    offenders = []
    for base in ("firmware", "tools", "host_tests"):
        for path in (ROOT / base).rglob("*.py"):
            if path.name == "test_build.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if PIN_USE.search(line) or re.match(r"\s*PIN_\w+\s*=\s*(const\()?\d", line):
                    offenders.append("%s:%d: %s" % (path.relative_to(ROOT), n, line.strip()))
    assert offenders == []
    assert re.search(r"^PIN_STEP = const\(2\)", (ROOT / "boards" / "pico.py").read_text(), re.M)


@pytest.mark.parametrize("board, name", [("pico", "Raspberry Pi Pico"), ("esp32", "ESP32 DevKit")])
def test_deploy_with_no_board_attached_says_so_and_copies_nothing(board, name):
    from serial.tools import list_ports

    deploy = str(ROOT / "tools" / "deploy.py")
    if not any(p.vid in (0x2E8A, 0x10C4, 0x1A86, 0x0403, 0x303A) for p in list_ports.comports()):
        proc = subprocess.run([sys.executable, deploy, board], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and ("no %s attached" % name) in proc.stderr
    proc = subprocess.run(
        [sys.executable, deploy, board, "--port", "/dev/no-such-port"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "no %s at /dev/no-such-port" % name in proc.stderr


@pytest.mark.parametrize("board", ["pico", "esp32"])
def test_each_board_has_a_manifest_that_freezes_the_whole_firmware(board):
    """Run boards/manifests/<board>/manifest.py with stand-ins for MicroPython's manifest
    functions: every path it names exists (relative to the manifest, as the build tool reads
    them), and it freezes the core, the drivers, the board file and its `board` shim."""
    import importlib.util

    here = ROOT / "boards" / "manifests" / board
    frozen = []

    def package(name, base_path="."):
        path = (here / base_path / name).resolve()
        assert (path / "__init__.py").exists(), path
        frozen.append(name)

    def module(name, base_path="."):
        path = (here / base_path / name).resolve()
        assert path.exists(), path
        frozen.append(name[:-3])

    included = []
    code = (here / "manifest.py").read_text()
    exec(code, {"include": included.append, "package": package, "module": module})
    assert included == ["$(PORT_DIR)/boards/manifest.py"]  # the port's own frozen modules
    from build import FILES

    assert sorted(frozen) == sorted(["pump", "hal", "shell", FILES[board], "board"])
    spec = importlib.util.spec_from_file_location("frozen_board_" + board, here / "board.py")
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    assert shim.BOARD == board and shim.STEPS_PER_UNIT == 446 and shim.PIN_STEP > 0
