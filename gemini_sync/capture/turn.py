"""One real turn, recorded and redacted: what :meth:`GeminiClient.capture` runs.

The app page is fetched again inside the recording (the tokens are forgotten
first), so the capture holds the page's values as the service serves them
today; then the turn is streamed exactly as :meth:`~gemini_sync.GeminiClient.stream`
would stream it. A turn that fails is still captured, with its error: that
is the capture a bug report needs most. Before the capture is returned every
secret the client holds (cookie values before and after the turn, the page's
tokens, session id, push id, account id and e-mail, and the names given) is
redacted, and the final file text is searched once more: a capture in which
any of them survives, in any encoding, is refused rather than written.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._constants import DEFAULT_PUSH_ID
from ..errors import GeminiError
from .file import Capture, CaptureError
from .record import Recorder
from .redact import Secret, leaks, redact_capture

if TYPE_CHECKING:
    import requests

    from ..client import GeminiClient
    from ..types.output import ModelOutput, StreamChunk

__all__ = ["capture_turn", "client_secrets"]

# page value -> (kind, label) of the secret it is
_PAGE_SECRETS = {
    "SNlM0e": ("token", "access token"),
    "thykhd": ("token", "access token"),
    "FdrFJe": ("fsid", "f.sid"),
    "qKIAYe": ("pushid", "push id"),
    "KnDnFf": ("pushid", "push id"),
    "S06Grb": ("account", "account id"),
    "oPEP7c": ("email", "e-mail"),
}


def _cookie_secrets(session: requests.Session) -> list[Secret]:
    return [
        Secret("cookie", f"cookie {cookie.name}", cookie.value) for cookie in session.cookies if cookie.value
    ]


def client_secrets(
    session: requests.Session, page: dict[str, Any], names: Iterable[str] = ()
) -> list[Secret]:
    """Every secret a client holds: its cookies, the page's values that identify it, ``names``."""
    secrets = _cookie_secrets(session)
    values = page.get("values") or {}
    for key, (kind, label) in _PAGE_SECRETS.items():
        value = values.get(key)
        if isinstance(value, str) and value and value != DEFAULT_PUSH_ID:
            secrets.append(Secret(kind, label, value))
    secrets += [Secret("name", "display name", name) for name in names if name]
    return secrets


def _result(output: ModelOutput | None, chunks: int) -> dict[str, Any]:
    if output is None:
        return {"chunks": chunks}
    metadata = list(output.metadata) + [None] * 10
    return {
        "text": output.text,
        "thoughts": output.thoughts,
        "cid": output.cid,
        "rid": output.rid,
        "rcid": output.rcid,
        "context_token": metadata[9] if isinstance(metadata[9], str) and metadata[9] else None,
        "served_model": output.model_name,
        "served_model_id": output.model_id,
        "images": len(output.images),
        "chunks": chunks,
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gemini-sync")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def capture_turn(
    client: GeminiClient,
    prompt: str,
    *,
    model: Any = None,
    thinking: Any = None,
    tool: str | None = None,
    names: Iterable[str] = (),
    note: str = "",
    on_chunk: Callable[[StreamChunk], None] | None = None,
) -> Capture:
    """Run one turn of ``client`` and return it recorded and redacted (see the module docstring).

    ``on_chunk`` sees each chunk of the live run as it arrives (the command
    line shows the answer with it).
    """
    names = [name for name in names if name]
    transport = client.api.transport
    session = transport.session
    before = _cookie_secrets(session)
    transport.reset_tokens()  # the page is fetched inside the recording
    recorder = Recorder(session)
    result: dict[str, Any]
    with recorder:
        chunks = 0
        try:
            stream = client.stream(prompt, model=model, thinking=thinking, tool=tool)
            for chunk in stream:
                chunks += 1
                if on_chunk is not None:
                    on_chunk(chunk)
            result = _result(stream.output, chunks)
        except GeminiError as exc:
            result = {"error": type(exc).__name__, "message": str(exc), "chunks": chunks}
    exchanges = recorder.exchanges()
    secrets = before + client_secrets(session, recorder.page, names)
    capture = Capture(
        turn={
            "prompt": prompt,
            "model": getattr(model, "model_name", model),
            "thinking": thinking,
            "tool": tool,
            "guest": bool(client.guest),
        },
        page=recorder.page,
        exchanges=exchanges,
        result=result,
        note=note,
        recorded_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        library=f"gemini_sync {_version()}",
    )
    capture = redact_capture(capture, secrets)
    left = leaks(capture.to_json(), secrets)
    if left:  # never reached while redact_capture does its work; the file is refused if it ever is
        raise CaptureError(
            "the capture still holds " + ", ".join(sorted(set(left))) + " after redaction: not written"
        )
    return capture
