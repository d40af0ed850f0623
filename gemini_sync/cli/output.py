"""How the ``gemini-sync`` command shows a stream: plain text, or JSON Lines of events.

Plain text: the answer's deltas on stdout as they arrive; thoughts (with
``--thoughts``), saved image paths and errors on stderr, so ``gemini-sync
"prompt" > answer.md`` captures only the answer. ``--json``: one JSON object
per line on stdout, each an event that carries only what is new::

    {"event": "status", "kind": "queued" | "thinking" | "tool" | null, "headline": "..." | null}
    {"event": "thought", "delta": "..."}
    {"event": "text", "delta": "..."}
    {"event": "image", "kind": "web" | "generated", "url": "...", "title": "...", "alt": "..."}
    {"event": "saved", "path": "..."}                      (with --save-images)
    {"event": "final", "output": {...ModelOutput...}}      (once, at the end)
    {"event": "error", "type": "...", "message": "..."}    (instead of "final")

A ``status`` event is sent each time what the service says it is doing
changes (queued, thinking with a headline, a tool at work); ``kind`` null
means it now writes the answer.

:class:`Screen` remembers whether stdout ends inside a line, so an error or
a Ctrl-C that follows partial text starts on a line of its own. When stderr
is a terminal it also keeps the *status line* there: one line saying what the
service is doing (``Queued...``, ``Thinking: Comparing Images``), rewritten
in place as that changes and erased before anything else is written (the
answer's first text, thoughts, a note, an error, the end), so it never mixes
with the answer, and never reaches a pipe or a file.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..streaming.stream import Stream
    from ..types.account import Quota
    from ..types.images import GeneratedImage, WebImage
    from ..types.output import ModelOutput, Status, StreamChunk

__all__ = ["Screen", "Renderer", "local_time", "quota_rows"]

_DIM, _RESET = "\x1b[2m", "\x1b[0m"
_THOUGHT_PREFIX = "[thinking] "


class Screen:
    """stdout and stderr: whether stdout is in the middle of a line, and stderr's status line."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self._mid_line = False
        self._status_width = 0  # characters of the status line now on stderr (0: none)

    @property
    def can_show_status(self) -> bool:
        """Whether a status line can be shown: only when stderr is a terminal (never into a pipe)."""
        return self.err.isatty()

    def status(self, text: str) -> None:
        """Show ``text`` as the status line on stderr, in place of the previous one.

        Cut to the terminal's width, so it never wraps (a wrapped line could not
        be rewritten in place); only ``\r`` and spaces are used, so it works on
        any terminal, ``TERM=dumb`` included.
        """
        if not self.can_show_status:
            return
        width = self._columns() - 1
        line = text if len(text) <= width else text[: max(0, width - 3)] + "..."
        pad = max(0, self._status_width - len(line))  # what is left of a longer previous line
        self.err.write("\r" + line + (" " * pad + "\r" + line if pad else ""))
        self.err.flush()
        self._status_width = len(line)

    def _columns(self) -> int:
        """The width of stderr's terminal (a fresh pseudo-terminal says 0: then $COLUMNS or 80)."""
        try:
            columns = os.get_terminal_size(self.err.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns if columns > 0 else shutil.get_terminal_size().columns

    def clear_status(self) -> None:
        """Erase the status line, if one is shown, leaving the cursor where it started."""
        if self._status_width:
            self.err.write("\r" + " " * self._status_width + "\r")
            self.err.flush()
            self._status_width = 0

    def write(self, text: str) -> None:
        """Write to stdout and flush (the user watches it arrive); erases the status line first."""
        if text:
            self.clear_status()
            self._mid_line = True  # also if Ctrl-C interrupts the write itself
            self.out.write(text)
            self.out.flush()
            self._mid_line = not text.endswith("\n")

    def end_line(self) -> None:
        """Erase the status line and finish stdout's current line, if text left it open."""
        self.clear_status()
        if self._mid_line:
            self.write("\n")

    def error(self, message: str) -> None:
        """``gemini-sync: message`` on stderr, on a line of its own."""
        self.end_line()
        self.err.write(f"gemini-sync: {message}\n")
        self.err.flush()

    def note(self, message: str) -> None:
        """A line on stderr (a saved file, a hint)."""
        self.clear_status()
        self.err.write(message + "\n")
        self.err.flush()


class Renderer:
    """Shows the chunks of streams on a :class:`Screen`, as text or as JSON events."""

    def __init__(
        self,
        screen: Screen,
        *,
        as_json: bool,
        thoughts: bool,
        save_images: str | None = None,
        quiet: bool = False,
    ) -> None:
        self.screen = screen
        self.as_json = as_json
        self.thoughts = thoughts
        self.save_images = save_images
        self.quiet = quiet  # no status line (JSON status events are data, and stay)
        self._in_thoughts = False
        self._status: Status | None = None  # the status last shown (or sent as an event)
        self._dim = screen.err.isatty() and not os.environ.get("NO_COLOR")

    def show(self, stream: Stream) -> ModelOutput:
        """Read ``stream`` to its end, showing each chunk; the stream is closed on every way out."""
        self._status = None
        with stream:
            for chunk in stream:
                self._chunk(chunk)
            output = stream.collect()
        self.screen.clear_status()
        self._end_thoughts()
        if self.as_json:
            self.event("final", output=output.to_dict(encode_json=True))
        else:
            self.screen.end_line()
        return output

    def event(self, name: str, **fields: Any) -> None:
        """One JSON Lines event on stdout."""
        self.screen.write(json.dumps({"event": name, **fields}, ensure_ascii=False) + "\n")

    def failed(self, exc: BaseException, message: str) -> None:
        """Report the error that ended a stream (also as an event with ``--json``)."""
        self._end_thoughts()
        if self.as_json:
            resets_at = getattr(exc, "resets_at", None)  # a 1037's reset time, when known
            extra = {"resets_at": resets_at} if resets_at is not None else {}
            self.event("error", type=exc.__class__.__name__, message=message, **extra)
        self.screen.error(message)

    def _chunk(self, chunk: StreamChunk) -> None:
        if chunk.status != self._status:
            self._status = chunk.status
            self._show_status(chunk.status)
        if chunk.delta_thoughts:
            self._thought(chunk.delta_thoughts)
        if chunk.delta_text:
            self._end_thoughts()
            if self.as_json:
                self.event("text", delta=chunk.delta_text)
            else:
                self.screen.write(chunk.delta_text)
        self._images(chunk.new_images)

    def _show_status(self, status: Status | None) -> None:
        """A changed status: a JSON event, or the status line (not while thoughts are being shown)."""
        if self.as_json:
            kind, headline = (status.kind, status.headline) if status is not None else (None, None)
            self.event("status", kind=kind, headline=headline)
        elif status is None or self.quiet:
            self.screen.clear_status()
        elif not self._in_thoughts:  # shown thoughts are a sign of life of their own
            self.screen.status(str(status))

    def _thought(self, delta: str) -> None:
        if self.as_json:
            self.event("thought", delta=delta)
            return
        if not self.thoughts:
            return
        err = self.screen.err
        if not self._in_thoughts:
            self.screen.clear_status()
            err.write(_DIM if self._dim else _THOUGHT_PREFIX)
            self._in_thoughts = True
        err.write(delta)
        err.flush()

    def _end_thoughts(self) -> None:
        if self._in_thoughts:
            self.screen.err.write((_RESET if self._dim else "") + "\n")
            self.screen.err.flush()
            self._in_thoughts = False

    def _images(self, images: Iterable[WebImage | GeneratedImage]) -> None:
        from ..types.images import GeneratedImage

        for image in images:
            if self.as_json:
                kind = "generated" if isinstance(image, GeneratedImage) else "web"
                self.event("image", kind=kind, url=image.url, title=image.title, alt=image.alt)
            if self.save_images:
                path = Path(image.save(self.save_images))
                if self.as_json:
                    self.event("saved", path=str(path))
                else:
                    self.screen.note(f"saved {path}")


# --- times and quotas ---------------------------------------------------------------------------


def local_time(when: float, now: float) -> str:
    """Unix seconds ``when`` in local time, and how far off: ``2026-12-01 09:30 CET (in 2 h 5 min)``."""
    from datetime import datetime

    stamp = datetime.fromtimestamp(when).astimezone().strftime("%Y-%m-%d %H:%M %Z").rstrip()
    left = round(when - now)
    if left <= 0:
        return f"{stamp} (now)"
    hours, minutes = divmod(left // 60, 60)
    span = f"{hours} h {minutes} min" if hours else f"{minutes} min" if minutes else f"{left} s"
    return f"{stamp} (in {span})"


def quota_rows(quotas: list[Quota], now: float) -> list[str]:
    """One aligned line per quota: name, share used, answers left of the total, local reset time."""
    columns = []
    for quota in quotas:
        used = "?" if quota.used_percent is None else f"{quota.used_percent:.1f}%"
        total = "?" if quota.total is None else f"{quota.total:,}"
        left = "?" if quota.remaining is None else f"{quota.remaining:,}"
        resets = "reset unknown" if quota.resets_at is None else f"resets {local_time(quota.resets_at, now)}"
        columns.append((quota.name, f"{used} used", f"{left} of {total} left", resets))
    widths = [max((len(row[i]) for row in columns), default=0) for i in range(3)]
    return [
        f"{name:<{widths[0]}}  {used:>{widths[1]}}  {left:>{widths[2]}}  {resets}"
        for name, used, left, resets in columns
    ]
