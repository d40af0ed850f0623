"""The served model: is the answer from the model that was asked for? (``expect_model=``)

The service may answer with another model than the one requested, silently
(a quota used up, a guest, a header with the wrong tier). Every payload names
the model that serves the answer: ``E[39]`` its id, ``E[42]`` its display
name (docs/protocol.md 13). :class:`ServedCheck` looks at the chunks of a
stream until one names the served model and compares it with the request:
by id when both are known, else by display name. With ``expect`` the
difference raises :class:`~gemini_sync.errors.ModelDowngraded` (the stream's
typed error, with ``.partial``); without it a warning is logged, once per
client (:class:`Notice`), and the answer goes on.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .._log import logger
from ..errors import ModelDowngraded

if TYPE_CHECKING:
    from ..models import Model
    from ..types.output import StreamChunk

__all__ = ["ServedCheck", "Notice", "served_check"]


def _key(name: str) -> str:
    return " ".join(name.lower().split())


class Notice:
    """Says a thing once per client (a downgrade warning), however many threads see it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.told = False

    def once(self, message: str, *args: object) -> None:
        with self._lock:
            if self.told:
                return
            self.told = True
        logger.warning(message, *args)


class ServedCheck:
    """Compares the served model of a stream with the requested one (see the module docstring).

    ``requested_id`` and ``requested_name`` describe the request (either may be
    ``None``); ``label`` is how the error names it. Called with each chunk, it
    returns ``True`` once it has decided (so the stream stops asking).
    """

    def __init__(
        self,
        requested_id: str | None,
        requested_name: str | None,
        label: str,
        *,
        expect: bool,
        notice: Notice | None = None,
    ) -> None:
        self.requested_id = requested_id
        self.requested_name = requested_name
        self.label = label
        self.expect = expect
        self.notice = notice

    def __call__(self, chunk: StreamChunk) -> bool:
        served_id, served_name = chunk.model_id, chunk.model_name
        if served_id is None and served_name is None:
            return False
        differs = bool(self.requested_id and served_id and served_id != self.requested_id)
        if self.requested_name and served_name and _key(served_name) != _key(self.requested_name):
            differs = True
        if not differs:  # decided, unless the name is still to come
            return not (self.requested_name and served_name is None and not chunk.is_final)
        served = served_name or served_id or "another model"
        if self.expect:
            raise ModelDowngraded(
                f"asked for {self.label} but the service answered with {served} (a silent downgrade: a "
                "quota used up, a guest or an expired session, or a model the account lacks); "
                "client.usage() shows the quotas",
                requested=self.label,
                served=served,
            )
        if self.notice is not None:
            self.notice.once(
                "asked for %s but the service answered with %s; output.model_name says which model "
                "answered (expect_model=True raises ModelDowngraded instead; said once per client)",
                self.label,
                served,
            )
        return True


def served_check(
    model: Model, listed_name: str | None, expect: bool | str, notice: Notice
) -> ServedCheck | None:
    """The check for a request of ``model`` (``listed_name``: its display name in the catalogue, if read).

    ``expect`` a string: the display name the answer must name. Nothing to
    compare with (the service's default model, no name given): no check.
    """
    if isinstance(expect, str):
        return ServedCheck(None, expect, expect, expect=True)
    if model.model_id is None and listed_name is None:
        return None
    label = listed_name or model.model_name
    return ServedCheck(model.model_id, listed_name, label, expect=bool(expect), notice=notice)
