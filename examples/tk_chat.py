"""A Tk chat window: streamed text and thoughts, Send and Stop, callbacks on the Tk thread.

Run it against the bundled emulator (no account needed)::

    python examples/tk_chat.py --emulator

(``GEMINI_BASE_URL=http://127.0.0.1:8765`` points it at a running emulator;
without either it talks to gemini.google.com with your cookies.)

The answer is read on a worker thread (``stream.start(...)``) and every
callback is sent to the Tk thread with ``dispatch=lambda fn: root.after(0, fn)``,
so the callbacks may touch widgets; Stop is ``worker.cancel()``, which ends the
stream at once with ``on_error(Cancelled)``. While the service queues the
request or thinks, ``on_status`` shows what it says it is doing ("Queued...",
"Thinking: Comparing Images") in the status bar. The window never blocks: nothing
waits on ``worker.result()`` in the Tk thread (that would deadlock, and the
worker raises ``RuntimeError`` instead).

:class:`ChatController` holds the logic and talks to a small view interface,
so it can be driven without a display; :class:`TkChatApp` is the Tk view.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from example_client import make_client

from gemini_sync import GeminiClient, ModelOutput, Status, StreamWorker, errors

if TYPE_CHECKING:
    import tkinter as tk

Dispatch = Callable[[Callable[[], None]], Any]


class ChatView(Protocol):
    """What :class:`ChatController` needs from a window. Called on the dispatch (GUI) thread only."""

    def prompt(self) -> str: ...
    def clear(self) -> None: ...
    def append_text(self, delta: str) -> None: ...
    def append_thought(self, delta: str) -> None: ...
    def set_status(self, text: str) -> None: ...
    def set_busy(self, busy: bool) -> None: ...


class ChatController:
    """One conversation: Send starts a streamed turn, Stop cancels it; callbacks go through ``dispatch``."""

    def __init__(self, client: GeminiClient, view: ChatView, dispatch: Dispatch, *, model: str | None = None):
        self.view = view
        self.dispatch = dispatch
        self.chat = client.start_chat(**({"model": model} if model else {}))
        self.worker: StreamWorker | None = None

    @property
    def busy(self) -> bool:
        return self.worker is not None and not self.worker.done()

    def send(self) -> StreamWorker | None:
        """Start answering the prompt box's text (ignored while a turn is running or the box is empty)."""
        prompt = self.view.prompt().strip()
        if self.busy:
            return None
        if not prompt:
            self.view.set_status("type a prompt first")
            return None
        self.view.clear()
        self.view.set_busy(True)
        self.view.set_status("streaming...")
        self.worker = self.chat.send_message_stream(prompt).start(
            on_text=self.view.append_text,
            on_thought=self.view.append_thought,
            on_status=self._status,
            on_done=self._done,
            on_error=self._error,
            dispatch=self.dispatch,
        )
        return self.worker

    def stop(self) -> None:
        """Cancel the running turn (from any thread); it ends with ``on_error(Cancelled)``."""
        if self.worker is not None:
            self.worker.cancel()

    def _status(self, status: Status | None) -> None:
        """What the service is doing (queued, thinking, a tool), or ``None`` once the answer is written."""
        self.view.set_status(str(status) if status is not None else "streaming...")

    def _done(self, output: ModelOutput) -> None:
        self.view.set_busy(False)
        self.view.set_status(f"done: {len(output.text)} characters")

    def _error(self, exc: BaseException) -> None:
        self.view.set_busy(False)
        if isinstance(exc, errors.Cancelled):
            self.view.set_status("stopped")
        else:
            self.view.set_status(f"error: {exc.__class__.__name__}: {exc}")


class TkChatApp:
    """The Tk window (a :class:`ChatView`): prompt box, Send/Stop, thoughts and answer areas, status."""

    def __init__(self, root: tk.Tk, client: GeminiClient, *, model: str | None = None) -> None:
        import tkinter as tk
        from tkinter import scrolledtext

        self.root = root
        root.title("gemini_sync chat")
        top = tk.Frame(root)
        top.pack(fill="x", padx=8, pady=8)
        self.prompt_box = tk.Entry(top)
        self.prompt_box.pack(side="left", fill="x", expand=True)
        self.prompt_box.bind("<Return>", lambda _event: self.controller.send())
        self.send_button = tk.Button(top, text="Send", command=lambda: self.controller.send())
        self.send_button.pack(side="left", padx=(8, 0))
        self.stop_button = tk.Button(
            top, text="Stop", state="disabled", command=lambda: self.controller.stop()
        )
        self.stop_button.pack(side="left", padx=(4, 0))
        tk.Label(root, text="Thoughts", anchor="w").pack(fill="x", padx=8)
        self.thought_box = scrolledtext.ScrolledText(root, height=5, wrap="word", foreground="gray40")
        self.thought_box.pack(fill="both", padx=8)
        tk.Label(root, text="Answer", anchor="w").pack(fill="x", padx=8)
        self.text_box = scrolledtext.ScrolledText(root, height=16, wrap="word")
        self.text_box.pack(fill="both", expand=True, padx=8)
        self.status = tk.StringVar(root, value="ready")
        tk.Label(root, textvariable=self.status, anchor="w").pack(fill="x", padx=8, pady=(4, 8))
        # every callback of the worker runs here, on the Tk thread
        self.controller = ChatController(client, self, lambda fn: root.after(0, fn), model=model)
        root.protocol("WM_DELETE_WINDOW", self.close)

    # -- ChatView ------------------------------------------------------------

    def prompt(self) -> str:
        return self.prompt_box.get()

    def clear(self) -> None:
        self.text_box.delete("1.0", "end")
        self.thought_box.delete("1.0", "end")

    def append_text(self, delta: str) -> None:
        self.text_box.insert("end", delta)
        self.text_box.see("end")

    def append_thought(self, delta: str) -> None:
        self.thought_box.insert("end", delta)
        self.thought_box.see("end")

    def set_status(self, text: str) -> None:
        self.status.set(text)

    def set_busy(self, busy: bool) -> None:
        self.send_button.config(state="disabled" if busy else "normal")
        self.stop_button.config(state="normal" if busy else "disabled")

    # -- helpers -------------------------------------------------------------

    def text(self) -> str:
        """The answer area's content."""
        return self.text_box.get("1.0", "end-1c")

    def thoughts(self) -> str:
        """The thoughts area's content."""
        return self.thought_box.get("1.0", "end-1c")

    def close(self) -> None:
        """Stop a running turn and close the window (late callbacks then find no window and are dropped)."""
        self.controller.stop()
        self.root.destroy()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A Tk chat window.")
    parser.add_argument("--emulator", action="store_true", help="use the bundled emulator")
    parser.add_argument(
        "--model", default="gemini-3-flash-thinking", help="model (a thinking one shows thoughts)"
    )
    args = parser.parse_args(argv)
    import tkinter as tk

    try:
        root = tk.Tk()
    except tk.TclError as exc:  # no $DISPLAY, or a display that refuses us
        print(f"tk_chat needs a graphical display ({exc})", file=sys.stderr)
        return 1
    with make_client(emulator=True if args.emulator else None) as client:
        root.geometry("720x560")
        TkChatApp(root, client, model=args.model)
        root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
