"""`envkernels list`: the discovered environments, as a table or SPEC.md's JSON records."""

from __future__ import annotations

import argparse

from envkernels.cli.output import print_json, print_table
from envkernels.discovery import discover
from envkernels.errors import UsageError
from envkernels.model import KINDS


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `list` parser."""
    p = sub.add_parser("list", help="list the discovered Python environments")
    p.add_argument("--json", action="store_true", help="print SPEC.md's JSON records")
    p.add_argument("--root", action="append", default=[], metavar="DIR", help="also scan DIR (repeatable)")
    p.add_argument("--no-default-roots", action="store_true", help="scan only the --root directories")
    p.add_argument("--kind", action="append", default=[], metavar="KIND", help=f"only these kinds ({', '.join(KINDS)})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List environments; exit 0."""
    bad = [k for k in args.kind if k not in KINDS]
    if bad:
        raise UsageError(f"unknown kind `{bad[0]}`", hint=f"kinds are: {', '.join(KINDS)}")
    envs = discover(roots=args.root, default_roots=not args.no_default_roots)
    if args.kind:
        envs = [e for e in envs if e.kind in args.kind]
    if args.json:
        print_json([e.to_dict() for e in envs])
        return 0
    rows = [
        (e.id, e.kind, e.python_version or "?", "yes" if e.has_ipykernel else "no", e.status, e.prefix)
        for e in envs
    ]
    print_table(("ID", "KIND", "PYTHON", "IPYKERNEL", "STATUS", "PREFIX"), rows)
    return 0
