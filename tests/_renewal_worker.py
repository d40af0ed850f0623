"""One worker process of the cross-process ``cookies=`` callable test (``python -m tests._renewal_worker``).

Arguments: the emulator's URL and the "secret store" file (JSON cookies) its
``cookies=`` callable reads. The cookie cache is ``GEMINI_COOKIE_PATH``. The
worker asks one question, prints ``ready``, waits for a line on stdin, asks
again and prints ``ok <renewals>`` (how often its callable was asked for fresh
cookies after a refusal) or ``error <type>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gemini_sync import GeminiClient, errors


def main(argv: list[str]) -> int:
    base_url, store = argv[0], Path(argv[1])
    client = GeminiClient(
        cookies=lambda: json.loads(store.read_text()), base_url=base_url, auto_refresh=False
    )
    client.generate_content("first")
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        client.generate_content("second")
    except errors.GeminiError as exc:
        print(f"error {exc.__class__.__name__}", flush=True)
        return 1
    refresher = client.api.refresher
    print(f"ok {refresher.renewals if refresher else -1}", flush=True)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
