"""`envkernels kernels install|prune|hide|hidden|unhide|prepare`: kernelspecs on disk, kernels taken
off the list, and the ipykernel overlays an administrator prepares for every user.

`install`/`prune` write and remove ordinary kernelspecs for tools outside envkernels' server;
`hide`/`hidden`/`unhide` manage the kernels removed from the listing (``remove_kernel_spec`` on an
environment's kernel hides it: see ``kernels/hidden.py``).
"""

from __future__ import annotations

import argparse

from envkernels.cli.output import print_json, print_table, print_warning
from envkernels.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `kernels` parser and its `install`/`prune` subcommands."""
    p = sub.add_parser(
        "kernels", help="install kernelspecs (kernel.json) for environments, or prune stale ones"
    )
    ksub = p.add_subparsers(dest="kernels_command", metavar="SUBCOMMAND")
    inst = ksub.add_parser("install", help="write kernel.json for an environment (or --all)")
    inst.add_argument(
        "target", nargs="?", help="environment prefix, project directory, or id/name from `list`"
    )
    inst.add_argument("--all", action="store_true", help="every discovered environment that is not broken")
    where = inst.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into the user's Jupyter data dir (the default)")
    where.add_argument("--prefix", metavar="DIR", help="into DIR/share/jupyter/kernels (e.g. sys.prefix)")
    inst.add_argument("--root", action="append", default=[], metavar="DIR", help="also scan DIR (with --all)")
    inst.add_argument(
        "--no-default-roots", action="store_true", help="with --all: scan only the --root directories"
    )
    inst.add_argument("--json", action="store_true", help="print what was written as JSON")
    pr = ksub.add_parser("prune", help="remove envkernels' kernelspecs whose environment is gone")
    pr.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    pr.add_argument("--prefix", metavar="DIR", help="also look in DIR/share/jupyter/kernels")
    pr.add_argument("--json", action="store_true", help="print the result as JSON")
    hd = ksub.add_parser("hide", help="offer an environment as no kernel (nothing is deleted)")
    hd.add_argument("target", help="kernel name, environment prefix, project directory, or id from `list`")
    hd.add_argument("--json", action="store_true", help="print the hidden kernel as JSON")
    ls = ksub.add_parser("hidden", help="list the hidden kernels")
    ls.add_argument("--json", action="store_true", help="print them as JSON")
    un = ksub.add_parser("unhide", help="offer a hidden kernel again")
    un.add_argument("name", help="the kernel name `hidden` shows")
    un.add_argument("--json", action="store_true", help="print the kernel offered again as JSON")
    prep = ksub.add_parser(
        "prepare", help="build the ipykernel overlay of each shared Python once, for every user (admin)"
    )
    prep.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X",
        help="an interpreter path or a version (3.12); repeatable (default: each Python of the shared roots)",
    )
    prep.add_argument("--dest", required=True, metavar="DIR", help="the shared, read-only overlay directory")
    prep.add_argument("--rebuild", action="store_true", help="replace overlays DIR already holds")
    prep.add_argument("--json", action="store_true", help="print what DIR offers as JSON")
    p.set_defaults(func=run, kernels_parser=p)


def run(args: argparse.Namespace) -> int:
    """Dispatch to install or prune."""
    if args.kernels_command == "install":
        return _install(args)
    if args.kernels_command == "prune":
        return _prune(args)
    if args.kernels_command == "hide":
        return _hide(args)
    if args.kernels_command == "hidden":
        return _hidden(args)
    if args.kernels_command == "unhide":
        return _unhide(args)
    if args.kernels_command == "prepare":
        return _prepare(args)
    raise UsageError(
        "`kernels` needs a subcommand",
        hint="`envkernels kernels install --all`, `prune`, `hide`, `hidden`, `unhide` or `prepare`",
    )


def _prepare(args: argparse.Namespace) -> int:
    import sys

    from envkernels import api

    done = api.prepare_overlays(args.dest, args.python, rebuild=args.rebuild)
    if args.json:
        print_json([p.to_dict() for p in done])
    else:
        print_table(
            ("TAG", "PYTHON", "OVERLAY", "BUILT"),
            [(p.tag, p.python, p.path, "yes" if p.built else "kept") for p in done],
        )
    print(
        f"users' servers use it with `c.EnvKernelSpecManager.overlay_dirs = [{str(args.dest)!r}]` "
        f"(or `ENVKERNELS_OVERLAY_DIRS={args.dest}`)",
        file=sys.stderr,
    )
    return 0


def _hide(args: argparse.Namespace) -> int:
    from envkernels import api

    record = api.hide_kernel(args.target)
    if args.json:
        print_json(record)
    else:
        print_table(
            ("HIDDEN", "KIND", "PREFIX"), [(record["name"], record.get("kind", ""), record.get("prefix", ""))]
        )
    return 0


def _hidden(args: argparse.Namespace) -> int:
    from envkernels import api

    records = api.hidden_kernels()
    if args.json:
        print_json(records)
    elif records:
        rows = [(r["name"], r.get("kind", ""), r.get("prefix", ""), r.get("hidden_at", "")) for r in records]
        print_table(("KERNEL", "KIND", "PREFIX", "HIDDEN AT"), rows)
    return 0


def _unhide(args: argparse.Namespace) -> int:
    from envkernels import api

    out = api.unhide_kernel(args.name)
    if args.json:
        print_json(out)
    else:
        row = (out["name"], out.get("kind", ""), out.get("prefix", ""))
        print_table(("OFFERED AGAIN", "KIND", "PREFIX"), [row])
    return 0


def _install(args: argparse.Namespace) -> int:
    from envkernels import api

    done = api.install_kernels(
        args.target,
        every=args.all,
        roots=args.root,
        default_roots=not args.no_default_roots,
        prefix=args.prefix,
    )
    for env, exc in done.skipped:
        print_warning(f"skipped `{env.prefix}`: {exc.message}", exc.hint)
    if args.json:
        print_json(list(done.written))
    else:
        print_table(("KERNEL", "WRITTEN TO"), [(w["name"], w["resource_dir"]) for w in done.written])
    return 0


def _prune(args: argparse.Namespace) -> int:
    from envkernels import api

    ours, others = api.prune_kernels(prefix=args.prefix, dry_run=args.dry_run)
    if args.json:
        print_json(
            {
                "dry_run": args.dry_run,
                "removed": [s.to_dict() for s in ours],
                "other_stale": [s.to_dict() for s in others],
            }
        )
        return 0
    verb = "would remove" if args.dry_run else "removed"
    rows = [(verb, s.name, s.reason, s.resource_dir) for s in ours]
    rows += [("left alone (not ours)", s.name, s.reason, s.resource_dir) for s in others]
    if rows:
        print_table(("ACTION", "KERNEL", "WHY", "DIRECTORY"), rows)
    for s in others:
        print_warning(f"kernelspec `{s.name}` is stale: {s.reason}", f"`jupyter kernelspec remove {s.name}`")
    return 0
