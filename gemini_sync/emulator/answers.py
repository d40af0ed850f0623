"""What the emulator answers: scripted answers and the deterministic default answerer.

An :class:`Answer` is the plan of one reply: the cumulative text snapshots
(the last one is the final text), cumulative thought snapshots, and the
images. :class:`Script` lets a test decide the answer to a prompt;
:func:`default_answer` makes an echo-like markdown answer with bold text, a
code block and non-ASCII text (CJK, an emoji outside the BMP), so that
clients meet the hard cases of the wire format on every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._log import logger
from ..protocol.payload import RawImage
from .citing import SourceSpec, cited_text, source_groups, wants_citations
from .faults import Matcher, check_matcher, describe_matcher, matches

if TYPE_CHECKING:
    from .records import RecordedRequest

__all__ = [
    "Answer",
    "ImageSpec",
    "Script",
    "ScriptBook",
    "AttachedFile",
    "default_answer",
    "split_snapshots",
    "add_flicker",
    "IMAGE_PLACEHOLDER",
]

#: a plain string names an image the emulator serves itself (the string is its alt text);
#: a RawImage with an empty ``url`` is also served by the emulator, keeping its alt and id
ImageSpec = RawImage | str

#: text placeholder of a generated image; clients strip it (docs/protocol.md 5.2)
IMAGE_PLACEHOLDER = "http://googleusercontent.com/image_generation_content/{n}"

_MIN_CHUNKS = 6
_MAX_CHUNKS = 12
_CHARS_PER_CHUNK = 30
_THOUGHT_CHUNKS = 3
_FENCE = "```"
_SHOWN_PROMPT = 80


@dataclass
class Answer:
    """One reply, as cumulative snapshots; ``snapshots[-1]`` is the final text."""

    snapshots: list[str]
    thoughts: list[str] = field(default_factory=list)
    web_images: list[ImageSpec] = field(default_factory=list)
    generated_images: list[ImageSpec] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)  # the sources field of a citing answer

    @property
    def text(self) -> str:
        """The final text."""
        return self.snapshots[-1] if self.snapshots else ""

    @property
    def final_thoughts(self) -> str | None:
        """The final thoughts, or ``None`` for a model that does not think aloud."""
        return self.thoughts[-1] if self.thoughts else None


@dataclass(frozen=True)
class AttachedFile:
    """An attachment as the default answer describes it."""

    name: str
    size: int
    content_type: str


def split_snapshots(text: str, chunks: int | None = None) -> list[str]:
    """Cut ``text`` into cumulative snapshots of growing length, the last being ``text``.

    Without ``chunks`` the count grows with the length, between 6 and 12. Cuts
    fall between characters (code points); they may fall inside a word, a
    markdown marker or a code block, as the service's do.
    """
    if chunks is None:
        chunks = min(_MAX_CHUNKS, max(_MIN_CHUNKS, len(text) // _CHARS_PER_CHUNK))
    chunks = max(1, min(chunks, len(text) or 1))
    cuts = sorted({round(len(text) * (i + 1) / chunks) for i in range(chunks)})
    return [text[:cut] for cut in cuts if cut > 0] or [text]


def add_flicker(snapshots: Sequence[str]) -> list[str]:
    """Give every non-final snapshot a volatile tail that the next one withdraws.

    While a code block is open the tail is a closing fence (``"\\n```"``),
    otherwise an escaped markdown marker (``"\\*"``), as docs/protocol.md 5.4 describes.
    """
    out: list[str] = []
    for index, snap in enumerate(snapshots):
        if index < len(snapshots) - 1 and snap:
            snap += "\n" + _FENCE if snap.count(_FENCE) % 2 else "\\*"
        out.append(snap)
    return out


def _wants_generated_image(prompt: str) -> bool:
    lower = prompt.lower()
    return "image" in lower and ("generate" in lower or "draw" in lower)


def _wants_web_images(prompt: str) -> bool:
    lower = prompt.lower()
    return "picture of" in lower or "search image" in lower


def _subject(prompt: str) -> str:
    lower = prompt.lower()
    for marker in ("picture of", "search image", "image of", "image"):
        at = lower.find(marker)
        if at >= 0:
            rest = prompt[at + len(marker) :].strip(" :.?!")
            if rest:
                return rest[:60]
    return "your request"


def _echo_text(prompt: str, files: Sequence[AttachedFile], gem_name: str | None, turn: int) -> str:
    lines: list[str] = []
    if gem_name:
        lines += [f"*{gem_name}* here.", ""]
    lines += [f"You said: {prompt}", ""]
    if files:
        described = ", ".join(f"{f.name} ({f.size} bytes, {f.content_type})" for f in files)
        lines += [f"Attached files: {described}.", ""]
    lines += [
        "Here is a **bold** statement and a short example:",
        "",
        _FENCE + "python",
        "def greet(name: str) -> str:",
        '    return f"Hello, {name}!"',
        _FENCE,
        "",
        "Unicode check: naïve café, 日本語のテキスト, 😀 and 🚀.",
        "",
        f"That is all for turn {turn}.",
    ]
    return "\n".join(lines)


def default_answer(
    prompt: str,
    *,
    thinking: bool = False,
    files: Sequence[AttachedFile] = (),
    gem_name: str | None = None,
    turn: int = 1,
    image_id: Callable[[], str] | None = None,
) -> Answer:
    """The deterministic default reply to ``prompt``.

    * "generate"/"draw" + "image" in the prompt: one generated image (the
      text carries its placeholder, as the service's does);
    * "picture of" / "search image": two web images;
    * otherwise an echo ("You said: ...") with markdown, a code block,
      non-ASCII text and the turn number.

    ``thinking`` adds thoughts; ``image_id`` gives the id of a generated image.
    """
    web: list[ImageSpec] = []
    generated: list[ImageSpec] = []
    prefix = f"*{gem_name}* here.\n\n" if gem_name else ""
    if _wants_generated_image(prompt):
        subject = _subject(prompt)
        placeholder = image_id() if image_id else IMAGE_PLACEHOLDER.format(n=0)
        generated.append(RawImage("", alt=subject, image_id=placeholder))
        text = f"{prefix}Here is the image of {subject} you asked for:\n\n{placeholder}\n"
    elif _wants_web_images(prompt):
        subject = _subject(prompt)
        web += [f"{subject} (1)", f"{subject} (2)"]
        text = f"{prefix}Here are some pictures of **{subject}** I found on the web."
    elif wants_citations(prompt):
        text = prefix + cited_text(prompt)
    else:
        text = _echo_text(prompt, files, gem_name, turn)
    thoughts: list[str] = []
    if thinking:
        full = (
            f"**Reading the request**\n\nThe user wrote {len(prompt)} characters. "
            "I will answer with an echo, some markdown and a code sample."
        )
        thoughts = split_snapshots(full, _THOUGHT_CHUNKS)
    sources = source_groups(text) if wants_citations(prompt) else []
    return Answer(split_snapshots(text), thoughts, web, generated, sources)


@dataclass(eq=False)
class Script:
    """A scripted answer: requests whose prompt matches get this answer.

    ``match`` is a string (the prompt starts with it: ``"Summarise"`` answers
    ``"Summarise: ..."``), a compiled regex (``pattern.search(prompt)``) or a
    predicate on the prompt; anything else raises :class:`TypeError`. ``chunks`` is
    the number of snapshots to cut ``text`` into, or an explicit list of
    cumulative snapshots (they may flicker: a snapshot need not be a prefix of
    a later one); the final frame always carries ``text``. ``times`` is how
    many requests it answers (``None`` = forever); ``hits`` counts them.
    Images given as strings are served by the emulator (the string is the alt
    text); :class:`~gemini_sync.protocol.payload.RawImage` values are sent as-is.
    """

    match: Matcher
    text: str
    thoughts: str | None = None
    web_images: Sequence[ImageSpec] | None = None
    generated_images: Sequence[ImageSpec] | None = None
    chunks: int | Sequence[str] | None = None
    times: int | None = None
    hits: int = 0
    sources: Sequence[SourceSpec] | None = None

    def __post_init__(self) -> None:
        self.match = check_matcher(self.match)
        if not isinstance(self.text, str):
            raise TypeError(f"text must be a str, not {type(self.text).__name__}")
        if isinstance(self.chunks, int) and self.chunks < 1:
            raise ValueError("chunks must be at least 1")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for forever)")
        if isinstance(self.chunks, str):
            raise TypeError("chunks must be a number or a list of snapshot strings")

    @property
    def exhausted(self) -> bool:
        """True once the script has answered ``times`` requests."""
        return self.times is not None and self.hits >= self.times

    def answer(self) -> Answer:
        """The planned reply."""
        if self.chunks is None or isinstance(self.chunks, int):
            snapshots = split_snapshots(self.text, self.chunks)
        else:
            snapshots = [str(s) for s in self.chunks]
            if not snapshots or snapshots[-1] != self.text:
                snapshots.append(self.text)
        thoughts = split_snapshots(self.thoughts, _THOUGHT_CHUNKS) if self.thoughts else []
        sources = source_groups(self.text, self.sources) if self.sources is not None else []
        return Answer(
            snapshots, thoughts, list(self.web_images or ()), list(self.generated_images or ()), sources
        )


class ScriptBook:
    """Scripts, newest first, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # a predicate may itself call the emulator
        self._scripts: list[Script] = []

    def add(self, script: Script) -> Script:
        with self._lock:
            self._scripts.insert(0, script)
        return script

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()

    def take(self, prompt: str, record: RecordedRequest | None = None) -> Script | None:
        """The newest script matching ``prompt`` (counting the use), or ``None``.

        When scripts exist and none matches, that is almost always a test's
        mistake (a typo, a prompt the app decorates): say so with a warning on
        the ``gemini_sync`` logger (pytest shows it in the test's log) and in
        ``record.warnings``.
        """
        with self._lock:
            for script in self._scripts:
                if not script.exhausted and matches(script.match, prompt):
                    script.hits += 1
                    if script.times is not None and script.hits >= script.times:
                        self._scripts.remove(script)
                    return script
            pending = [describe_matcher(script.match) for script in self._scripts]
        if pending:
            shown = prompt if len(prompt) <= _SHOWN_PROMPT else prompt[:_SHOWN_PROMPT] + "..."
            warning = (
                f"no script matched the prompt {shown!r} (scripts: {', '.join(pending)}); "
                "it gets the default answer"
            )
            logger.warning("emulator: %s", warning)
            if record is not None:
                record.warnings.append(warning)
        return None
