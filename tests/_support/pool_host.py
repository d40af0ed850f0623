"""One "host" of the multi-host tests (``python -m tests._support.pool_host``): a pool on Redis.

Arguments: the Redis URL, the refresh interval, the pause between requests,
the rotation lock's timeout, then one emulator URL per account. The host's
cookie cache is ``GEMINI_COOKIE_PATH`` (each host its own). It makes one
client per account whose cookie rotation goes through
``RedisState(..., secret_key=...).rotation``, puts them in an
:class:`AccountPool` whose state is the same :class:`RedisState`, and asks a
question after every pause until its stdin closes, printing ``ok <n>`` or
``error <type> <n>`` (flushed at once). Its requests carry ``X-Worker-Pid``.
With ``TEST_POOL_HOST_LOG=1`` in the environment the library's log (debug)
goes to stderr, each line with its time and the host's pid.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from gemini_sync import GeminiClient, errors
from gemini_sync._constants import PSID, PSIDTS
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.answers import default_answer
from gemini_sync.pool import AccountPool, LocalState, Member, RedisState
from gemini_sync.transport import cache

SECRET = "tests-only secret key of the multi-host pool"


def psid_of(index: int) -> str:
    """The ``__Secure-1PSID`` of account ``index`` (its emulator is started with it)."""
    return f"host-test-psid-{index}"


def main(argv: list[str]) -> int:
    redis_url, interval, pause, lock_timeout = argv[0], float(argv[1]), float(argv[2]), float(argv[3])
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    if os.environ.get("TEST_POOL_HOST_LOG"):  # the library's log on stderr, each line naming the host
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"%(created).3f host {os.getpid()} %(message)s"))
        logging.getLogger("gemini_sync").addHandler(handler)
        logging.getLogger("gemini_sync").setLevel(logging.DEBUG)
    state = RedisState(
        redis_url,
        secret_key=SECRET,
        lock_timeout=lock_timeout,
        sync_interval=0.02,
        retry_interval=0.2,
        fallback=LocalState(cache.cache_dir()),
    )
    members = []
    for index, url in enumerate(argv[4:]):
        cookies = {PSID: psid_of(index), PSIDTS: Emulator.PSIDTS}
        client = GeminiClient(
            cookies=cookies, base_url=url, refresh_interval=interval, max_retries=0, rotation=state.rotation
        )
        client.session.headers["X-Worker-Pid"] = str(os.getpid())
        members.append(Member(client, name=f"account-{index}"))
    pool = AccountPool(members, state=state, strategy="round_robin", usage_interval=None)
    print("ready", flush=True)
    n = 0
    while not stop.is_set():
        prompt = f"host {os.getpid()} question {n}"
        try:
            text = pool.generate_content(prompt).text
            print(f"ok {n}" if text == default_answer(prompt).text else f"error WrongText {n}", flush=True)
        except errors.GeminiError as exc:
            print(
                f"error {exc.__class__.__name__} {n} {getattr(exc, 'reasons', '')} {str(exc)[:160]!r}",
                flush=True,
            )
        n += 1
        stop.wait(pause)
    pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
