"""How the ``gemini-sync`` command shows a stream: plain text, or JSON Lines of events.

Plain text: the answer's deltas on stdout as they arrive; thoughts (with
``--thoughts``), saved image paths and errors on stderr, so ``gemini-sync
"prompt" > answer.md`` captures only the answer. ``--json``: one JSON object
per line on stdout, each an event that carries only what is new::

    {"event": "thought", "delta": "..."}
    {"event": "text", "delta": "..."}
    {"event": "image", "kind": "web" | "generated", "url": "...", "title": "...", "alt": "..."}
    {"event": "saved", "path": "..."}                      (with --save-images)
    {"event": "final", "output": {...ModelOutput...}}      (once, at the end)
    {"event": "error", "type": "...", "message": "..."}    (instead of "final")

:class:`Screen` remembers whether stdout ends inside a line, so an error or
a Ctrl-C that follows partial text starts on a line of its own.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .stream import Stream
    from .types import GeneratedImage, ModelOutput, StreamChunk, WebImage

__all__ = ["Screen", "Renderer"]

_DIM, _RESET = "\x1b[2m", "\x1b[0m"
_THOUGHT_PREFIX = "[thinking] "


class Screen:
    """stdout and stderr, with the knowledge of whether stdout is in the middle of a line."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self._mid_line = False

    def write(self, text: str) -> None:
        """Write to stdout and flush (the user watches it arrive)."""
        if text:
            self._mid_line = True  # also if Ctrl-C interrupts the write itself
            self.out.write(text)
            self.out.flush()
            self._mid_line = not text.endswith("\n")

    def end_line(self) -> None:
        """Finish stdout's current line, if text left it open."""
        if self._mid_line:
            self.write("\n")

    def error(self, message: str) -> None:
        """``gemini-sync: message`` on stderr, on a line of its own."""
        self.end_line()
        self.err.write(f"gemini-sync: {message}\n")
        self.err.flush()

    def note(self, message: str) -> None:
        """A line on stderr (a saved file, a hint)."""
        self.err.write(message + "\n")
        self.err.flush()


class Renderer:
    """Shows the chunks of streams on a :class:`Screen`, as text or as JSON events."""

    def __init__(
        self, screen: Screen, *, as_json: bool, thoughts: bool, save_images: str | None = None
    ) -> None:
        self.screen = screen
        self.as_json = as_json
        self.thoughts = thoughts
        self.save_images = save_images
        self._in_thoughts = False
        self._dim = screen.err.isatty() and not os.environ.get("NO_COLOR")

    def show(self, stream: Stream) -> ModelOutput:
        """Read ``stream`` to its end, showing each chunk; the stream is closed on every way out."""
        with stream:
            for chunk in stream:
                self._chunk(chunk)
            output = stream.collect()
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
            self.event("error", type=exc.__class__.__name__, message=message)
        self.screen.error(message)

    def _chunk(self, chunk: StreamChunk) -> None:
        if chunk.delta_thoughts:
            self._thought(chunk.delta_thoughts)
        if chunk.delta_text:
            self._end_thoughts()
            if self.as_json:
                self.event("text", delta=chunk.delta_text)
            else:
                self.screen.write(chunk.delta_text)
        self._images(chunk.new_images)

    def _thought(self, delta: str) -> None:
        if self.as_json:
            self.event("thought", delta=delta)
            return
        if not self.thoughts:
            return
        err = self.screen.err
        if not self._in_thoughts:
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
        from .types import GeneratedImage

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
