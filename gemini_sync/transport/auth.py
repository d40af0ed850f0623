"""Where cookies come from, in order, and the error when none gives any.

Sources, first match wins: the ``secure_1psid``/``secure_1psidts``
arguments; the ``cookies=`` mapping; the environment variables
``GEMINI_SECURE_1PSID``/``GEMINI_SECURE_1PSIDTS``. Every value found is
registered with the log redactor so it can never be logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .. import _constants as C
from .._log import register_secret
from ..errors import AuthError

__all__ = ["resolve_cookies"]


def resolve_cookies(
    secure_1psid: str | None,
    secure_1psidts: str | None,
    cookies: Mapping[str, str] | None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The cookie set to use; :class:`AuthError` listing what was tried if none has a PSID."""
    env = os.environ if environ is None else environ
    jar: dict[str, str] = {}
    if cookies:
        for name, value in cookies.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("cookies must map cookie names to string values")
            jar[name] = value
    tried = []
    if secure_1psid:
        jar[C.PSID] = secure_1psid
        if secure_1psidts:
            jar[C.PSIDTS] = secure_1psidts
    tried.append("the secure_1psid argument")
    tried.append("the cookies= mapping")
    if not jar.get(C.PSID) and env.get(C.ENV_PSID):
        jar[C.PSID] = env[C.ENV_PSID]
        if env.get(C.ENV_PSIDTS) and C.PSIDTS not in jar:
            jar[C.PSIDTS] = env[C.ENV_PSIDTS]
    tried.append(f"the {C.ENV_PSID} environment variable")
    if not jar.get(C.PSID):
        raise AuthError(
            f"no {C.PSID} cookie found (tried: {', '.join(tried)}). Sign in to gemini.google.com "
            f"in a browser, copy the {C.PSID} and {C.PSIDTS} cookies, and pass them to "
            f"GeminiClient(...) or set {C.ENV_PSID} and {C.ENV_PSIDTS}."
        )
    for value in jar.values():
        register_secret(value)
    return jar
