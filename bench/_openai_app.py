"""The OpenAI app in a child process for ``bench/openai_latency.py``, with its client's chunks timed.

    python bench/_openai_app.py --url EMULATOR_URL --cookies JSON

Prints one JSON line ``{"url": ...}`` and serves (waitress) until stdin closes.
``GET /times`` gives the ``time.monotonic_ns()`` at which the app's client
handed each text chunk of the last stream to the app (the clock is shared by
processes on Linux), so the parent can pair them with the SSE deltas it receives.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gemini_sync import GeminiClient
from gemini_sync.openai import make_app
from gemini_sync.openai.serve import make_server


class _TapStream:
    def __init__(self, stream: Any, times: list[int]) -> None:
        self._stream, self._times = stream, times

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._stream:
            if chunk.delta_text:
                self._times.append(time.monotonic_ns())
            yield chunk

    def collect(self) -> Any:
        return self._stream.collect()

    def close(self) -> None:
        self._stream.close()


class _TapChat:
    def __init__(self, chat: Any, times: list[int]) -> None:
        self._chat, self._times = chat, times

    @property
    def metadata(self) -> list[Any]:
        return list(self._chat.metadata)

    def send_message_stream(self, prompt: str, *, files: Sequence[Any] | None = None) -> _TapStream:
        self._times.clear()
        return _TapStream(self._chat.send_message_stream(prompt, files=files), self._times)


class _Tap:
    """The client, with the arrival time of every text chunk of the last stream recorded."""

    def __init__(self, client: GeminiClient) -> None:
        self.client = client
        self.times: list[int] = []

    def start_chat(self, **options: Any) -> _TapChat:
        return _TapChat(self.client.start_chat(**options), self.times)

    def list_models(self) -> Any:
        return self.client.list_models()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookies", required=True)
    args = parser.parse_args()
    client = GeminiClient(
        cookies=json.loads(args.cookies), base_url=args.url, auto_refresh=False, cookie_cache=False
    )
    tap = _Tap(client)
    app = make_app(tap)

    def outer(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/times":
            body = json.dumps(tap.times).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return app(environ, start_response)

    sock = socket.create_server(("127.0.0.1", 0))
    server = make_server(outer, sockets=[sock], threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    print(json.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}", "cookies": {}}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()
    client.close()


if __name__ == "__main__":
    main()
