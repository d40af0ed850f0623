"""Deep Research results: the plan, its steps, the progress (thoughts, sources) and the report.

Split from :mod:`gemini_sync.types` so that constructing a client and streaming
do not pay for defining them; imported on first use, by the research modules or
through ``gemini_sync.types.X`` and ``from gemini_sync import X``, which forward
here. Serialised like every result type (see ``_json.py``); ``Citation`` is
imported at run time because dataclasses-json resolves field types in the
defining module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._exports import publish
from .._json import JsonMixin
from .output import Citation

__all__ = [
    "ResearchStep",
    "ResearchPlan",
    "ResearchThought",
    "ResearchSource",
    "ResearchProgress",
    "ResearchReport",
]


@dataclass
class ResearchStep(JsonMixin):
    """One step of a Deep Research plan."""

    number: int
    label: str
    description: str = ""


@dataclass
class ResearchPlan(JsonMixin):
    """What Deep Research proposes to do, before :meth:`ResearchJob.confirm` starts it.

    ``eta_text`` is the service's own estimate ("Ready in a few mins");
    ``confirm_label`` is the text the confirmation turn sends.
    """

    title: str
    steps: list[ResearchStep] = field(default_factory=list)
    eta_text: str = ""
    confirm_label: str = "Start research"


@dataclass
class ResearchThought(JsonMixin):
    """A thought Deep Research reported while working: a heading and its text."""

    heading: str
    body: str = ""


@dataclass
class ResearchSource(JsonMixin):
    """A web page Deep Research visited."""

    url: str
    title: str = ""
    favicon: str = ""


@dataclass
class ResearchProgress(JsonMixin):
    """How far a research got: its state (2 plan, 3 researching, 5 done), thoughts and sources so far."""

    state: int | None = None
    thoughts: list[ResearchThought] = field(default_factory=list)
    sources: list[ResearchSource] = field(default_factory=list)


@dataclass
class ResearchReport(JsonMixin):
    """The finished report: its title, markdown (with ``[cite: N]`` markers), sources and chat id."""

    title: str
    markdown: str
    citations: list[Citation] = field(default_factory=list)
    cid: str = ""

    def linked_markdown(self) -> str:
        """The markdown with every ``[cite: N]`` marker rendered as a link to its source."""
        from .output import link_citations

        return link_citations(self.markdown, self.citations)


publish(globals())
