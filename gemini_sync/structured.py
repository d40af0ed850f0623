"""JSON answers without a server: :meth:`GeminiClient.generate_json` (mixed into the client).

The web app has no JSON mode, so the schema goes into the prompt
(:mod:`gemini_sync.protocol.json_answer`), the answer is read and checked,
and an answer that fails gets one corrective turn in the same chat; a second
failure raises :class:`~gemini_sync.errors.ProtocolError` with the reason.
The OpenAI-compatible app (:mod:`gemini_sync.openai`) does the same for
``response_format``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ProtocolError

if TYPE_CHECKING:
    from .chat import ChatSession
    from .models import ModelLike, Thinking
    from .transport.upload import FileInput
    from .types.account import GemLike

__all__ = ["StructuredMixin"]


class StructuredMixin:
    """``generate_json``. Mixed into :class:`~gemini_sync.GeminiClient`."""

    start_chat: Callable[..., ChatSession]

    def generate_json(
        self,
        prompt: str,
        schema: Mapping[str, Any] | None = None,
        *,
        files: Sequence[FileInput] | None = None,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        gem: GemLike | None = None,
        deadline: float | None = None,
    ) -> Any:
        """The JSON value answering ``prompt``, checked against ``schema`` (without one: a JSON object).

        An answer that is not such JSON gets one corrective turn in the same
        chat saying what was wrong; if that fails too,
        :class:`~gemini_sync.errors.ProtocolError` says why (``.partial`` holds
        the last answer). The schema check covers OpenAI's structured-output
        subset (see :func:`~gemini_sync.protocol.json_answer.schema_errors`).
        """
        from .protocol.json_answer import correction_prompt, extract_json, json_instruction, schema_errors

        def check(text: str) -> tuple[Any, str]:
            try:
                value = extract_json(text)
            except ValueError as exc:
                return None, str(exc)
            if schema is not None:
                errors = schema_errors(value, schema)
                return value, ("it does not follow the schema: " + "; ".join(errors)) if errors else ""
            return value, "" if isinstance(value, dict) else "it is not a JSON object"

        chat = self.start_chat(model=model, thinking=thinking, gem=gem)
        output = chat.send_message(f"{prompt}\n\n{json_instruction(schema)}", files=files, deadline=deadline)
        value, reason = check(output.text)
        if reason:
            output = chat.send_message(correction_prompt(reason, schema), deadline=deadline)
            value, reason = check(output.text)
        if reason:
            raise ProtocolError(f"the model did not answer the JSON asked for: {reason}", partial=output)
        return value
