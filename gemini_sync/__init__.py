"""gemini_sync: a synchronous, thread-based client of the Gemini web app.

>>> from gemini_sync import GeminiClient
>>> client = GeminiClient()                       # doctest: +SKIP
>>> for chunk in client.stream("Tell me a story"):  # doctest: +SKIP
...     print(chunk.delta_text, end="", flush=True)
"""

from __future__ import annotations

from . import errors
from .chat import ChatSession
from .client import GeminiClient
from .errors import (
    APIError,
    AuthError,
    Cancelled,
    GeminiError,
    ModelInvalid,
    ProtocolError,
    RateLimited,
    StreamDiverged,
    StreamInterrupted,
    TemporarilyBlocked,
    TimeoutError,
    UploadError,
    UsageLimitExceeded,
)
from .models import Model, ModelLike
from .stream import Stream
from .transport.retry import RetryPolicy
from .transport.upload import FileInput
from .types import (
    AccountInfo,
    Candidate,
    ChatInfo,
    ChatTurn,
    Gem,
    GemLike,
    GeneratedImage,
    ImageSaver,
    ImageView,
    ModelOutput,
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
    "ModelOutput",
    "Candidate",
    "WebImage",
    "GeneratedImage",
    "ImageView",
    "Gem",
    "ChatInfo",
    "ChatTurn",
    "AccountInfo",
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
    "TemporarilyBlocked",
    "RateLimited",
    "TimeoutError",
    "StreamInterrupted",
    "Cancelled",
    "ProtocolError",
    "StreamDiverged",
    "UploadError",
    "__version__",
]
