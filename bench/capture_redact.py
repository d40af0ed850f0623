"""Speed of capture redaction: a 5 MB StreamGenerate body against 10 secrets.

The body imitates a long answer: frames whose payloads (JSON inside the
frame's JSON) hold mixed ASCII, non-ASCII and emoji text and base64 blobs,
with each secret placed a few times in different encodings. It measures
:func:`redact_text` on the body alone, :func:`redact_capture` on a capture
holding it (e-mail search, redaction, ``fix_body``) and :func:`leaks` on the
final file text; each figure is the best of a few runs, patterns compiled once.

    python bench/capture_redact.py            # a small table
    python bench/capture_redact.py --json     # the same figures as JSON
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gemini_sync.capture.file import GENERATE, Capture, Exchange
from gemini_sync.capture.redact import Secret, leaks, redact_capture, redact_text
from gemini_sync.emulator.wire import framed_body

TARGET_BYTES = 5 * 1024 * 1024
SECRETS = 10
RUNS = 3
KINDS = ("cookie", "token", "fsid", "pushid", "account", "name")


def _secrets(rng: random.Random) -> list[Secret]:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+/:"
    return [
        Secret(KINDS[i % len(KINDS)], f"secret {i}", "".join(rng.choice(alphabet) for _ in range(20 + i * 3)))
        for i in range(SECRETS)
    ]


def _body(rng: random.Random, secrets: list[Secret]) -> str:
    words = ["Streaming ", "text ", "中文字符", "😀", "では ", "**bold** ", "`code` ", "\n", "a = b < c & d "]
    frames = []
    size = 0
    index = 0
    while size < TARGET_BYTES:
        text = "".join(rng.choice(words) for _ in range(400))
        blob = base64.b64encode(rng.randbytes(600)).decode()
        if index % 50 == 0:  # now and then a secret, in one of its encodings
            value = secrets[(index // 50) % len(secrets)].value
            text += [value, quote(value, safe=""), json.dumps(value)][index % 3]
            blob = base64.b64encode(rng.randbytes(index % 3) + value.encode() + rng.randbytes(9)).decode()
        payload = json.dumps([None, ["c_1", "r_1"], None, None, [["rc_1", [text, blob]]]])
        frames.append([["wrb.fr", None, payload]])
        size += len(payload.encode()) + 40
        index += 1
    return framed_body(frames).decode()


def _best(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rng = random.Random(24)
    secrets = _secrets(rng)
    body = _body(rng, secrets)
    started = time.perf_counter()
    redact_text("warm-up: compiles every pattern once", secrets)
    compile_seconds = time.perf_counter() - started
    exchange = Exchange(kind=GENERATE, method="POST", host="gemini.google.com", path="/x", body=body)
    exchange.reads = [[0.0, 1024], [1.0, len(body.encode())]]
    capture = Capture(turn={"prompt": "hello"}, exchanges=[exchange])
    redacted = redact_capture(capture, secrets)
    file_text = redacted.to_json()
    figures = {
        "body_mb": round(len(body.encode()) / 1e6, 2),
        "secrets": len(secrets),
        "compile_s": round(compile_seconds, 3),
        "redact_text_s": round(_best(lambda: redact_text(body, secrets)), 3),
        "redact_capture_s": round(_best(lambda: redact_capture(capture, secrets)), 3),
        "leaks_s": round(_best(lambda: leaks(file_text, secrets)), 3),
        "leaks_found": len(leaks(file_text, secrets)),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name:>18}  {value}")


if __name__ == "__main__":
    main()
