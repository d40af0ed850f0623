"""An X display for the Tk tests: an Xvfb started for the test module when the binary exists."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Iterator

import pytest

WAIT = 10.0


@pytest.fixture(scope="module")
def display() -> Iterator[str | None]:
    """An X display for Tk: an Xvfb started here if the binary exists, else $DISPLAY, else None."""
    try:
        import tkinter  # noqa: F401
    except ImportError:
        yield None
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield os.environ.get("DISPLAY") or None
        return
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "1024x768x24"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], WAIT)
        number = os.read(read_end, 64).decode().strip() if ready else ""
        yield f":{number}" if number.isdigit() else None
    finally:
        os.close(read_end)
        proc.terminate()
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT)
