"""The `envkernels` command line: one module per command, this file only dispatches.

Data goes to stdout, messages to stderr; an error is ``error: ...`` then ``hint: ...``, never a
traceback. Exit codes: 0 fine, 1 findings at or above the threshold, 2 usage error or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from envkernels._version import __version__
from envkernels.cli.output import print_error
from envkernels.errors import EnvKernelsError

# Each module has `register(subparsers)`, which adds its parser and sets `func=run(args) -> int`.
COMMANDS: tuple[str, ...] = ("list", "check", "lock", "sync", "audit", "kernels", "doctor", "cleanup")


class _Parser(argparse.ArgumentParser):
    """argparse with docs/reference.md's error format (``error:``/``hint:``, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print_error(message, f"`{self.prog} --help` lists the options")
        raise SystemExit(2)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command's subparser, or with just ``only``'s.

    Importing one command's module is cheaper than importing all eight, and CLI start-up
    is part of every measured command (`check`, `sync`), so ``main`` asks for just the one.
    """
    parser = _Parser(prog="envkernels", description="Every Python environment a Jupyter kernel.")
    parser.add_argument("--version", action="version", version=f"envkernels {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if only is None else (only,):
        module = importlib.import_module(f"envkernels.cli.cmd_{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
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
