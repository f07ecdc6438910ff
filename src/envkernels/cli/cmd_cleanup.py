"""`envkernels cleanup`: leftover environments and what deleting each would lose; a trash, not deletion.

``--apply`` moves the proposed ones (``--apply PATH...``: exactly those, including ones that need a
decision) into the trash; ``--undo [ID]`` puts a cleanup back; ``--trash`` lists the trash;
``--empty-trash [--older-than DAYS]`` frees the space for good.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `cleanup` parser."""
    p = sub.add_parser(
        "cleanup", help="find leftover environments and what each holds (move them to a trash with --apply)"
    )
    p.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="DIR",
        help="look under DIR (repeatable; default: the current directory)",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--apply",
        nargs="*",
        metavar="PATH",
        help="move the proposed environments to the trash (default: a dry run); "
        "with PATHs, exactly those (also ones that need a decision)",
    )
    what.add_argument(
        "--undo",
        nargs="?",
        const="",
        metavar="ID",
        help="put back what a cleanup moved (default: the last one)",
    )
    what.add_argument("--trash", action="store_true", help="list what the trash holds")
    what.add_argument("--empty-trash", action="store_true", help="delete what the trash holds, for good")
    p.add_argument(
        "--older-than", type=float, metavar="DAYS", help="with --empty-trash: only cleanups older than DAYS"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List leftovers; apply, undo, list or empty the trash; exit 0 (2 on bad input)."""
    from envkernels.errors import UsageError

    if args.older_than is not None and not args.empty_trash:
        raise UsageError(
            "`--older-than` goes with `--empty-trash`",
            hint="`envkernels cleanup --empty-trash --older-than 30`",
        )
    if args.undo is not None:
        return _undo(args)
    if args.trash:
        return _list_trash(args)
    if args.empty_trash:
        return _empty(args)
    return _listing(args, args.root or ["."])


def _listing(args: argparse.Namespace, roots: list[str]) -> int:
    from envkernels import api
    from envkernels.cli.output import print_json, print_warning
    from envkernels.kernels.cleanup import NEEDS_DECISION, human_size

    result = api.cleanup(roots, apply=args.apply)
    leftovers = list(result.leftovers)
    if args.json:
        print_json(result.to_dict())
    elif leftovers:
        _print_text(leftovers, human_size)
    for path, why in result.skipped:
        print_warning(f"`{path}` was left in place: {why}")
    if not leftovers:
        print("no leftover environments found", file=sys.stderr)
        return 0
    deciding = sum(1 for i in leftovers if i.status == NEEDS_DECISION)
    if result.applied:
        if result.trash_id and result.moved:
            size = human_size(result.moved_size)
            print(
                f"moved {len(result.moved)} environment(s) ({size}) to the trash as `{result.trash_id}`",
                file=sys.stderr,
            )
            print(f"hint: `envkernels cleanup --undo {result.trash_id}` puts them back", file=sys.stderr)
        else:
            print("nothing moved", file=sys.stderr)
        return 0
    summary = f"{len(result.proposed)} proposed ({human_size(result.proposed_size)})"
    if deciding:
        summary += f", {deciding} need(s) a decision"
    print(f"{summary}; nothing moved (dry run)", file=sys.stderr)
    print(
        "hint: `envkernels cleanup --apply` (with the same --root options) moves the proposed ones to the "
        "trash, `--apply PATH` exactly PATH; `envkernels cleanup --undo` puts them back",
        file=sys.stderr,
    )
    return 0


def _print_text(leftovers: list[Any], human_size: Any) -> None:
    """The table, then per environment why, what only it holds, and what uses it."""
    from envkernels.cli.output import print_table

    print_table(
        ("SIZE", "DISTS", "ONLY HERE", "MODIFIED", "STATUS", "REASON", "PATH"),
        [
            (
                human_size(i.size),
                i.distributions,
                len(i.only_here),
                (i.last_modified or "?")[:16].replace("T", " "),
                i.status,
                i.reason,
                i.path,
            )
            for i in leftovers
        ],
    )
    for i in leftovers:
        print()
        print(f"{i.path}: {i.status}")
        print(f"  why: {i.detail}")
        if i.only_here:
            print(f"  only here: {', '.join(i.only_here)}")
        if i.used_by:
            print(f"  used by: {'; '.join(i.used_by)}")
        if i.tools:
            print(f"  tools: {'; '.join(i.tools)}")


def _undo(args: argparse.Namespace) -> int:
    from envkernels import api
    from envkernels.cli.output import print_json

    entry = api.cleanup_undo(args.undo or None)
    if args.json:
        print_json(entry.to_dict())
    for item in entry.items:
        print(f"restored `{item['original']}`", file=sys.stderr)
    print(f"cleanup `{entry.id}` undone", file=sys.stderr)
    return 0


def _list_trash(args: argparse.Namespace) -> int:
    from envkernels import api
    from envkernels.cli.output import print_json, print_table
    from envkernels.kernels.cleanup import human_size

    found = api.trash_entries()
    if args.json:
        print_json([e.to_dict() for e in found])
        return 0
    if not found:
        print("the trash is empty", file=sys.stderr)
        return 0
    rows = []
    for e in found:
        state = "interrupted (undo puts back what was moved)" if e.state != "done" else "done"
        for item in e.items:
            rows.append(
                (
                    e.id,
                    e.created[:16].replace("T", " "),
                    human_size(int(item.get("size") or 0)),
                    state,
                    item["original"],
                )
            )
    print_table(("ID", "CREATED", "SIZE", "STATE", "ORIGINAL PATH"), rows)
    return 0


def _empty(args: argparse.Namespace) -> int:
    from envkernels import api
    from envkernels.cli.output import print_json
    from envkernels.kernels.cleanup import human_size

    removed = api.empty_trash(args.older_than)
    if args.json:
        print_json({"removed": [e.to_dict() for e in removed], "freed": sum(e.size for e in removed)})
    print(
        f"deleted {len(removed)} cleanup(s) from the trash ({human_size(sum(e.size for e in removed))})",
        file=sys.stderr,
    )
    return 0
