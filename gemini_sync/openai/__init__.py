"""An OpenAI-compatible WSGI app on the Gemini web app: any OpenAI client, editor or agent can use it.

>>> from gemini_sync import GeminiClient                      # doctest: +SKIP
>>> from gemini_sync.openai import make_app
>>> app = make_app(GeminiClient(), api_keys=["sk-local-1"])   # doctest: +SKIP

``app`` is a plain WSGI callable: serve it with ``gemini-sync serve`` (or any
WSGI server), or mount it inside Flask or Django. Endpoints: ``GET /v1/models``,
``POST /v1/chat/completions`` (streamed or not), ``POST /v1/responses`` and
``GET /v1/files/<id>`` (generated images). Conversations are continued in the
same web chat, not replayed; tools and JSON output are emulated by prompt.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .app import OpenAIApp
from .backend import Backend
from .conversations import ConversationStore, MemoryStore, SqliteStore
from .errors import OpenAIError

__all__ = [
    "make_app",
    "OpenAIApp",
    "Backend",
    "ConversationStore",
    "MemoryStore",
    "SqliteStore",
    "OpenAIError",
]


def make_app(
    client_or_pool: Backend,
    *,
    api_keys: Iterable[str] | None = None,
    store: ConversationStore | None = None,
    **options: Any,
) -> OpenAIApp:
    """The WSGI app serving ``client_or_pool`` (a :class:`~gemini_sync.GeminiClient` or an ``AccountPool``).

    ``api_keys``: the keys a request must carry as ``Authorization: Bearer``
    (``None``: no key is checked). ``store``: where conversations are kept
    (default :class:`MemoryStore`; a :class:`SqliteStore` is shared by worker
    processes). ``options``: ``max_body_bytes`` (32 MiB) and
    ``max_concurrent`` requests per key (4).
    """
    return OpenAIApp(client_or_pool, api_keys=api_keys, store=store, **options)
