"""Recording the HTTP exchanges of one turn from a live client's ``requests.Session``.

:class:`Recorder` hooks the session's ``response`` event (requests calls it
once per response, before the body is read), notes the request (method,
host, path, query, the extension headers, the form fields, ``f.req``
decoded) and wraps that response's body reads, so every byte the client reads
is kept with the moment it arrived, whatever the client reads it with
(``read1`` for streams, ``read``/``read_chunked`` for the rest). Nothing about
the client changes: it reads what it would have read, at the same time.

Only what a report needs is kept: the app page's ``WIZ_global_data`` values
(the page itself holds far more of the account than any test needs), the
StreamGenerate and batchexecute bodies whole, and other bodies when they are
small text. Every body is bounded. The cookie header is never recorded, only
the cookie names.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from .._constants import BATCH_EXEC_PATH, GENERATE_PATH
from ..protocol.app import page_config
from .file import BATCH, GENERATE, OTHER, PAGE, Exchange

__all__ = ["Recorder", "PAGE_KEYS", "page_values"]

#: the page values a report keeps (docs/protocol.md 2.2 and 13); every other key is kept by name only
PAGE_KEYS = ("SNlM0e", "thykhd", "cfb2h", "FdrFJe", "TuX5cc", "qKIAYe", "S06Grb", "oPEP7c", "KnDnFf")

_MAX_BODY = 32 * 1024 * 1024  # a turn's body is far smaller; past this the rest is not kept
_MAX_OTHER = 64 * 1024  # other bodies (rotation, upload, image pointers) are kept only when this small
_REQUEST_HEADERS = ("content-type", "accept-encoding", "x-same-domain")
_RESPONSE_HEADERS = ("content-type", "content-encoding", "transfer-encoding", "location")


def page_values(html: str) -> dict[str, Any]:
    """``{"values": {key: value}, "keys": [every key]}`` of an app page's ``WIZ_global_data``."""
    config = page_config(html)
    return {
        "values": {key: config[key] for key in PAGE_KEYS if key in config},
        "keys": sorted(config),
    }


def _kind(method: str, path: str) -> str:
    if path.endswith(GENERATE_PATH):
        return GENERATE
    if path.endswith(BATCH_EXEC_PATH):
        return BATCH
    if method == "GET" and path.rstrip("/").endswith("/app"):
        return PAGE
    return OTHER


def _decoded_freq(kind: str, form: dict[str, str]) -> Any:
    """``f.req`` with its nested JSON strings decoded: ``{"outer", "inner"}`` or ``{"calls"}``."""
    raw = form.get("f.req")
    if raw is None:
        return None
    try:
        outer = json.loads(raw)
    except ValueError:
        return {"unparsed": True}
    if kind == GENERATE and isinstance(outer, list) and len(outer) > 1 and isinstance(outer[1], str):
        try:
            return {"outer": outer, "inner": json.loads(outer[1])}
        except ValueError:
            return {"outer": outer}
    if kind == BATCH and isinstance(outer, list) and outer and isinstance(outer[0], list):
        calls = []
        for call in outer[0]:
            if not (isinstance(call, list) and call and isinstance(call[0], str)):
                continue
            payload: Any = call[1] if len(call) > 1 else None
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except ValueError:
                    pass
            calls.append({"rpcid": call[0], "payload": payload, "rest": call[2:]})
        return {"calls": calls}
    return {"outer": outer}


def _form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
    content_type = request.headers.get("Content-Type", "")
    if not isinstance(body, str) or "x-www-form-urlencoded" not in content_type:
        return {}
    return dict(parse_qsl(body, keep_blank_values=True))


class _Body:
    """The bytes of one response as they were read, and when."""

    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.reads: list[list[float]] = []
        self.limit = limit
        self.cut = False
        self.started = time.monotonic()

    def add(self, data: bytes) -> None:
        if not data:
            return
        room = self.limit - len(self.data)
        if room <= 0:
            self.cut = True
            return
        self.data += data[:room]
        self.cut = self.cut or len(data) > room
        self.reads.append([round(time.monotonic() - self.started, 6), len(self.data)])


class Recorder:
    """Records every response of ``session`` between :meth:`start` and :meth:`stop` (or ``with``).

    Every thread using the session is recorded meanwhile; a capture is meant
    to run alone. The recorder is the only place that sees raw values: what
    it returns goes through :func:`~.redact.redact_capture` before anyone else.
    """

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._open: list[tuple[Exchange, _Body]] = []
        self._began = time.monotonic()
        self.page: dict[str, Any] = {}
        self.cookie_names: set[str] = set()

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._began = time.monotonic()
        self._session.hooks.setdefault("response", []).append(self._on_response)

    def stop(self) -> None:
        hooks = self._session.hooks.get("response", [])
        if self._on_response in hooks:
            hooks.remove(self._on_response)

    # -- what was seen ----------------------------------------------------------

    def exchanges(self) -> list[Exchange]:
        """The exchanges so far, bodies filled in (a page's values go to :attr:`page`)."""
        with self._lock:
            recorded = list(self._open)
        done = []
        for exchange, body in recorded:
            data = bytes(body.data)
            if exchange.kind == PAGE:
                try:
                    self.page = page_values(data.decode("utf-8", "replace"))
                except ValueError:
                    self.page = {}
                exchange.response_headers["x-capture-body"] = f"not kept ({len(data)} bytes)"
                data = b""
            elif exchange.kind == OTHER and len(data) > _MAX_OTHER:
                exchange.response_headers["x-capture-body"] = f"not kept ({len(data)} bytes)"
                data = b""
            if body.cut:
                exchange.response_headers["x-capture-body"] = f"cut at {len(data)} bytes"
            try:
                exchange.body, exchange.body_base64 = data.decode("utf-8"), False
            except UnicodeDecodeError:
                exchange.body, exchange.body_base64 = base64.b64encode(data).decode("ascii"), True
            exchange.reads = body.reads if data else []
            done.append(exchange)
        return done

    # -- the hook ---------------------------------------------------------------

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        request = response.request
        url = urlsplit(request.url or "")
        method = (request.method or "GET").upper()
        kind = _kind(method, url.path)
        headers = {
            name.lower(): value
            for name, value in request.headers.items()
            if name.lower().startswith("x-goog-ext-") or name.lower() in _REQUEST_HEADERS
        }
        cookie = request.headers.get("Cookie", "")
        names = sorted({part.split("=", 1)[0].strip() for part in cookie.split(";") if "=" in part})
        if names:
            headers["cookie"] = "names: " + ", ".join(names)  # the names only, never a value
            self.cookie_names.update(names)
        form = _form(request)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        response_headers = {
            name: response.headers[name] for name in _RESPONSE_HEADERS if name in response.headers
        }
        set_cookies = sorted({c.name for c in response.cookies})
        if set_cookies:
            response_headers["set-cookie"] = "names: " + ", ".join(set_cookies)
        exchange = Exchange(
            kind=kind,
            method=method,
            host=(url.hostname or "").lower(),
            path=url.path,
            query=query,
            headers=headers,
            form=form,
            freq=_decoded_freq(kind, form),
            rpcids=[rpc for rpc in query.get("rpcids", "").split(",") if rpc],
            status=response.status_code,
            response_headers=response_headers,
            started=round(time.monotonic() - self._began, 6),
        )
        body = _Body(_MAX_BODY)
        _tee(response, body.add)
        with self._lock:
            self._open.append((exchange, body))
        return response


def _tee(response: requests.Response, keep: Callable[[bytes], None]) -> None:
    """Make every body read of ``response`` also hand its bytes to ``keep`` (same bytes, same time)."""
    raw = response.raw
    if raw is None:
        return
    read, read1 = getattr(raw, "read", None), getattr(raw, "read1", None)
    read_chunked = getattr(raw, "read_chunked", None)
    if read is not None:

        def tee_read(*args: Any, **kwargs: Any) -> bytes:
            data: bytes = read(*args, **kwargs)
            keep(data)
            return data

        raw.read = tee_read  # type: ignore[method-assign]
    if read1 is not None:

        def tee_read1(*args: Any, **kwargs: Any) -> bytes:
            data: bytes = read1(*args, **kwargs)
            keep(data)
            return data

        raw.read1 = tee_read1  # type: ignore[method-assign]
    if read_chunked is not None:

        def tee_chunked(*args: Any, **kwargs: Any) -> Iterator[bytes]:
            for data in read_chunked(*args, **kwargs):
                keep(data)
                yield data

        raw.read_chunked = tee_chunked  # type: ignore[method-assign]
