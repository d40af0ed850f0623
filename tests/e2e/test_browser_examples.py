"""The Flask example in a real headless browser: the page streams, a generated image shows, Stop stops.

A visitor's browser has none of the account's cookies: the page must show
images through the app (``/images/<id>`` from ``image.read()``), never by the
image host's URL. The app runs on a real socket against the emulator; the
waits are bounded waits on the page's own state (WebDriverWait), never sleeps.
"""

from __future__ import annotations

import pathlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from tests._support.chromium import chromium_driver

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
WAIT = 20.0

# counts the page's updates of the answer while it streams (each EventSource message appends)
_COUNT_UPDATES = """
window.updates = 0;
new MutationObserver(() => { window.updates += 1; })
    .observe(document.getElementById("answer"), {childList: true, characterData: true, subtree: true});
"""


@pytest.fixture
def flask_app(client: GeminiClient) -> Iterator[str]:
    """The Flask example's app on a real socket (werkzeug, threaded), its URL; stopped afterwards."""
    from werkzeug.serving import make_server

    sys.path.insert(0, str(EXAMPLES))
    try:
        import flask_sse

        app = flask_sse.create_app(client)
    finally:
        sys.path.remove(str(EXAMPLES))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="flask-example", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def page(flask_app: str) -> Iterator[Any]:
    with chromium_driver() as driver:
        driver.get(flask_app)
        yield driver


def _ask(driver: Any, prompt: str) -> None:
    from selenium.webdriver.common.by import By

    driver.execute_script(_COUNT_UPDATES)
    box = driver.find_element(By.ID, "prompt")
    box.clear()
    box.send_keys(prompt)
    driver.find_element(By.CSS_SELECTOR, "#ask button:not([type=button])").click()


def _wait(driver: Any, script: str, message: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.02).until(lambda d: d.execute_script(script), message)


@pytest.mark.gemini_emulator(pace=0.03)
def test_the_page_streams_the_answer_and_shows_the_generated_image(page: Any, emu: Emulator) -> None:
    _ask(page, "Generate an image of a cat")
    _wait(
        page, "return document.getElementById('status').textContent === 'done'", "the answer never finished"
    )
    assert page.execute_script("return document.getElementById('answer').textContent").startswith("Here is")
    assert page.execute_script("return window.updates") > 1  # several pieces, not one block at the end
    _wait(page, "const i = document.querySelector('#images img'); return i && i.complete", "no image loaded")
    image = page.execute_script(
        "const i = document.querySelector('#images img');"
        "return {src: i.getAttribute('src'), width: i.naturalWidth, height: i.naturalHeight};"
    )
    assert image["src"].startswith("/images/") and "googleusercontent" not in image["src"]
    assert image["width"] > 0 and image["height"] > 0  # decoded by the browser: real image bytes
    # the bytes came through the app's client (the browser never asked the image host)
    assert [r for r in emu.requests if r.path.startswith("/images/")]


@pytest.mark.gemini_emulator(pace=0.15)
def test_stop_stops_the_stream_upstream(page: Any, emu: Emulator) -> None:
    from selenium.webdriver.common.by import By

    emu.script("Tell me a long story", text="Once upon a time " * 60, chunks=40)
    _ask(page, "Tell me a long story")
    _wait(page, "return document.getElementById('answer').textContent.length > 0", "no text arrived")
    page.find_element(By.ID, "stop").click()
    assert emu.wait_for_disconnect(timeout=WAIT)  # the app closed its upstream stream
    assert page.execute_script("return document.getElementById('status').textContent") == "stopped"
    shown = page.execute_script("return document.getElementById('answer').textContent")
    assert 0 < len(shown) < len("Once upon a time " * 60)


def test_an_unknown_image_id_is_a_404_and_no_url_is_fetched(flask_app: str, emu: Emulator) -> None:
    import requests

    before = len(emu.requests)
    answer = requests.get(flask_app + "images/not-an-id-this-app-gave", timeout=10)
    assert answer.status_code == 404 and "no such image" in answer.json()["error"]
    assert requests.get(flask_app + "images/https%3A%2F%2Fexample.com%2Fx.png", timeout=10).status_code == 404
    assert len(emu.requests) == before  # nothing was fetched for the visitor
