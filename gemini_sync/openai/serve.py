"""``gemini-sync serve``: the OpenAI-compatible app on a production WSGI server (waitress).

Why waitress: it is a well-kept, pure-Python production server (the Pylons
project) that runs alike on Linux, macOS and Windows (gunicorn does not run on
Windows); it hands each chunk the app yields to the socket at once, so
Server-Sent Events are not buffered (``tests/e2e/test_openai_serve.py`` proves
the first event arrives before the stream ends); and it accepts a listening
socket made elsewhere, so ``--workers N`` shares one socket among N processes
on every platform (the standard library pickles a socket to a spawned child,
by descriptor on POSIX and ``socket.share()`` on Windows). Each worker has a
pool of ``--threads`` threads; with more than one worker the conversations
live in an SQLite file (WAL) that all of them share.

:func:`add_arguments` sets up the parser and :func:`run` runs it; the command
line calls them, and ``python -m gemini_sync.openai.serve`` works too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pathlib
import socket
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["DESCRIPTION", "add_arguments", "run", "main", "make_server", "Server", "ENV_API_KEYS"]

#: what ``gemini-sync serve --help`` says first
DESCRIPTION = (
    "Serve an OpenAI-compatible API on the Gemini web app (or, with --emulator, on the bundled "
    "emulator): GET /v1/models, POST /v1/chat/completions (streamed or not), POST /v1/responses. "
    "Point any OpenAI client at http://HOST:PORT/v1 with one of the --api-key values."
)

#: API keys (comma-separated) when no ``--api-key`` is given
ENV_API_KEYS = "GEMINI_SYNC_API_KEYS"
_DEFAULT_PORT = 8000
_DEFAULT_THREADS = 16
_STOP_TIMEOUT = 5.0


def add_arguments(parser: argparse.ArgumentParser, *, connection: bool = True) -> None:
    """The options of ``serve``; ``connection=False`` leaves out ``--emulator``/``--base-url``/``--pace``
    (for a parser that already has them from shared options)."""
    if connection:
        parser.add_argument("--emulator", action="store_true", help="serve a bundled emulator (no account)")
        parser.add_argument("--base-url", default=None, help="send every request under this URL")
        parser.add_argument(
            "--pace", type=float, default=0.02, help="with --emulator: seconds between frames"
        )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=_DEFAULT_PORT, help="port to listen on (0: any free one)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes sharing the socket")
    parser.add_argument("--threads", type=int, default=_DEFAULT_THREADS, help="threads per worker")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        default=None,
        help=f"a key clients must send (repeatable; default: ${ENV_API_KEYS}, else no key is checked)",
    )
    parser.add_argument("--store", default=None, help="SQLite file for conversations (default: in memory)")
    parser.add_argument("--max-concurrent", type=int, default=4, help="requests at once per API key")


class Server:
    """A waitress server of an app on listening sockets: :meth:`run` serves, :meth:`stop` ends it.

    Waitress closes only its listening socket on ``close()`` when given one
    socket, and its loop goes on while kept-alive connections stay open; this
    owns the loop's socket map, so :meth:`stop` closes every connection and
    the loop ends (within waitress's one-second poll).
    """

    def __init__(self, app: Any, sockets: Sequence[socket.socket], threads: int, poll: float = 1.0) -> None:
        from waitress.server import create_server

        self._map: dict[int, Any] = {}
        self._server: Any = create_server(
            app,
            map=self._map,
            sockets=list(sockets),
            threads=threads,
            ident="gemini-sync",
            asyncore_loop_timeout=poll,
        )

    def run(self) -> None:
        """Serve until :meth:`stop` (blocks)."""
        self._server.run()

    def stop(self) -> None:
        """Stop accepting, close every connection, end the worker threads. Safe from any thread."""
        from waitress import wasyncore

        def close_all() -> None:  # in the loop's own thread: no socket is closed under its select()
            wasyncore.close_all(self._map, ignore_all=True)

        trigger = getattr(self._server, "trigger", None)
        if trigger is not None and not getattr(trigger, "_closed", False):
            trigger.pull_trigger(close_all)
        else:
            close_all()
        self._server.task_dispatcher.shutdown(timeout=_STOP_TIMEOUT)


def make_server(
    app: Any, *, sockets: Sequence[socket.socket], threads: int = _DEFAULT_THREADS, poll: float = 1.0
) -> Server:
    """A waitress :class:`Server` of ``app`` on already listening ``sockets``.

    ``poll`` is how long waitress's loop waits for I/O at most: how soon it notices :meth:`Server.stop`.
    """
    return Server(app, sockets, threads, poll)


def _api_keys(args: argparse.Namespace) -> list[str] | None:
    if args.api_keys:
        return list(args.api_keys)
    env = [k.strip() for k in os.environ.get(ENV_API_KEYS, "").split(",") if k.strip()]
    return env or None


def _serve(sock: socket.socket, config: dict[str, Any], stop: threading.Event | None = None) -> None:
    """One worker: a client, the app and a waitress server on ``sock``, until stopped (or ``stop`` is set)."""
    from ..client import GeminiClient
    from . import make_app
    from .conversations import SqliteStore

    client = GeminiClient(cookies=config["cookies"], base_url=config["base_url"])
    store = SqliteStore(config["store"]) if config["store"] else None
    app = make_app(client, api_keys=config["api_keys"], store=store, max_concurrent=config["max_concurrent"])
    server = make_server(app, sockets=[sock], threads=config["threads"])
    try:
        if stop is None:
            server.run()
        else:
            thread = threading.Thread(target=server.run, name="gemini-sync-serve", daemon=True)
            thread.start()
            stop.wait()
    finally:
        server.stop()
        client.close()


def run(args: argparse.Namespace, *, out: IO[str] | None = None, stop: threading.Event | None = None) -> int:
    """Serve until interrupted (or until ``stop`` is set); returns the exit status."""
    out = out or sys.stderr
    if args.workers < 1 or args.threads < 1:
        out.write("--workers and --threads must be at least 1\n")
        return 2
    emulator = None
    cookies = None
    base_url = args.base_url
    if args.emulator:
        from ..emulator import Emulator

        emulator = Emulator(pace=args.pace).start()
        cookies, base_url = emulator.cookies, emulator.url
    store = args.store
    scratch = None
    if store is None and args.workers > 1:  # the workers must share the conversations
        scratch = tempfile.TemporaryDirectory(prefix="gemini-sync-serve-")
        store = str(pathlib.Path(scratch.name) / "conversations.sqlite3")
    config = {
        "cookies": cookies,
        "base_url": base_url,
        "api_keys": _api_keys(args),
        "store": store,
        "threads": args.threads,
        "max_concurrent": args.max_concurrent,
    }
    sock = socket.create_server((args.host, args.port), backlog=1024)
    host, port = sock.getsockname()[:2]
    keys = "off" if config["api_keys"] is None else f"{len(config['api_keys'])} key(s)"
    out.write(f"gemini-sync serve: http://{host}:{port}/v1 ({args.workers} worker(s), API keys {keys})\n")
    if emulator is not None:
        out.write(f"  answering from the bundled emulator at {emulator.url}\n")
    out.flush()
    processes: list[Any] = []
    try:
        if args.workers == 1:
            _serve(sock, config, stop)
        else:
            context = multiprocessing.get_context("spawn")
            for _ in range(args.workers):
                process = context.Process(target=_serve, args=(sock, config), daemon=True)
                process.start()
                processes.append(process)
            if stop is not None:
                stop.wait()
            else:
                for process in processes:
                    process.join()
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
            process.join(5)
        sock.close()
        if emulator is not None:
            emulator.stop()
        if scratch is not None:
            scratch.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gemini_sync.openai.serve [options]``."""
    parser = argparse.ArgumentParser(prog="gemini-sync serve", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
