"""Errors envkernels raises: each carries a one-line message and, where a fix is known, a hint.

Only the CLI (and the server handlers) turn these into exit codes, ``error:``/``hint:`` lines
or HTTP statuses; the core raises them and never prints.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: imported by every CLI start
if TYPE_CHECKING:
    from collections.abc import Sequence


class EnvKernelsError(Exception):
    """Base error: ``message`` says what is wrong, ``hint`` what fixes it (or None)."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(EnvKernelsError):
    """The user asked for something that cannot be done as asked (exit code 2, HTTP 400)."""


class BadInputError(EnvKernelsError, ValueError):
    """A file the user owns (lockfile, pyproject, notebook, advisory) cannot be read as needed."""


class NotFoundError(EnvKernelsError, LookupError):
    """A target, environment or file that does not exist (HTTP 404)."""


class ConflictError(EnvKernelsError):
    """The operation conflicts with the current state (another sync running, HTTP 409)."""


class CommandError(EnvKernelsError):
    """A subprocess (uv, an interpreter) failed: carries its argv, exit code and stderr."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int,
        stderr: str,
        hint: str | None = None,
    ) -> None:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        super().__init__(f"`{argv[0]}` exited with {returncode}: {last}", hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
