"""``GeminiClient.capture``: record one real turn for a bug report or a test (mixed into the client)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .file import Capture

if TYPE_CHECKING:
    from ..models import ModelLike, Thinking
    from ..types.output import StreamChunk

__all__ = ["CaptureMixin"]


class CaptureMixin:
    """``capture``. Mixed into :class:`~gemini_sync.GeminiClient`."""

    def capture(
        self,
        prompt: str,
        *,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        tool: str | None = None,
        names: Iterable[str] = (),
        note: str = "",
        path: str | os.PathLike[str] | None = None,
        on_chunk: Callable[[StreamChunk], None] | None = None,
    ) -> Capture:
        """Run one turn and return it recorded, every secret removed (and save it to ``path``).

        The capture holds the app page's relevant values, each request of
        the turn (StreamGenerate with ``f.req`` decoded, the batchexecute
        calls), each body as received with the time of each read, and what
        the client read from it. Cookie values, the access token, ``f.sid``,
        the push id, the account id, e-mail addresses and every ``names``
        (give your display name) are replaced by placeholders of the same
        length, in every encoding; the file lists what was replaced, never a
        value. ``on_chunk`` sees each chunk of the live run as it arrives.
        ``Emulator.replay(capture)`` answers with it;
        :func:`gemini_sync.emulator.drift.drift_report` compares it with the emulator.
        """
        from .turn import capture_turn

        result = capture_turn(
            self,  # type: ignore[arg-type]
            prompt,
            model=model,
            thinking=thinking,
            tool=tool,
            names=names,
            note=note,
            on_chunk=on_chunk,
        )
        if path is not None:
            result.save(path)
        return result
