"""The README, executed: its Python blocks run against the emulator, as a reader would run them.

* Every ```python block runs, top to bottom, in one interpreter (a block may
  use what an earlier one defined, as a reader following along would), in a
  subprocess whose environment points ``GeminiClient()`` at an emulator
  (``GEMINI_BASE_URL`` and any cookie value). Its working directory holds a
  ``notes.pdf``, the file the chat example attaches. Each block is one test.
* A block that defines ``test_*`` functions is a pytest example: it runs as
  a user's test file, with the plugin loaded from the installed package.
* A block can be left out only with ``<!-- readme-test: skip (reason) -->``
  on the line right before its fence.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gemini_sync.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SKIP_MARK = re.compile(r"^<!-- readme-test: skip \((?P<reason>[^)]+)\) -->$")
SKIP_LIKE = re.compile(r"readme-test", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    line: int  # of the first line of code
    source: str
    skip: str | None

    @property
    def is_pytest(self) -> bool:
        return re.search(r"^def test_\w+\(", self.source, re.MULTILINE) is not None


def readme_blocks(text: str) -> list[Block]:
    """The ```python blocks of ``text``, with the skip reason of those marked to be left out."""
    lines = text.splitlines()
    blocks = []
    at = 0
    while at < len(lines):
        if lines[at].strip() == "```python":
            mark = SKIP_MARK.match(lines[at - 1].strip()) if at else None
            end = next(i for i in range(at + 1, len(lines)) if lines[i].strip() == "```")
            blocks.append(
                Block(at + 2, "\n".join(lines[at + 1 : end]) + "\n", mark["reason"] if mark else None)
            )
            at = end
        at += 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
SESSION = [b for b in BLOCKS if b.skip is None and not b.is_pytest]
PYTEST = [b for b in BLOCKS if b.skip is None and b.is_pytest]

RUNNER = """
import json, sys, traceback

blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__main__"}
results = {}
for block in blocks:
    code = compile("\\n" * (block["line"] - 1) + block["source"], "README.md", "exec")
    print(f"--- README.md:{block['line']}", flush=True)
    try:
        exec(code, namespace)
        results[block["line"]] = None
    except BaseException:
        results[block["line"]] = traceback.format_exc()
    sys.stdout.flush()
json.dump(results, open(sys.argv[2], "w", encoding="utf-8"))
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    """Run every session block once; ``{line: None or the traceback}``."""
    work = tmp_path_factory.mktemp("readme")
    (work / "notes.pdf").write_bytes(b"%PDF-1.4\n% Ada's notes\n")
    (work / "blocks.json").write_text(json.dumps([b.__dict__ for b in SESSION]), encoding="utf-8")
    with Emulator(pace=0.001) as emu:
        emu.research.plan_delay, emu.research.duration = 0.05, 0.3  # the Deep Research block: quick
        emu.media.render_time, emu.media.file_delay = 0.3, 0.3  # and the video and music block
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
        env.update(
            GEMINI_BASE_URL=emu.url,
            GEMINI_SECURE_1PSID="any value works against the emulator",
            GEMINI_COOKIE_PATH=str(work / "cookies"),
            PYTHONIOENCODING="utf-8",
        )
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, "blocks.json", "results.json"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    yield {int(line): error for line, error in json.loads((work / "results.json").read_text()).items()}


@pytest.mark.parametrize("block", SESSION, ids=[f"README.md:{b.line}" for b in SESSION])
def test_python_block_runs(block: Block, session: dict[int, str | None]) -> None:
    assert block.line in session, "the block did not run"
    error = session[block.line]
    assert error is None, f"README.md:{block.line} failed:\n{error}"


@pytest.mark.parametrize("block", PYTEST, ids=[f"README.md:{b.line}" for b in PYTEST])
def test_pytest_example_passes(block: Block, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme_example=block.source)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=len(re.findall(r"^def test_", block.source, re.MULTILINE)))


def test_the_readme_has_runnable_blocks_and_well_formed_skip_marks() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(SESSION) >= 5 and PYTEST
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if SKIP_LIKE.search(line):
            assert SKIP_MARK.match(line.strip()), f"README.md:{number + 1}: malformed mark {line!r}"
            assert lines[number + 1].strip() == "```python", f"README.md:{number + 1}: not before a block"


def test_block_parsing() -> None:
    mark = "<!-- readme-test: skip (needs an account) -->"
    text = f"intro\n{mark}\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    first, second = readme_blocks(text)
    assert (first.line, first.source, first.skip) == (4, "x = 1\n", "needs an account")
    assert (second.line, second.source, second.skip) == (8, "y = 2\n", None)
