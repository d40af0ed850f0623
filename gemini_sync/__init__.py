"""gemini_sync: a synchronous, thread-based client of the Gemini web app.

>>> from gemini_sync import GeminiClient
>>> client = GeminiClient()                       # doctest: +SKIP
>>> for chunk in client.stream("Tell me a story"):  # doctest: +SKIP
...     print(chunk.delta_text, end="", flush=True)
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing's: importing typing would cost the command line ~8 ms at start-up
if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names are imported on first use
    from . import errors
    from .chat import ChatSession
    from .client import GeminiClient
    from .errors import (
        APIError,
        AttachmentRejected,
        AuthError,
        Cancelled,
        FollowUpLimit,
        GeminiError,
        MediaFailed,
        ModelInvalid,
        ProtocolError,
        RateLimited,
        RequestRejected,
        ResearchFailed,
        ResearchTimeout,
        ResearchUnavailable,
        StreamDiverged,
        StreamInterrupted,
        TemporarilyBlocked,
        AccountRestricted,
        TimeoutError,
        UploadError,
        UsageLimitExceeded,
    )
    from .models import Model, ModelLike
    from .protocol.citations import link_citations
    from .protocol.thinking import Thinking
    from .research import ResearchJob, ResearchWorker
    from .stream import Stream
    from .transport.retry import RetryPolicy
    from .transport.upload import FileInput
    from .types import (
        AccountInfo,
        Candidate,
        CatalogEntry,
        ChatInfo,
        ChatTurn,
        Citation,
        Gem,
        GemLike,
        GeneratedImage,
        ImageSaver,
        ImageView,
        ModelInfo,
        ModelOutput,
        Quota,
        ResearchPlan,
        ResearchProgress,
        ResearchReport,
        ResearchSource,
        ResearchStep,
        ResearchThought,
        Status,
        StreamChunk,
        Timeout,
        WebImage,
    )
    from .worker import StreamWorker

__version__ = "0.1.0"

__all__ = [
    "GeminiClient",
    "ChatSession",
    "Stream",
    "StreamWorker",
    "StreamChunk",
    "Status",
    "Quota",
    "ModelOutput",
    "Candidate",
    "WebImage",
    "GeneratedImage",
    "ImageView",
    "Gem",
    "ChatInfo",
    "ChatTurn",
    "AccountInfo",
    "CatalogEntry",
    "ModelInfo",
    "Thinking",
    "GemLike",
    "FileInput",
    "ImageSaver",
    "Timeout",
    "Model",
    "ModelLike",
    "RetryPolicy",
    "errors",
    "GeminiError",
    "AuthError",
    "APIError",
    "UsageLimitExceeded",
    "ModelInvalid",
    "FollowUpLimit",
    "AttachmentRejected",
    "RequestRejected",
    "TemporarilyBlocked",
    "AccountRestricted",
    "RateLimited",
    "TimeoutError",
    "StreamInterrupted",
    "Cancelled",
    "ProtocolError",
    "StreamDiverged",
    "UploadError",
    "Citation",
    "link_citations",
    "ResearchUnavailable",
    "ResearchFailed",
    "ResearchTimeout",
    "MediaFailed",
    "ResearchJob",
    "ResearchWorker",
    "ResearchPlan",
    "ResearchStep",
    "ResearchProgress",
    "ResearchThought",
    "ResearchSource",
    "ResearchReport",
    "__version__",
]

# Where each public name lives. Importing the package itself imports none of them, so that
# ``gemini_sync.testing`` (the pytest plugin, loaded by every pytest run) and the command line
# start fast; ``from gemini_sync import GeminiClient`` imports what it needs.
_HOMES = {
    "GeminiClient": ".client",
    "ChatSession": ".chat",
    "Stream": ".stream",
    "StreamWorker": ".worker",
    "Model": ".models",
    "ModelLike": ".models",
    "Thinking": ".protocol.thinking",
    "RetryPolicy": ".transport.retry",
    "FileInput": ".transport.upload",
    "link_citations": ".protocol.citations",
    "ResearchJob": ".research",
    "ResearchWorker": ".research",
    **dict.fromkeys(
        [
            "Candidate",
            "Citation",
            "GeneratedImage",
            "ImageSaver",
            "ImageView",
            "ModelOutput",
            "Status",
            "StreamChunk",
            "Timeout",
            "WebImage",
        ],
        ".types",
    ),
    **dict.fromkeys(
        ["AccountInfo", "CatalogEntry", "ChatInfo", "ChatTurn", "Gem", "GemLike", "ModelInfo", "Quota"],
        "._account_types",
    ),
    **dict.fromkeys(
        [
            "ResearchPlan",
            "ResearchProgress",
            "ResearchReport",
            "ResearchSource",
            "ResearchStep",
            "ResearchThought",
        ],
        "._research_types",
    ),
    **dict.fromkeys(
        [
            "GeminiError",
            "AuthError",
            "APIError",
            "UsageLimitExceeded",
            "ModelInvalid",
            "FollowUpLimit",
            "AttachmentRejected",
            "RequestRejected",
            "TemporarilyBlocked",
            "AccountRestricted",
            "RateLimited",
            "TimeoutError",
            "StreamInterrupted",
            "Cancelled",
            "ProtocolError",
            "StreamDiverged",
            "UploadError",
            "ResearchUnavailable",
            "ResearchFailed",
            "ResearchTimeout",
            "MediaFailed",
        ],
        ".errors",
    ),
}


def __getattr__(name: str) -> object:
    if name == "errors":
        return importlib.import_module(".errors", __name__)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
