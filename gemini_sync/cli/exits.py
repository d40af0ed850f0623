"""Exit statuses of ``gemini-sync``: 0 ok, 1 local error (e.g. a file), 2 usage, 3 auth, 4 API error,
5 timeout or interrupted stream, 130 interrupted by Ctrl-C (the stream is closed first)."""

__all__ = [
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "EXIT_AUTH",
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_CTRL_C",
    "CommandFailed",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_API, EXIT_INTERRUPTED, EXIT_CTRL_C = 0, 1, 2, 3, 4, 5, 130


class CommandFailed(Exception):
    """A failure already worded for the command line's user, with its exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
