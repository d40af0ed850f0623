"""The WSGI application: routing, API keys, limits, and the JSON or event-stream responses.

Routes (relative to where it is mounted): ``GET /v1/models``,
``GET /v1/models/<id>``, ``POST /v1/chat/completions``, ``POST /v1/responses``
and ``GET /v1/files/<id>`` (generated images; the unguessable id is the
capability, so a markdown image works in a browser without the key).

Keys are compared in constant time against every configured key (no early
exit), and only a hash of a key is ever kept (it names the key's
conversations); neither the key nor its hash is logged. Each key may run
``max_concurrent`` requests at once (a 429 beyond), and a body larger than
``max_body_bytes`` is a 413 before it is read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .._log import logger
from ..errors import GeminiError
from .backend import Backend, ModelCatalog
from .chat import chat_completion, chat_request, chat_stream
from .conversations import ConversationStore, MemoryStore
from .engine import Engine, Event
from .errors import OpenAIError, bad_request, from_gemini
from .files import ImageShelf
from .responses import new_response_id, remember_response, response_object, response_stream, responses_request
from .sse import SSE_HEADERS, ClosingBody

__all__ = ["OpenAIApp"]

StartResponse = Callable[..., Any]
_DEFAULT_BODY_LIMIT = 32 * 1024 * 1024
_DEFAULT_CONCURRENCY = 4
_JSON = ("Content-Type", "application/json")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class OpenAIApp:
    """An OpenAI-compatible WSGI app on a :class:`~gemini_sync.GeminiClient` or an ``AccountPool``."""

    def __init__(
        self,
        backend: Backend,
        *,
        api_keys: Iterable[str] | None = None,
        store: ConversationStore | None = None,
        max_body_bytes: int = _DEFAULT_BODY_LIMIT,
        max_concurrent: int = _DEFAULT_CONCURRENCY,
    ) -> None:
        keys = list(api_keys) if api_keys is not None else None
        if keys is not None and (not keys or not all(isinstance(k, str) and k for k in keys)):
            raise ValueError("api_keys must be None (no key checked) or non-empty strings")
        if max_concurrent < 1 or max_body_bytes < 1:
            raise ValueError("max_concurrent and max_body_bytes must be positive")
        self._keys = [_digest(k) for k in keys] if keys is not None else None
        self.store: ConversationStore = store if store is not None else MemoryStore()
        self.catalog = ModelCatalog(backend)
        self.engine = Engine(backend, self.store, ImageShelf())
        self.max_body_bytes = max_body_bytes
        self.max_concurrent = max_concurrent
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    # -- WSGI --------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._route(environ, start_response)
        except OpenAIError as exc:
            return self._error(start_response, exc)
        except GeminiError as exc:
            return self._error(start_response, from_gemini(exc))
        except Exception as exc:  # noqa: BLE001 - the client gets a 500, the operator a log line
            logger.exception("openai: unexpected error in %s", environ.get("PATH_INFO"))
            return self._error(start_response, OpenAIError(500, f"internal error: {exc.__class__.__name__}"))

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith("/v1/files/"):
            self._allow(method, "GET")
            file_id = path[len("/v1/files/") :].removesuffix("/content")
            data, mime = self.engine.shelf.content(file_id)
            headers = [
                ("Content-Type", mime),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "private"),
            ]
            start_response("200 OK", headers)
            return [data]
        namespace = self._authorize(environ)
        if path in ("/v1/models", "/v1/models/"):
            self._allow(method, "GET")
            return self._json(start_response, self._models())
        if path.startswith("/v1/models/"):
            self._allow(method, "GET")
            name = path[len("/v1/models/") :]
            found = [m for m in self._models()["data"] if m["id"] == name]
            if not found:
                raise OpenAIError(404, f"no model {name!r}", code="model_not_found", param="model")
            return self._json(start_response, found[0])
        if path in ("/v1/chat/completions", "/v1/responses"):
            self._allow(method, "POST")
            release = self._acquire(namespace)
            try:
                body = self._body(environ)
                files_url = self._files_url(environ)
                if path == "/v1/chat/completions":
                    result = self._chat(body, namespace, files_url, start_response)
                else:
                    result = self._responses(body, namespace, files_url, start_response)
            except BaseException:
                release()
                raise
            return ClosingBody(result, release)
        raise OpenAIError(404, f"no route for {method} {path}", code="not_found")

    # -- endpoints ---------------------------------------------------------

    def _models(self) -> dict[str, Any]:
        data = [
            {
                "id": choice.id,
                "object": "model",
                "created": 0,
                "owned_by": "gemini-web",
                "name": choice.info.label
                if choice.thinking is None
                else f"{choice.info.label} ({choice.thinking})",
                "thinking": choice.thinking,
            }
            for choice in self.catalog.choices()
        ]
        return {"object": "list", "data": data}

    def _chat(
        self, body: dict[str, Any], namespace: str, files_url: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        request = chat_request(body, self.catalog, namespace, files_url)
        events = self.engine.run(request)
        first = self._first(events)  # anything that fails before the answer starts is an HTTP error
        model = request.model.id
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
            start_response("200 OK", list(SSE_HEADERS))
            return _Closing(chat_stream(first, events, model, include_usage), events)
        outcome = _collect(first, events)
        return self._json(start_response, chat_completion(outcome, model))

    def _responses(
        self, body: dict[str, Any], namespace: str, files_url: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        request = responses_request(body, self.catalog, namespace, self.store, files_url)
        events = self.engine.run(request)
        first = self._first(events)
        response_id = new_response_id()
        previous = body.get("previous_response_id")

        def remember(outcome: Any) -> None:
            remember_response(self.store, request, response_id, outcome)

        if body.get("stream"):
            start_response("200 OK", list(SSE_HEADERS))
            stream = response_stream(response_id, first, events, request.model.id, remember, previous)
            return _Closing(stream, events)
        outcome = _collect(first, events)
        remember(outcome)
        created = int(time.time())
        return self._json(
            start_response, response_object(response_id, request.model.id, outcome, created, previous)
        )

    @staticmethod
    def _first(events: Iterator[Event]) -> Event:
        try:
            return next(events)
        except BaseException:
            close = getattr(events, "close", None)
            if callable(close):
                close()
            raise

    # -- checks ------------------------------------------------------------

    def _authorize(self, environ: dict[str, Any]) -> str:
        """The namespace of the request's key (a hash of it); a 401 when keys are set and it is not one."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if self._keys is None:
            return hashlib.sha256(token.encode()).hexdigest()[:32] if token else "anonymous"
        given = _digest(token)
        matched = False
        for key in self._keys:  # every key is compared: the time does not tell which one, or how close
            matched |= hmac.compare_digest(given, key)
        if not token or not matched:
            raise OpenAIError(
                401,
                "missing or invalid API key: send it as 'Authorization: Bearer <key>'",
                code="invalid_api_key",
            )
        return given.hex()[:32]

    def _acquire(self, namespace: str) -> Callable[[], None]:
        with self._slots_lock:
            slot = self._slots.setdefault(namespace, threading.BoundedSemaphore(self.max_concurrent))
        if not slot.acquire(blocking=False):
            raise OpenAIError(
                429,
                f"this API key already runs {self.max_concurrent} requests; wait for one to end",
                code="concurrency_limit",
                headers=[("Retry-After", "1")],
            )
        return slot.release

    def _body(self, environ: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise bad_request("Content-Length is not a number") from None
        if length > self.max_body_bytes:
            raise OpenAIError(
                413, f"the body is larger than {self.max_body_bytes} bytes", code="body_too_large"
            )
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            body = json.loads(raw)
        except ValueError:
            raise bad_request("the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object")
        return body

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise OpenAIError(405, f"use {allowed} here, not {method}", code="method_not_allowed")

    @staticmethod
    def _files_url(environ: dict[str, Any]) -> str:
        scheme = environ.get("wsgi.url_scheme", "http")
        host = (
            environ.get("HTTP_HOST")
            or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}/v1/files/"

    # -- responses ---------------------------------------------------------

    @staticmethod
    def _json(start_response: StartResponse, payload: Any, status: str = "200 OK") -> list[bytes]:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        start_response(status, [_JSON, ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _error(start_response: StartResponse, error: OpenAIError) -> list[bytes]:
        data = error.body()
        headers = [_JSON, ("Content-Length", str(len(data))), *error.headers]
        start_response(error.status_line, headers)
        return [data]


def _collect(first: Event, events: Iterator[Event]) -> Any:
    current: Event | None = first
    while current is not None:
        if current.kind == "done":
            return current.outcome
        current = next(events, None)
    raise OpenAIError(502, "the answer ended without its end", code="incomplete")


class _Closing:
    """An SSE body that also closes the engine's generator (and so the upstream stream) when closed."""

    def __init__(self, chunks: Iterator[bytes], events: Sequence[Any] | Iterator[Any]) -> None:
        self._chunks = chunks
        self._events = events

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        for part in (self._chunks, self._events):
            close = getattr(part, "close", None)
            if callable(close):
                close()
