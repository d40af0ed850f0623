"""One worker process of the multi-process rotation tests (``python -m tests._rotation_worker``).

Arguments: the emulator's URL, the refresh interval and the pause between
requests (seconds). The cookie cache is ``GEMINI_COOKIE_PATH``. The worker
makes one client, as a gunicorn or Celery worker would, and asks it a
question after every pause until its stdin closes. It prints ``ok <n>`` after
each correct answer and ``error <type>`` after each failure, flushed at once;
its requests carry ``X-Worker-Pid`` so a test can tell who sent what.
"""

from __future__ import annotations

import os
import sys
import threading

from gemini_sync import GeminiClient, errors
from gemini_sync._constants import PSID, PSIDTS
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.answers import default_answer


def main(argv: list[str]) -> int:
    base_url, interval, pause = argv[0], float(argv[1]), float(argv[2])
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    cookies = {PSID: Emulator.PSID, PSIDTS: Emulator.PSIDTS}
    client = GeminiClient(cookies=cookies, base_url=base_url, refresh_interval=interval, max_retries=0)
    client.session.headers["X-Worker-Pid"] = str(os.getpid())
    n = 0
    while not stop.is_set():
        prompt = f"worker {os.getpid()} question {n}"
        try:
            text = client.generate_content(prompt).text
            print(f"ok {n}" if text == default_answer(prompt).text else f"error WrongText {n}", flush=True)
        except errors.GeminiError as exc:
            print(f"error {exc.__class__.__name__} {n}", flush=True)
        n += 1
        stop.wait(pause)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
