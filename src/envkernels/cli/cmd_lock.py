"""`envkernels lock`: a PEP 751 pylock.toml of exactly what an environment has installed.

Default output: ``pylock.toml`` in the current directory (as ``pip lock`` does); ``-o -`` prints
the lock to stdout; ``--notebook NB`` writes it into the notebook's metadata instead (or as well,
with ``-o``). The summary and what is missing go to stderr.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `lock` parser."""
    p = sub.add_parser("lock", help="lock an environment into a pylock.toml (PEP 751)")
    p.add_argument(
        "target", nargs="?", metavar="TARGET", help="environment prefix, project directory, id or name"
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to write (default: ./pylock.toml; `-` for stdout)"
    )
    p.add_argument("--notebook", metavar="NB", help="write the lock into this notebook's metadata")
    p.add_argument("--no-hashes", action="store_true", help="do not ask the index for URLs and hashes")
    p.add_argument("--index-url", metavar="URL", help="the package index to take URLs and hashes from")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--progress", action="store_true", help="show progress on stderr even when it is not a terminal"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lock the target environment; exit 0 (2 on bad input)."""
    from envkernels import api
    from envkernels.cli.output import print_json, print_warning
    from envkernels.sync.progress import TerminalProgress

    env = api.resolve(args.target)
    progress = TerminalProgress() if (args.progress or sys.stderr.isatty()) else None
    try:
        result = api.lock(
            env,
            output=args.output,
            notebook=args.notebook,
            hashes=not args.no_hashes,
            index_url=args.index_url,
            progress=progress,
        )
    finally:
        if progress:
            progress.close()
    if args.output == "-":
        sys.stdout.write(result.text)
    if args.json:
        print_json(result.to_dict())
    for w in result.warnings:
        print_warning(w)
    for m in result.missing:
        print_warning(f"{m['name']} {m['version']}: {m['reason']}")
    for m in result.not_reproducible:
        print_warning(f"{m['name']} {m['version']} is not reproducible: {m['reason']}")
    for d in result.project_lock_differences:
        print_warning(d)
    print(result.summary(), file=sys.stderr)
    if result.backup:
        print(f"the previous lock is kept as `{result.backup}`", file=sys.stderr)
    return 0
