"""The CLI's argument parser: argparse with docs/reference.md's error format, one subparser per command.

Apart from ``cli/__init__.py`` so that a ``check`` answered from its cached verdict
(``cli/verdicts.py``) never imports argparse.
"""

from __future__ import annotations

import argparse
import importlib

from envkernels._version import __version__
from envkernels.cli.output import print_error


class _Parser(argparse.ArgumentParser):
    """argparse with docs/reference.md's error format (``error:``/``hint:``, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print_error(message, f"`{self.prog} --help` lists the options")
        raise SystemExit(2)


def build_parser(commands: tuple[str, ...]) -> argparse.ArgumentParser:
    """The parser with the subparsers of ``commands`` (``cli/__init__.py``'s list, or just one).

    Importing one command's module is cheaper than importing all of them, and CLI start-up
    is part of every measured command (`check`, `sync`), so ``main`` asks for just the one.
    """
    parser = _Parser(prog="envkernels", description="Every Python environment a Jupyter kernel.")
    parser.add_argument("--version", action="version", version=f"envkernels {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in commands:
        module = importlib.import_module(f"envkernels.cli.cmd_{name}")
        module.register(sub)
    return parser
