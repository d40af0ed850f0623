"""Flask: stream an answer to the browser as Server-Sent Events, one event per chunk.

Run it against the bundled emulator (no account needed), then open http://127.0.0.1:5000/::

    python examples/flask_sse.py --emulator

(``GEMINI_BASE_URL=http://127.0.0.1:8765`` points it at a running emulator;
without either it talks to gemini.google.com with your cookies.)

``GET /stream?prompt=...[&model=gemini-3-flash]`` answers ``text/event-stream``: one ``data: <json>``
event per chunk (``{"text", "thoughts", "images", "final"}``, all deltas), then
``event: done`` with the whole answer, or ``event: failure`` with the error.
An empty prompt or an unknown model is a 400 with a JSON ``{"error": ...}``.
``GET /`` is a page that shows them with ``EventSource``. Images are served by
the app itself (``GET /images/<id>``, see ``image_store.py``): a visitor's browser
has none of the account's cookies, so the image host's URL would not load there.

One ``GeminiClient`` is made by :func:`create_app` and shared by every request
thread. When the browser goes away (tab closed, ``EventSource.close()``), the
WSGI server stops iterating the response and closes it; that closes the
``events()`` generator (``GeneratorExit`` at its ``yield``), whose ``with
stream:`` block then calls ``stream.close()``, which closes the upstream
connection to Gemini at once instead of reading an answer nobody will see.
(The development server only notices when its next write fails, i.e. at the
next chunk.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from example_client import make_client
from flask import Flask, Response, request
from image_store import ImageStore, content_type

from gemini_sync import GeminiClient, StreamChunk, errors

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gemini_sync + Flask + Server-Sent Events</title>
<style>
  body { font-family: sans-serif; max-width: 50em; margin: 2em auto; }
  #answer { white-space: pre-wrap; border: 1px solid #ccc; padding: 1em; min-height: 5em; }
  #thoughts { white-space: pre-wrap; color: #777; font-size: 0.9em; }
</style>
</head>
<body>
<form id="ask">
  <input id="prompt" size="60" placeholder="Ask something" autofocus>
  <button>Send</button> <button type="button" id="stop">Stop</button>
</form>
<p id="status"></p>
<div id="thoughts"></div>
<div id="answer"></div>
<div id="images"></div>
<script>
let source = null;
const $ = (id) => document.getElementById(id);
function stop(message) {
  if (source) { source.close(); source = null; }   // the server then closes the upstream stream
  $("status").textContent = message;
}
$("stop").onclick = () => stop("stopped");
$("ask").onsubmit = (event) => {
  event.preventDefault();
  stop("streaming...");
  for (const id of ["answer", "thoughts", "images"]) $(id).textContent = "";
  source = new EventSource("/stream?prompt=" + encodeURIComponent($("prompt").value));
  source.onmessage = (e) => {            // one event per chunk
    const chunk = JSON.parse(e.data);
    $("thoughts").textContent += chunk.thoughts;
    $("answer").textContent += chunk.text;
    for (const image of chunk.images) {
      const img = document.createElement("img");
      img.src = image.url; img.alt = image.alt; img.height = 120;
      $("images").appendChild(img);
    }
  };
  source.addEventListener("done", () => stop("done"));
  source.addEventListener("failure", (e) => stop("error: " + JSON.parse(e.data).message));
  source.onerror = () => stop("connection lost");  // else EventSource would reconnect and ask again
};
</script>
</body>
</html>
"""


def sse(data: Any, event: str | None = None) -> str:
    """One Server-Sent Event (JSON on a single ``data:`` line)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def chunk_json(chunk: StreamChunk, images: ImageStore) -> dict[str, Any]:
    """A chunk's deltas; its new images as links to this app's ``/images/<id>``."""
    return {
        "text": chunk.delta_text,
        "thoughts": chunk.delta_thoughts,
        "images": [{"url": f"/images/{images.add(image)}", "alt": image.alt} for image in chunk.new_images],
        "final": chunk.is_final,
    }


def create_app(client: GeminiClient | None = None, *, emulator: bool | None = None) -> Flask:
    """The app, with one shared client (``client``, else :func:`example_client.make_client`)."""
    app = Flask(__name__)
    gemini = client if client is not None else make_client(emulator=emulator)
    app.extensions["gemini_client"] = gemini
    images = app.extensions["gemini_images"] = ImageStore()

    @app.get("/")
    def index() -> Response:
        return Response(INDEX_HTML, mimetype="text/html")

    @app.get("/stream")
    def stream_view() -> Response | tuple[dict[str, str], int]:
        prompt = request.args.get("prompt", "").strip()
        if not prompt:
            return {"error": "give a prompt: /stream?prompt=..."}, 400
        model = request.args.get("model") or None
        try:  # checks the prompt and the model name at once; nothing is sent yet
            stream = gemini.stream(prompt, **({"model": model} if model else {}))
        except ValueError as exc:  # e.g. an unknown ?model=
            return {"error": str(exc)}, 400

        def events() -> Iterator[str]:
            with stream:  # closed on every way out, including the client going away (GeneratorExit)
                try:
                    for chunk in stream:
                        yield sse(chunk_json(chunk, images))
                    output = stream.collect()
                    yield sse({"text": output.text, "thoughts": output.thoughts, "cid": output.cid}, "done")
                except errors.GeminiError as exc:
                    yield sse({"type": exc.__class__.__name__, "message": str(exc)}, "failure")

        return Response(
            events(),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},  # no proxy buffering
        )

    @app.get("/images/<image_id>")
    def image_view(image_id: str) -> Response | tuple[dict[str, str], int]:
        image = images.get(image_id)
        if image is None:
            return {"error": "no such image (only the app's recent answers' images are served)"}, 404
        try:
            data = image.read(timeout=30)
        except errors.GeminiError as exc:
            return {"error": f"the image could not be fetched: {exc}"}, 502
        return Response(data, mimetype=content_type(data), headers={"Cache-Control": "private, max-age=3600"})

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the SSE demo page.")
    parser.add_argument("--emulator", action="store_true", help="use the bundled emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    app = create_app(emulator=True if args.emulator else None)
    app.run(host=args.host, port=args.port, threaded=True)  # one thread per request, one shared client
    return 0


if __name__ == "__main__":
    sys.exit(main())
