"""Where the service's endpoints are: the real hosts, or every path under one ``base_url`` (an emulator)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import _constants as C

__all__ = ["Endpoints"]


class Endpoints:
    """Absolute URLs of the service's endpoints, or all under one ``base_url``."""

    def __init__(self, base_url: str | None = None) -> None:
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"base_url must be an http(s) URL such as http://127.0.0.1:8765, not {base_url!r}"
                )
            root = base_url.rstrip("/")
            self.app = root + C.APP_PATH
            self.home = root + C.HOME_PATH
            self.rotate = root + C.ROTATE_COOKIES_PATH
            self.upload = root + C.UPLOAD_PATH
            self.hosts = frozenset({parts.hostname or ""})
            self.cookie_domain = parts.hostname or ""
            self.secure = parts.scheme == "https"
        else:
            self.app = C.GEMINI_ORIGIN + C.APP_PATH
            self.home = C.HOME_URL  # a signed-out visitor's first page (its anonymous cookies)
            self.rotate = C.ROTATE_COOKIES_URL
            self.upload = C.UPLOAD_URL
            self.hosts = frozenset(
                {"gemini.google.com", "accounts.google.com", "content-push.googleapis.com"}
            )
            self.cookie_domain = ".google.com"  # where the cookie cache files them
            self.secure = True
        self.base_url = base_url

    def for_path(self, path: str) -> str:
        root = self.base_url.rstrip("/") if self.base_url else C.GEMINI_ORIGIN
        return root + path

    def origins(self) -> list[str]:
        """URL prefixes of the service's hosts (where the abortable adapter is mounted)."""
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            return [f"{parts.scheme}://{parts.netloc}"]
        return [f"https://{host}" for host in sorted(self.hosts)]
