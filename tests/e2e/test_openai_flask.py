"""The OpenAI app mounted inside a Flask app (under ``/openai``), served by waitress, used by ``openai``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import openai
import pytest
import requests
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.openai import make_app
from tests.e2e._openai_server import served

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def site(gemini_client_factory: Callable[..., GeminiClient]) -> Iterator[str]:
    flask_app = Flask("site")

    @flask_app.get("/")
    def home() -> str:
        return "the site's own page"

    mounted = DispatcherMiddleware(
        flask_app.wsgi_app, {"/openai": make_app(gemini_client_factory(), api_keys=["sk-f"])}
    )
    flask_app.wsgi_app = mounted  # type: ignore[method-assign]
    with served(flask_app) as url:
        yield url


def test_mounted_in_flask_streams_and_keeps_the_conversation(site: str, gemini_emulator: Emulator) -> None:
    assert requests.get(site + "/", timeout=10).text == "the site's own page"
    client = openai.OpenAI(base_url=site + "/openai/v1", api_key="sk-f", max_retries=0, timeout=20)
    gemini_emulator.script("Hi", text="Hello from the web app, in several pieces.", chunks=6)
    stream = client.chat.completions.create(
        model="gemini-3.6-flash", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1 and "".join(pieces) == "Hello from the web app, in several pieces."
    answer = client.chat.completions.create(
        model="gemini-3.6-flash",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "".join(pieces)},
            {"role": "user", "content": "Generate an image of a lighthouse"},
        ],
    )
    assert [r.prompt for r in gemini_emulator.generate_requests][1] == "Generate an image of a lighthouse"
    assert len(gemini_emulator.conversations) == 1
    (link,) = re.findall(r"\]\(([^)]+)\)", answer.choices[0].message.content or "")
    assert link.startswith(site + "/openai/v1/files/")  # the link knows where the app is mounted
    image = requests.get(link, timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")


def test_mounted_errors_keep_their_shape(site: str) -> None:
    client = openai.OpenAI(base_url=site + "/openai/v1", api_key="sk-wrong", max_retries=0, timeout=10)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
