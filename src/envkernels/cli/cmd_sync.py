"""`envkernels sync LOCK`: show (default) or carry out (`--yes`) the plan making an environment match LOCK.

``--create`` builds a fresh environment beside the notebook (or at ``--target``) and syncs it
from the lock; creating implies applying.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envkernels.sync.apply import SourcePolicy


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sync` parser."""
    p = sub.add_parser("sync", help="make an environment match a lock (dry run unless --yes)")
    p.add_argument(
        "lock",
        metavar="LOCK",
        help="pylock.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock, "
        "pinned requirements, or a notebook carrying a lock",
    )
    p.add_argument(
        "--target", metavar="TARGET", help="the environment to sync (default: as for other commands)"
    )
    p.add_argument("--dry-run", action="store_true", help="only show the plan (the default without --yes)")
    p.add_argument("--yes", "--apply", action="store_true", dest="yes", help="carry the plan out")
    p.add_argument("--json", action="store_true", help="print the plan/result as JSON")
    p.add_argument(
        "--create",
        action="store_true",
        help="create a new environment (beside the notebook, or at --target) from the lock",
    )
    p.add_argument(
        "--progress", action="store_true", help="show progress on stderr even when it is not a terminal"
    )
    p.add_argument(
        "--allow-direct-sources",
        action="store_true",
        help="apply a lock that installs from local directories, VCS repositories or URLs "
        "(marked `!` in the plan) instead of the package index",
    )
    p.set_defaults(func=run)


def _policy(args: argparse.Namespace) -> SourcePolicy:
    """The CLI's source policy: direct sources only with ``--allow-direct-sources``; builds allowed."""
    from envkernels import api

    return api.source_policy(
        allow_direct_sources=args.allow_direct_sources,
        hint="check the sources marked `!` in the plan (`--dry-run`); "
        "`--allow-direct-sources` applies the lock with them",
    )


def run(args: argparse.Namespace) -> int:
    """Plan or apply; exit 0, 2 on bad input or a failed sync."""
    from envkernels import api
    from envkernels.cli.output import print_json, print_warning
    from envkernels.sync.progress import TerminalProgress

    progress = TerminalProgress() if (args.progress or sys.stderr.isatty()) else None
    try:
        if args.create:
            created = api.create(args.lock, args.target, progress=progress, policy=_policy(args))
            if progress:
                progress.close()
            if args.json:
                print_json(created.to_dict())
            else:
                print(created.sync.plan.text())
            print(f"created `{created.environment.prefix}`; {created.sync.summary()}", file=sys.stderr)
            if created.kernelspec:
                print(
                    f"kernel `{created.environment.kernel_name}` installed in `{created.kernelspec}`",
                    file=sys.stderr,
                )
            elif created.kernel_note:
                print_warning(created.kernel_note)
            return 0
        env = api.resolve(args.target)
        plan = api.plan(env, args.lock)
        for w in plan.warnings:
            print_warning(w)
        policy = _policy(args)
        if args.dry_run or not args.yes:
            if args.json:
                print_json(plan.to_dict())
            else:
                print(plan.text())
                if not plan.is_empty:
                    needs = " --allow-direct-sources" if api.refused(plan, policy) else ""
                    print(f"dry run: nothing changed; `--yes{needs}` carries the plan out", file=sys.stderr)
            return 0
        result = api.sync(env, args.lock, planned=plan, progress=progress, policy=policy)
    finally:
        if progress:
            progress.close()
    for w in result.warnings:
        print_warning(w)
    if args.json:
        print_json(result.to_dict())
    else:
        # What changed on disk (read again after uv ran), not what was planned.
        print((result.done or result.plan).text())
    print(result.summary(), file=sys.stderr)
    return 0
