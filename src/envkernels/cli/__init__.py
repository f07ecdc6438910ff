"""The `envkernels` command line: one module per command, this file only dispatches.

Data goes to stdout, messages to stderr; an error is ``error: ...`` then ``hint: ...``, never a
traceback. Exit codes: 0 fine, 1 findings at or above the threshold, 2 usage error or bad input.
"""

from __future__ import annotations

import os
import sys

from envkernels.cli.output import print_error
from envkernels.errors import EnvKernelsError

TYPE_CHECKING = False  # argparse and typing are imported only past the cached-verdict fast path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

# Each module has `register(subparsers)`, which adds its parser and sets `func=run(args) -> int`.
COMMANDS: tuple[str, ...] = (
    "list",
    "check",
    "lock",
    "sync",
    "fork",
    "audit",
    "kernels",
    "doctor",
    "cleanup",
    "history",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command's subparser, or with just ``only``'s (``cli/parser.py``)."""
    from envkernels.cli.parser import build_parser as build

    return build(COMMANDS if only is None else (only,))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first == "check":
        from envkernels.cli.verdicts import answer

        code = answer(argv)  # the last verdict, when nothing it read has changed (cli/verdicts.py)
        if code is not None:
            return code
    parser = build_parser(only=first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except EnvKernelsError as exc:
        print_error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted", None)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # A file the user named cannot be read or written: say which, never a traceback.
        where = f" `{exc.filename}`" if exc.filename else ""
        print_error(f"{exc.strerror or exc}{where}", "check the path and its permissions")
        return 2
    except Exception as exc:
        if os.environ.get("ENVKERNELS_DEBUG"):
            raise
        print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "a bug in envkernels: run again with `ENVKERNELS_DEBUG=1` for the traceback and report it",
        )
        return 2
