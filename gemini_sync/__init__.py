"""gemini_sync: a synchronous, thread-based client of the Gemini web app.

>>> from gemini_sync import GeminiClient
>>> client = GeminiClient()                       # doctest: +SKIP
>>> for chunk in client.stream("Tell me a story"):  # doctest: +SKIP
...     print(chunk.delta_text, end="", flush=True)

The block below is the one list of the public names: type checkers read it as
explicit re-exports; at run time nothing is imported until a name is first
used (see ``_exports.py``), so the pytest plugin and the command line start fast.
"""

TYPE_CHECKING = False  # not typing's: importing typing would cost the command line ~8 ms at start-up
if TYPE_CHECKING:
    from . import errors as errors
    from ._config import Timeout as Timeout
    from ._config import Timeouts as Timeouts
    from .capture.file import Capture as Capture
    from .capture.file import Exchange as Exchange
    from .chat import ChatSession as ChatSession
    from .client import GeminiClient as GeminiClient
    from .errors import AccountRestricted as AccountRestricted
    from .errors import APIError as APIError
    from .errors import AttachmentRejected as AttachmentRejected
    from .errors import AuthError as AuthError
    from .errors import Cancelled as Cancelled
    from .errors import FollowUpLimit as FollowUpLimit
    from .errors import GeminiError as GeminiError
    from .errors import MediaFailed as MediaFailed
    from .errors import ModelDowngraded as ModelDowngraded
    from .errors import ModelInvalid as ModelInvalid
    from .errors import NoAccountAvailable as NoAccountAvailable
    from .errors import ProtocolError as ProtocolError
    from .errors import RateLimited as RateLimited
    from .errors import RequestRejected as RequestRejected
    from .errors import ResearchFailed as ResearchFailed
    from .errors import ResearchTimeout as ResearchTimeout
    from .errors import ResearchUnavailable as ResearchUnavailable
    from .errors import StreamDiverged as StreamDiverged
    from .errors import StreamInterrupted as StreamInterrupted
    from .errors import TemporarilyBlocked as TemporarilyBlocked
    from .errors import TimeoutError as TimeoutError
    from .errors import UploadError as UploadError
    from .errors import UsageLimitExceeded as UsageLimitExceeded
    from .models import Model as Model
    from .models import ModelLike as ModelLike
    from .models import Thinking as Thinking
    from .protocol.tool_calls import ToolCall as ToolCall
    from .research import ResearchJob as ResearchJob
    from .research import ResearchWorker as ResearchWorker
    from .streaming.stream import Stream as Stream
    from .streaming.worker import StreamWorker as StreamWorker
    from .transport.retry import RetryPolicy as RetryPolicy
    from .transport.upload import FileInput as FileInput
    from .types.account import AccountInfo as AccountInfo
    from .types.account import CatalogEntry as CatalogEntry
    from .types.account import ChatInfo as ChatInfo
    from .types.account import ChatTurn as ChatTurn
    from .types.account import Gem as Gem
    from .types.account import GemLike as GemLike
    from .types.account import ModelInfo as ModelInfo
    from .types.account import Quota as Quota
    from .types.ids import ChatIds as ChatIds
    from .types.images import GeneratedImage as GeneratedImage
    from .types.images import Image as Image
    from .types.images import ImageSaver as ImageSaver
    from .types.images import ImageView as ImageView
    from .types.images import WebImage as WebImage
    from .types.media import GeneratedAudio as GeneratedAudio
    from .types.media import GeneratedMedia as GeneratedMedia
    from .types.media import GeneratedVideo as GeneratedVideo
    from .types.media import MediaSaver as MediaSaver
    from .types.output import Candidate as Candidate
    from .types.output import Citation as Citation
    from .types.output import ModelOutput as ModelOutput
    from .types.output import Status as Status
    from .types.output import StatusKind as StatusKind
    from .types.output import StreamChunk as StreamChunk
    from .types.output import link_citations as link_citations
    from .types.research import ResearchPlan as ResearchPlan
    from .types.research import ResearchProgress as ResearchProgress
    from .types.research import ResearchReport as ResearchReport
    from .types.research import ResearchSource as ResearchSource
    from .types.research import ResearchStep as ResearchStep
    from .types.research import ResearchThought as ResearchThought
    from .types.status import AbuseStatus as AbuseStatus
    from .types.status import AccountStatus as AccountStatus
    from .types.status import QuotaCheck as QuotaCheck
    from .types.status import Usage as Usage
    from .types.status import UsageWindow as UsageWindow

import importlib  # noqa: E402 - below the list, which type checkers read first

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """A public name, imported on first use (``__all__`` too, for ``from gemini_sync import *``)."""
    if name.startswith("_") and name != "__all__":  # a submodule being imported, or no such name
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _exports = importlib.import_module(f"{__name__}._exports")
    if name == "__all__":
        value: object = [*_exports.table(), "__version__"]
    else:
        value = _exports.load(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    _exports = importlib.import_module(f"{__name__}._exports")
    return sorted(set(globals()) | set(_exports.table()))
