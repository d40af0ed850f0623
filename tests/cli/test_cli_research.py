"""``gemini-sync research`` and ``--tool ... --save-media``, run in-process against the test's emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemini_sync.cli import main
from gemini_sync.cli.exits import EXIT_OK, EXIT_USAGE
from gemini_sync.emulator import Emulator

pytestmark = pytest.mark.gemini_emulator(pace=0.001)


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Emulator:
    """The command pointed at ``emu`` through the environment, on a quick research and media clock."""
    monkeypatch.setenv("GEMINI_BASE_URL", emu.url)
    monkeypatch.setenv("GEMINI_SECURE_1PSID", emu.cookies["__Secure-1PSID"])
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "cookies"))
    emu.research.plan_delay, emu.research.duration = 0.01, 0.05
    emu.media.render_time, emu.media.file_delay = 0.05, 0.05
    return emu


def test_research_yes_prints_the_plan_progress_and_the_report(
    env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["research", "--yes", "How do tides work?"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith("# How do tides work") and "## Sources" in out and "https://" in out
    assert "Plan: How do tides work" in err and "1. Research websites" in err
    assert len([r for r in env.generate_requests if r.prompt == "Start research"]) == 1


def test_research_to_a_file_and_resume(
    env: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.md"
    assert main(["research", "-y", "-o", str(report), "How do tides work?"]) == EXIT_OK
    assert report.read_text(encoding="utf-8").startswith("# How do tides work")
    cid = env.research.started[0]
    capsys.readouterr()
    assert main(["research", "--resume", cid]) == EXIT_OK
    assert capsys.readouterr().out.startswith("# How do tides work")
    assert len([r for r in env.generate_requests if r.prompt == "Start research"]) == 1


def test_research_without_a_terminal_needs_yes(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["research", "How do tides work?"]) == EXIT_USAGE
    assert "--yes" in capsys.readouterr().err
    assert env.research.started == []


def test_tool_video_save_media(env: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--tool", "video", "--save-media", str(tmp_path), "A fox"]) == EXIT_OK
    (saved,) = tmp_path.iterdir()
    assert saved.suffix == ".mp4" and saved.read_bytes()[4:8] == b"ftyp"
    assert f"saved {saved}" in capsys.readouterr().err
    assert [r.inner[49] for r in env.generate_requests if r.inner is not None] == [11]
