"""``gemini-sync doctor``: check what breaks real use, and print one fix per finding.

The checks, in order (a failure of the first two skips the rest, which need a
working session):

1. **network**: the app page loads (DNS, a refused connection, TLS, a proxy,
   the service's block page are told apart by the error's cause);
2. **cookies**: where they came from and how old the cached copy is; the
   page is signed in (a guest: no cookies, which is fine);
3. **clock**: our clock against the service's ``Date`` header;
4. **build label**: the age of the build label the page carries (an old one
   means a stale copy of the page, e.g. from a caching proxy);
5. **device-bound**: one cookie rotation: refused, or answered without a new
   value, means a copy of a device-bound session (docs/protocol.md 13);
6. **account**: the status code and abuse flags;
7. **usage**: the 5-hour and weekly windows and the extra-quota check;
8. **model**: which model answers a one-word prompt, against the one asked for.

Exit status 0 only when every check passes; ``--json`` prints one object.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .. import _constants as C
from .exits import EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ..client import GeminiClient
    from ..emulator import Emulator
    from .output import Screen

__all__ = ["Finding", "doctor", "run_checks", "MAX_SKEW", "MAX_LABEL_AGE_DAYS"]

MAX_SKEW = 120.0  # seconds of clock difference before it is reported
MAX_LABEL_AGE_DAYS = 60  # the service deploys several times a week
_DAY = 86400.0


@dataclass
class Finding:
    """One check: ``ok`` True (passed), False (failed) or None (skipped); what was found; the fix."""

    check: str
    ok: bool | None
    detail: str
    fix: str = ""


def _network_fix(message: str) -> str:
    lowered = message.lower()
    if "dns" in lowered:
        return "check the host name, your DNS resolver and that the machine is online"
    if "proxy" in lowered:
        return "check proxy= (or HTTPS_PROXY/HTTP_PROXY): its address, port and credentials"
    if "tls" in lowered or "certificate" in lowered:
        return "a proxy or antivirus intercepting HTTPS, or an old certificate store (pip install -U certifi)"
    if "refused" in lowered:
        return "nothing listens there: check the URL and port (for an emulator: is it running?)"
    return "check the network, the proxy and the URL; run again with -vv for details"


def _cookie_age(client: GeminiClient) -> str:
    from ..transport import cache

    if client.guest:
        return "guest: no cookies (the default model only, no history)"
    newest = cache.newest_cache(cache.cache_dir()) if client.cookie_source == "cookie cache" else None
    if newest is None:
        return f"from the {client.cookie_source}"
    minutes = (time.time() - newest.stat().st_mtime) / 60
    return f"from the cookie cache, written {minutes:.0f} min ago"


def _first_checks(client: GeminiClient) -> list[Finding]:
    from ..errors import APIError, AuthError, GeminiError

    try:
        client.init()
    except AuthError as exc:
        network = Finding("network", True, "the app page loads")
        fix = "copy fresh cookies from a browser signed in to gemini.google.com, or use --guest"
        return [network, Finding("cookies", False, f"{_cookie_age(client)}; {exc}", fix)]
    except APIError as exc:
        fix = "the service blocks this address for now (often 1-2 h): wait, or use another network"
        return [Finding("network", False, str(exc), fix)]
    except GeminiError as exc:
        return [Finding("network", False, str(exc), _network_fix(str(exc)))]
    where = client.base_url or "gemini.google.com"
    return [Finding("network", True, f"{where} answers"), Finding("cookies", True, _cookie_age(client))]


def _clock(client: GeminiClient) -> Finding:
    header = client.api.transport.date_header
    if not header:
        return Finding("clock", None, "the service sent no Date header")
    try:
        theirs = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return Finding("clock", None, f"unreadable Date header {header!r}")
    skew = time.time() - theirs
    detail = f"ours is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the service's"
    if abs(skew) <= MAX_SKEW:
        return Finding("clock", True, detail)
    return Finding("clock", False, detail, "set the clock right (turn on NTP time sync)")


def _build_label(client: GeminiClient) -> Finding:
    import datetime

    from ..protocol.app import build_date

    label = client.api.tokens().build_label
    found = build_date(label)
    if found is None:
        return Finding("build label", None, f"no date in the build label {label!r}")
    age = (time.time() - datetime.datetime(*found, tzinfo=datetime.timezone.utc).timestamp()) / _DAY
    detail = f"{label} ({age:.0f} days old)"
    if age <= MAX_LABEL_AGE_DAYS:
        return Finding("build label", True, detail)
    fix = "the app page is a stale copy: bypass any caching proxy, or report it if it persists"
    return Finding("build label", False, detail, fix)


def _bound(client: GeminiClient) -> Finding:
    from ..errors import GeminiError
    from ..transport.auth import BOUND_ADVICE

    refresher = client.api.refresher
    if refresher is None:
        return Finding("device-bound", True, "guest: no session to bind")
    try:
        rotated = refresher.rotate_now()
    except GeminiError as exc:
        rotated = False
        refresher.bound_sign = refresher.bound_sign or f"the rotation failed ({exc.__class__.__name__})"
    header = client.api.transport.bound_header
    if rotated and header is None:
        return Finding("device-bound", True, "the cookies rotate (not a device-bound copy)")
    why = refresher.bound_sign or f"the service sent Sec-Session-{header}"
    return Finding("device-bound", False, why, BOUND_ADVICE)


def _account(client: GeminiClient) -> Finding:
    status = client.account_status()
    abuse = status.abuse
    flagged = abuse is not None and not abuse.clean
    detail = str(status) + (f"; abuse flag {abuse.code} ({abuse.signal})" if flagged and abuse else "")
    if not status.usable:
        return Finding("account", False, detail, status.action)
    if flagged:
        return Finding("account", False, detail, "the account is flagged: use it less, and from one network")
    return Finding("account", True, detail)


def _usage(client: GeminiClient) -> Finding:
    if client.guest:
        return Finding("usage", True, "guest: limits are per network address (bursts of ~80-188 requests)")
    usage = client.usage()
    used = [w for w in usage.windows if w.used_percent is not None and w.used_percent >= 100]
    parts = [f"{w.name} {w.used_percent:.0f}% used" for w in usage.windows if w.used_percent is not None]
    detail = ", ".join(parts) or "no usage windows reported"
    if usage.check is not None and usage.check.blocked:
        return Finding("usage", False, detail + "; the quota check says blocked", "wait for the reset")
    if used:
        when = min((w.resets_at for w in used if w.resets_at), default=None)
        at = time.strftime("%H:%M", time.localtime(when)) if when else "its reset"
        return Finding("usage", False, detail, f"wait until {at}, or use a smaller model")
    return Finding("usage", True, detail)


def _model(client: GeminiClient, model: str | None) -> Finding:
    from ..errors import GeminiError, ModelDowngraded

    asked = model if model is not None else (None if client.guest else "flash")
    try:
        output = client.generate_content("Hi", model=asked, expect_model=asked is not None)
    except ModelDowngraded as exc:
        fix = "a quota is used up (see: gemini-sync usage), the session expired, or the account lacks it"
        return Finding("model", False, f"asked for {exc.requested}, answered by {exc.served}", fix)
    except GeminiError as exc:
        return Finding("model", False, f"a one-word prompt failed: {exc}", "run again with -vv for details")
    return Finding("model", True, f"{asked or 'the default'} answered as {output.model_name or 'unnamed'}")


def run_checks(client: GeminiClient, *, model: str | None = None) -> list[Finding]:
    """Every check against ``client`` (see the module docstring)."""
    from ..errors import GeminiError

    findings = _first_checks(client)
    steps: list[tuple[str, Callable[[GeminiClient], Finding]]] = [
        ("clock", _clock),
        ("build label", _build_label),
        ("device-bound", _bound),
        ("account", _account),
        ("usage", _usage),
        ("model", lambda c: _model(c, model)),
    ]
    if not all(f.ok for f in findings):
        return findings + [Finding(name, None, "skipped: no working session") for name, _ in steps]
    for name, step in steps:
        try:
            findings.append(step(client))
        except GeminiError as exc:
            findings.append(Finding(name, False, str(exc), "run again with -vv for details"))
    return findings


def _client(args: argparse.Namespace, emulator: Emulator | None) -> GeminiClient:
    from ..client import GeminiClient

    options = {"timeout": args.timeout, "max_retries": args.retries}
    if emulator is not None and not args.guest:
        return GeminiClient(cookies=emulator.cookies, base_url=emulator.url, cookie_cache=False, **options)
    base_url = emulator.url if emulator is not None else args.base_url or os.environ.get(C.ENV_BASE_URL)
    return GeminiClient(base_url=base_url or None, guest=args.guest, **options)


def doctor(args: argparse.Namespace, screen: Screen) -> int:
    """Run the checks and print them; the exit status (0: all passed)."""
    from ..errors import AuthError

    emulator = None
    try:
        if args.emulator:
            from ..emulator import Emulator

            emulator = Emulator(pace=0).start()
        try:
            client = _client(args, emulator)
        except AuthError as exc:
            fix = 'chat without an account: gemini-sync --guest "prompt"; or copy cookies (see the README)'
            findings = [Finding("cookies", False, str(exc).split(". ")[0], fix)]
        else:
            with client:
                findings = run_checks(client, model=args.model)
    finally:
        if emulator is not None:
            emulator.stop()
    passed = all(f.ok is not False for f in findings) and any(f.ok for f in findings)
    if args.json:
        screen.write(json.dumps({"ok": passed, "checks": [asdict(f) for f in findings]}) + "\n")
    else:
        for finding in findings:
            mark = {True: "ok  ", False: "FAIL", None: "skip"}[finding.ok]
            screen.write(f"{mark}  {finding.check}: {finding.detail}\n")
            if finding.fix and finding.ok is False:
                screen.write(f"      fix: {finding.fix}\n")
    return EXIT_OK if passed else EXIT_ERROR
