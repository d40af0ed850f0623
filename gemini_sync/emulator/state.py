"""The emulator's server-side state: conversations, uploads, gems and images.

Everything lives in memory in one :class:`Store` guarded by one lock; the
request handlers mutate it, the :class:`~gemini_sync.emulator.Emulator`
hands out copies to tests. Ids have the service's shapes: ``c_<16 hex>``,
``r_<16 hex>``, ``rc_<16 hex>``.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol.payload import RawImage
from ..protocol.service import build_candidate
from .answers import IMAGE_PLACEHOLDER
from .citing import attach_sources

__all__ = ["Turn", "Conversation", "Upload", "Gem", "ImageRecord", "Store", "SYSTEM_GEMS"]

_UPLOAD_ALPHABET = string.ascii_lowercase + string.digits


def _hex_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


@dataclass
class Turn:
    """One saved exchange: the user's prompt and the model's final candidate."""

    prompt: str
    rid: str
    rcid: str
    text: str
    context_token: str
    thoughts: str | None = None
    web_images: list[RawImage] = field(default_factory=list)
    generated_images: list[RawImage] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    model_id: str | None = None
    created: float = field(default_factory=time.time)
    sources: list[Any] = field(default_factory=list)  # the sources field of a citing answer
    #: a turn whose candidate changes over time (a research or media job): renders it when read
    live: Callable[[], list[Any]] | None = None

    def candidate(self) -> list[Any]:
        """The final candidate, in the StreamGenerate shape."""
        if self.live is not None:
            return self.live()
        return attach_sources(self._built(), self.sources)

    def _built(self) -> list[Any]:
        return build_candidate(
            self.rcid,
            self.text,
            thoughts=self.thoughts,
            done=True,
            web_images=self.web_images,
            generated_images=self.generated_images,
        )


@dataclass
class Conversation:
    """A chat: its id, title (from the first prompt), model and saved turns, oldest first."""

    cid: str
    title: str
    model_id: str | None = None
    gem_id: str | None = None
    temporary: bool = False
    pinned: bool = False
    turns: list[Turn] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)


@dataclass
class Upload:
    """An uploaded file."""

    identifier: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Gem:
    """A gem: predefined (system) or created by the user."""

    id: str
    name: str
    description: str = ""
    prompt: str | None = None
    predefined: bool = False
    hidden: bool = False


@dataclass(frozen=True)
class ImageRecord:
    """An image the emulator serves at ``/images/<key>.png``."""

    key: str
    kind: str  # "web" or "generated"
    alt: str
    image_id: str | None = None


#: predefined gems (the last one is hidden, listed only with "include hidden")
SYSTEM_GEMS = (
    Gem("brainstormer", "Brainstormer", "Helps you come up with ideas", predefined=True),
    Gem("coding-partner", "Coding partner", "Helps you write and fix code", predefined=True),
    Gem("storybook", "Storybook", "Writes illustrated stories", predefined=True, hidden=True),
)


class Store:
    """All server-side state, behind one re-entrant lock (``store.lock``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._conversations: dict[str, Conversation] = {}
        self._uploads: dict[str, Upload] = {}
        self._gems: dict[str, Gem] = {gem.id: copy.copy(gem) for gem in SYSTEM_GEMS}
        self._images: dict[str, ImageRecord] = {}
        self._generated: dict[str, str] = {}  # image id -> key
        self._image_counter = 0

    # --- conversations ---

    def new_conversation(
        self, prompt: str, *, model_id: str | None, gem_id: str | None, temporary: bool
    ) -> Conversation:
        conv = Conversation(_hex_id("c_"), prompt.strip().splitlines()[0][:80] if prompt.strip() else "Chat")
        conv.model_id, conv.gem_id, conv.temporary = model_id, gem_id, temporary
        with self.lock:
            self._conversations[conv.cid] = conv
        return conv

    def conversation(self, cid: str) -> Conversation | None:
        """The live conversation (callers hold ``lock`` while reading it)."""
        with self.lock:
            return self._conversations.get(cid)

    def add_turn(self, cid: str, turn: Turn) -> bool:
        """Save ``turn``; False if the conversation was deleted meanwhile."""
        with self.lock:
            conv = self._conversations.get(cid)
            if conv is None:
                return False
            if all(t.rid != turn.rid for t in conv.turns):
                conv.turns.append(turn)
            conv.updated = time.time()
            return True

    def delete_conversation(self, cid: str) -> bool:
        with self.lock:
            return self._conversations.pop(cid, None) is not None

    def conversations(self, *, include_temporary: bool = True) -> list[Conversation]:
        """Copies of the conversations, most recently updated first."""
        with self.lock:
            convs = [c for c in self._conversations.values() if include_temporary or not c.temporary]
            convs.sort(key=lambda c: c.updated, reverse=True)
            return [copy.deepcopy(c) for c in convs]

    # --- uploads ---

    def add_upload(self, filename: str, content_type: str, data: bytes) -> Upload:
        token = "".join(secrets.choice(_UPLOAD_ALPHABET) for _ in range(30))
        upload = Upload(f"/contrib_service/ttl_1d/{int(time.time())}{token}", filename, content_type, data)
        with self.lock:
            self._uploads[upload.identifier] = upload
        return upload

    def upload(self, identifier: str) -> Upload | None:
        with self.lock:
            return self._uploads.get(identifier)

    def uploads(self) -> dict[str, Upload]:
        with self.lock:
            return dict(self._uploads)

    # --- gems ---

    def gem(self, gem_id: str) -> Gem | None:
        with self.lock:
            gem = self._gems.get(gem_id)
            return copy.copy(gem) if gem else None

    def gems(self) -> list[Gem]:
        with self.lock:
            return [copy.copy(gem) for gem in self._gems.values()]

    def add_gem(self, name: str, description: str = "", prompt: str | None = None) -> Gem:
        gem = Gem(secrets.token_hex(6), name, description, prompt)
        with self.lock:
            self._gems[gem.id] = gem
        return copy.copy(gem)

    def update_gem(self, gem_id: str, name: str, description: str, prompt: str | None) -> bool:
        with self.lock:
            gem = self._gems.get(gem_id)
            if gem is None or gem.predefined:
                return False
            gem.name, gem.description, gem.prompt = name, description, prompt
            return True

    def delete_gem(self, gem_id: str) -> bool:
        with self.lock:
            gem = self._gems.get(gem_id)
            if gem is None or gem.predefined:
                return False
            del self._gems[gem_id]
            return True

    # --- images ---

    def next_image_id(self) -> str:
        """A fresh generated-image id (the service's placeholder URL shape)."""
        with self.lock:
            self._image_counter += 1
            return IMAGE_PLACEHOLDER.format(n=self._image_counter)

    def add_image(self, kind: str, alt: str, image_id: str | None = None) -> ImageRecord:
        record = ImageRecord(secrets.token_hex(8), kind, alt, image_id)
        with self.lock:
            self._images[record.key] = record
            if image_id:
                self._generated[image_id] = record.key
        return record

    def image(self, key: str) -> ImageRecord | None:
        with self.lock:
            return self._images.get(key)

    def image_by_id(self, image_id: str) -> ImageRecord | None:
        with self.lock:
            key = self._generated.get(image_id)
            return self._images.get(key) if key else None
