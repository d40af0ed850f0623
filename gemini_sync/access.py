"""How a client gets its access: the cookies chosen (or none, for a guest), the session, rotation.

:func:`open_api` is the start of every :class:`~gemini_sync.GeminiClient`:
it resolves the cookies (:mod:`.transport.sources`; a ``cookies=`` callable
becomes the source asked again after a refusal), builds the
:class:`~.transport.session.Transport` and the
:class:`~.transport.auth.CookieRefresher`, and returns the
:class:`~.transport.api.Api` every call goes through. A guest has no cookies,
no refresher (nothing to rotate) and no cookie cache (:mod:`.guest`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from . import _constants as C
from ._config import UNSET
from .errors import AuthError
from .transport.api import Api
from .transport.auth import CookieRefresher, CookieSource
from .transport.retry import RetryPolicy
from .transport.rotation import CoordinatorFactory
from .transport.session import Transport
from .transport.sources import resolve_cookies

__all__ = ["Access", "open_api", "retry_policy_of"]


def retry_policy_of(retry: RetryPolicy | None, max_retries: Any) -> RetryPolicy:
    """The policy of ``retry=`` or ``max_retries=`` (``TypeError`` for both: one would be ignored)."""
    if retry is not None:
        if max_retries is not UNSET:
            raise TypeError("pass either retry=RetryPolicy(...) or max_retries=, not both")
        return retry
    if max_retries is UNSET:
        max_retries = C.DEFAULT_MAX_RETRIES
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ValueError("max_retries must be an integer >= 0")
    return RetryPolicy(max_retries)


@dataclass
class Access:
    """What :func:`open_api` chose: the Api, where the cookies came from, whether this is a guest."""

    api: Api
    cookie_source: str
    guest: bool


def _beat(api: Api) -> None:
    """One activity heartbeat (``ESY5D``), never retried."""
    from .protocol.startup import heartbeat_call  # loaded with the first heartbeat

    api.rpc([heartbeat_call()], policy=RetryPolicy(0))


def open_api(
    secure_1psid: str | None,
    secure_1psidts: str | None,
    cookies: Mapping[str, str] | CookieSource | None,
    *,
    guest: bool,
    base_url: str | None,
    proxy: str | None,
    timeout: Any,
    session: requests.Session | None,
    policy: RetryPolicy,
    auto_refresh: bool,
    refresh_interval: float,
    cookie_cache: bool,
    rotation: CoordinatorFactory | None = None,
    heartbeat: float | None = None,
) -> Access:
    """The client's :class:`Access` (see the module docstring); ``AuthError`` when no cookies are found."""
    if rotation is not None and not cookie_cache:
        raise ValueError("rotation= coordinates the cookie cache; it needs cookie_cache=True")
    if base_url is None:  # e.g. GEMINI_BASE_URL=http://127.0.0.1:8765 for a running emulator
        base_url = os.environ.get(C.ENV_BASE_URL) or None
    if guest:
        if secure_1psid or cookies:
            raise ValueError("guest=True uses no cookies: leave secure_1psid and cookies= out")
        transport = Transport(
            {}, base_url=base_url, proxy=proxy, timeout=timeout, session=session, guest=True
        )
        return Access(Api(transport, None, retry_policy=policy, auto_refresh=False), "guest", True)
    try:
        chosen = resolve_cookies(secure_1psid, secure_1psidts, cookies, use_cache=cookie_cache)
    except AuthError as exc:
        if base_url is None:
            raise
        raise AuthError(
            f"{exc} Against the emulator at {base_url} any non-empty value works, e.g. "
            f"{C.ENV_PSID}=test or cookies={{{C.PSID!r}: 'test'}}."
        ) from None
    transport = Transport(
        chosen.cookies,
        base_url=base_url,
        proxy=proxy,
        timeout=timeout,
        session=session,
        fallback_cookies=chosen.fallbacks,
    )
    # rotation is used by the background thread (auto_refresh) and by the one refresh after a 401
    refresher = CookieRefresher(
        transport,
        chosen.cookies[C.PSID],
        interval=refresh_interval,
        write_cache=cookie_cache,
        provider=chosen.provider,
        coordinator=rotation,
    )
    api = Api(transport, refresher, retry_policy=policy, auto_refresh=auto_refresh)
    if heartbeat is not None:  # off by default: its effect is unproven (docs/protocol.md 13.3)
        from .transport.heartbeat import Heartbeat  # loaded only when asked for

        api.heartbeat = Heartbeat(lambda: _beat(api), heartbeat)
    return Access(api, chosen.source, False)
