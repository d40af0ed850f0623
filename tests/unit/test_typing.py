"""A user's script, type-checked with ``mypy --strict`` against the installed package.

Run from a directory outside the project, so mypy finds ``gemini_sync`` only
the way a user's mypy or IDE does: through the installed package (the
editable install is a plain ``.pth`` path entry, which mypy follows; the
setuptools import hook it used before is invisible to it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOOD = """
from gemini_sync import GeminiClient, Model, StreamChunk, errors


def first_delta(client: GeminiClient, prompt: str) -> str:
    for chunk in client.stream(prompt, model=Model.G_3_FLASH):
        assert isinstance(chunk, StreamChunk)
        return chunk.delta_text
    return ""


with GeminiClient(timeout=10.0) as client:
    try:
        print(first_delta(client, "hi"), client.generate_content("hello").text)
    except errors.GeminiError as exc:
        print(exc.partial.text if exc.partial else "")
"""

# neither GeminiClient nor client.stream takes **kwargs, so a misspelt keyword is an error
BAD = """
from gemini_sync import GeminiClient

client = GeminiClient(timout=1)
length: int = client.generate_content("hello").text
stream = client.stream("hello", modle="gemini-3-flash")
"""


def test_mypy_strict_sees_the_installed_package_and_its_types(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "good.py", "bad.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = done.stdout + done.stderr
    assert "Cannot find implementation or library stub" not in report, report
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert errors == [
        'bad.py:4: error: Unexpected keyword argument "timout" for "GeminiClient"; '
        'did you mean "timeout"?  [call-arg]',
        'bad.py:5: error: Incompatible types in assignment (expression has type "str", '
        'variable has type "int")  [assignment]',
        'bad.py:6: error: Unexpected keyword argument "modle" for "stream" of "GeminiClient"; '
        'did you mean "model"?  [call-arg]',
    ], report


def test_every_public_name_resolves_at_run_time() -> None:
    """The package imports its names lazily: each one in ``__all__`` must have a home in ``_HOMES``."""
    import gemini_sync

    for name in gemini_sync.__all__:
        assert getattr(gemini_sync, name) is not None, name
    assert "GeminiClient" in dir(gemini_sync)
