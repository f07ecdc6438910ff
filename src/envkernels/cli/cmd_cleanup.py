"""`envkernels cleanup`: leftover environments under the roots, with sizes; deleted only with --apply."""

from __future__ import annotations

import argparse

from envkernels.cli.output import print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `cleanup` parser."""
    p = sub.add_parser("cleanup", help="find leftover environments and their sizes (delete with --apply)")
    p.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="DIR",
        help="look under DIR (repeatable; default: the current directory)",
    )
    p.add_argument("--apply", action="store_true", help="delete what is listed (default: a dry run)")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List leftovers; with --apply delete exactly those; exit 0."""
    import sys

    from envkernels.kernels.cleanup import delete, find_leftovers, human_size

    roots = args.root or ["."]
    leftovers = find_leftovers(roots)
    deleted = delete(leftovers, roots) if args.apply else []
    if args.json:
        print_json(
            {
                "applied": args.apply,
                "leftovers": [item.to_dict() for item in leftovers],
                "deleted": [item.path for item in deleted],
                "total_size": sum(item.size for item in leftovers),
            }
        )
        return 0
    if not leftovers:
        print("no leftover environments found", file=sys.stderr)
        return 0
    print_table(
        ("SIZE", "REASON", "PATH", "DETAIL"),
        [(human_size(i.size), i.reason, i.path, i.detail) for i in leftovers],
    )
    total = human_size(sum(i.size for i in leftovers))
    if args.apply:
        print(f"deleted {len(deleted)} of {len(leftovers)} ({total})", file=sys.stderr)
    else:
        count = f"{len(leftovers)} leftover{'s' if len(leftovers) != 1 else ''}"
        print(f"{count}, {total}; nothing deleted (dry run)", file=sys.stderr)
        print(
            "hint: `envkernels cleanup --apply` (with the same --root options) deletes them", file=sys.stderr
        )
    return 0
