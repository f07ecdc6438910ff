"""`envkernels list`: the discovered environments, as a table or docs/reference.md's JSON records.

Data (the table, the JSON array) goes to stdout; each broken environment's problem and hint go to
stderr as ``warning:``/``hint:`` lines. Exit 0 whenever the listing itself worked, broken
environments included (they are data, not a failure); 2 for bad input (an unknown ``--kind``, a
``--root`` that is not a directory), with nothing on stdout.
"""

from __future__ import annotations

import argparse
import os

from envkernels import api
from envkernels.cli.output import print_json, print_table, print_warning
from envkernels.model import KINDS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # type: ignore[type-arg,unused-ignore]
    """Add the `list` parser."""
    p = sub.add_parser(
        "list",
        help="list the discovered Python environments",
        description="List every Python environment envkernels discovers "
        "(docs/discovery.md says where it looks).",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array of environment records")
    p.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="DIR",
        help="also scan DIR for environments and projects, a few levels deep (repeatable)",
    )
    p.add_argument(
        "--no-default-roots",
        action="store_true",
        help="scan only the --root directories (no registries, tool directories, PATH)",
    )
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="KIND",
        type=str.lower,
        help=f"only environments of this kind (repeatable): {', '.join(KINDS)}",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List environments; exit 0 (2 for an unknown --kind)."""
    roots = list(args.root)
    if not args.no_default_roots and os.getcwd() not in roots:
        roots.append(os.getcwd())  # where the command runs, as a server's root is its root_dir
    envs = api.list_environments(roots=roots, default_roots=not args.no_default_roots, kinds=args.kind)
    if args.json:
        print_json([e.to_dict() for e in envs])
    else:
        rows = [
            (
                e.id,
                f"{e.kind} (team)" if e.shared else e.kind,
                e.python_version or "?",
                "yes" if e.has_ipykernel else "no",
                e.status,
                e.prefix,
            )
            for e in envs
        ]
        print_table(("ID", "KIND", "PYTHON", "IPYKERNEL", "STATUS", "PREFIX"), rows)
    for e in envs:
        if not e.ok:
            print_warning(f"`{e.id}` is {e.status} (offered as no kernel): {e.problem}", e.hint)
    return 0
