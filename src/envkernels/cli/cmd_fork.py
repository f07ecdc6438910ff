"""`envkernels fork SHARED_ENV [DEST]`: your own environment, made from another one's exact lock.

Meant for shared (read-only) team environments, which ``sync`` refuses to change; works on any
environment. See :mod:`envkernels.sync.fork` for where DEST defaults to and what is written.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `fork` parser."""
    p = sub.add_parser("fork", help="make your own environment from another one's exact lock")
    p.add_argument("source", metavar="SHARED_ENV", help="the environment to copy: an id, name or prefix")
    p.add_argument(
        "dest",
        nargs="?",
        metavar="DEST",
        help="where to create it (default: ~/.local/share/envkernels/envs/<name>-fork, "
        "or $ENVKERNELS_FORK_DIR/<name>-fork)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--progress", action="store_true", help="show progress on stderr even when it is not a terminal"
    )
    p.add_argument(
        "--allow-direct-sources",
        action="store_true",
        help="also copy packages installed from local directories, VCS repositories or URLs",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fork; exit 0, 2 on bad input or a failed step."""
    from envkernels import api
    from envkernels.cli.output import print_json, print_warning
    from envkernels.sync.progress import TerminalProgress

    source = api.resolve(args.source)
    policy = api.source_policy(
        allow_direct_sources=args.allow_direct_sources,
        hint="`--allow-direct-sources` copies them as the source environment has them",
    )
    progress = TerminalProgress() if (args.progress or sys.stderr.isatty()) else None
    try:
        result = api.fork(source, args.dest, progress=progress, policy=policy)
    finally:
        if progress:
            progress.close()
    for w in result.warnings or ():
        print_warning(w)
    if args.json:
        print_json(result.to_dict())
    print(result.summary(), file=sys.stderr)
    if result.kernelspec:
        print(
            f"kernel `{result.environment.kernel_name}` installed in `{result.kernelspec}`", file=sys.stderr
        )
    elif result.kernel_note:
        print_warning(result.kernel_note)
    return 0
