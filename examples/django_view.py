"""Django in one file: a StreamingHttpResponse fed by ``client.stream(...)``.

Run it against the bundled emulator (no account needed)::

    GEMINI_EMULATOR=1 python examples/django_view.py runserver 8000

then ``curl -N 'http://127.0.0.1:8000/stream?prompt=hello'`` (the text arrives as
it is generated) or ``curl 'http://127.0.0.1:8000/answer?prompt=hello'`` (JSON).
A missing prompt or an unknown ``model=`` is a 400 with a JSON ``{"error": ...}``.
``/answer`` lists the answer's images as links to ``/images/<id>``, which this
app serves itself from ``image.read()`` (a browser has no account cookies; see
``image_store.py``).
``GEMINI_BASE_URL=http://127.0.0.1:8765`` points it at a running emulator;
with neither variable it talks to gemini.google.com with your cookies.

In a real project the views and ``get_client()`` go in an app's ``views.py``;
the client is created once per process, on first use, and shared by every
request thread. ``StreamingHttpResponse`` closes its iterator when the
response is closed (the client went away, or it is done), which closes the
generator and, through its ``with stream:`` block, the upstream connection.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="only-for-this-example",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        USE_TZ=True,
    )
    django.setup()

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from example_client import make_client
from image_store import ImageStore, content_type

from gemini_sync import GeminiClient, errors

_client: GeminiClient | None = None
_client_lock = threading.Lock()
_images = ImageStore()


def get_client() -> GeminiClient:
    """The process's one client, made on first use (see ``example_client.make_client``)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = make_client()
        return _client


def close_client() -> None:
    """Close the shared client (a new one is made on next use)."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def _asked(request: HttpRequest) -> tuple[str, str | None]:
    """The ``prompt`` and optional ``model`` query parameters."""
    return request.GET.get("prompt", "").strip(), request.GET.get("model") or None


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def stream_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """``GET /stream?prompt=...[&model=...]``: the answer as plain text, streamed as it is generated."""
    prompt, model = _asked(request)
    if not prompt:
        return _bad_request("give a prompt: /stream?prompt=...")
    try:  # checks the model name at once; lazy: nothing is sent until Django iterates
        stream = get_client().stream(prompt, **({"model": model} if model else {}))
    except ValueError as exc:  # an unknown model
        return _bad_request(str(exc))

    def body() -> Iterator[str]:
        with stream:  # every way out closes the upstream connection
            try:
                for chunk in stream:
                    if chunk.delta_text:
                        yield chunk.delta_text
            except errors.GeminiError as exc:  # headers are gone already: say it in the body
                yield f"\n[error: {exc.__class__.__name__}: {exc}]\n"

    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # ask nginx not to buffer
    return response


def answer_view(request: HttpRequest) -> JsonResponse:
    """``GET /answer?prompt=...[&model=...]``: the whole answer as JSON, with an HTTP status for errors."""
    prompt, model = _asked(request)
    if not prompt:
        return _bad_request("give a prompt: /answer?prompt=...")
    try:
        output = get_client().generate_content(prompt, **({"model": model} if model else {}))
    except ValueError as exc:  # an unknown model
        return _bad_request(str(exc))
    except errors.UsageLimitExceeded as exc:
        return JsonResponse({"error": str(exc), "type": "UsageLimitExceeded"}, status=429)
    except errors.GeminiError as exc:
        return JsonResponse({"error": str(exc), "type": exc.__class__.__name__}, status=502)
    links = [{"url": f"/images/{_images.add(image)}", "alt": image.alt} for image in output.images]
    return JsonResponse(
        {"text": output.text, "thoughts": output.thoughts, "cid": output.cid, "images": links}
    )


def image_view(request: HttpRequest, image_id: str) -> HttpResponse:
    """``GET /images/<id>``: an image of a recent answer, with the content type its bytes say."""
    image = _images.get(image_id)
    if image is None:
        return JsonResponse({"error": "no such image"}, status=404)
    try:
        data = image.read(timeout=30)
    except errors.GeminiError as exc:
        return JsonResponse({"error": f"the image could not be fetched: {exc}"}, status=502)
    return HttpResponse(data, content_type=content_type(data))


urlpatterns = [
    path("stream", stream_view),
    path("answer", answer_view),
    path("images/<str:image_id>", image_view),
]


if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
