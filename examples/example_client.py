"""How every example gets its one shared GeminiClient: a running emulator, the bundled one, or Gemini.

Not an example by itself; the examples import it (``python examples/<name>.py``
puts this folder on ``sys.path``). The choice, in order:

* ``base_url`` argument or ``GEMINI_BASE_URL=http://127.0.0.1:8765`` - every
  request goes there, e.g. to an emulator started with
  ``gemini-sync emulator --port 8765``. Cookies come from
  ``GEMINI_SECURE_1PSID`` / ``GEMINI_SECURE_1PSIDTS`` if set, else the
  emulator's default ones (which any emulator without ``--psid`` accepts).
  ``GEMINI_REFRESH_INTERVAL=<seconds>`` turns cookie rotation and the cookie
  cache on (``GEMINI_COOKIE_PATH``), as in a deployment.
* ``emulator=True`` (the examples' ``--emulator`` flag) or ``GEMINI_EMULATOR=1`` -
  start the bundled emulator inside this process; no account needed.
* otherwise the real gemini.google.com, with cookies from the environment,
  the cookie cache or the browser (see the README).

A client is made once per process (or per app) and shared by every thread:
``GeminiClient`` is thread-safe, and each stream has its own connection.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator

__all__ = ["make_client", "wants_emulator"]


def wants_emulator(flag: bool | None = None) -> bool:
    """``flag`` if given, else whether ``GEMINI_EMULATOR`` is set to a true value."""
    if flag is not None:
        return flag
    return os.environ.get("GEMINI_EMULATOR", "").strip().lower() in ("1", "true", "yes", "on")


def make_client(
    *,
    base_url: str | None = None,
    emulator: bool | None = None,
    pace: float = 0.02,
    **options: Any,
) -> GeminiClient:
    """A client for ``base_url`` / ``GEMINI_BASE_URL``, else the bundled emulator if asked, else Gemini.

    ``pace`` is the bundled emulator's pause between frames (seconds); ``options``
    go to :class:`GeminiClient` (e.g. ``timeout=``). A bundled emulator stops when
    the process exits.
    """
    base_url = base_url or os.environ.get("GEMINI_BASE_URL") or None
    if base_url:
        cookies = {
            "__Secure-1PSID": os.environ.get("GEMINI_SECURE_1PSID") or Emulator.PSID,
            "__Secure-1PSIDTS": os.environ.get("GEMINI_SECURE_1PSIDTS") or Emulator.PSIDTS,
        }
        # GEMINI_REFRESH_INTERVAL=<seconds>: rotate cookies through the shared cache (a deployment test)
        interval = os.environ.get("GEMINI_REFRESH_INTERVAL")
        rotation: dict[str, Any] = {"auto_refresh": False, "cookie_cache": False}
        if interval:
            rotation = {"refresh_interval": float(interval)}
        return GeminiClient(cookies=cookies, base_url=base_url, **{**rotation, **options})
    if wants_emulator(emulator):
        emu = Emulator(pace=pace).start()
        atexit.register(emu.stop)
        return GeminiClient(
            cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False, **options
        )
    return GeminiClient(**options)
