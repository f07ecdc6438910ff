"""`envkernels kernels install|prune`: ordinary kernelspecs for tools outside envkernels' server."""

from __future__ import annotations

import argparse

from envkernels.cli.output import print_json, print_table, print_warning
from envkernels.errors import EnvKernelsError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
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
    p.set_defaults(func=run, kernels_parser=p)


def run(args: argparse.Namespace) -> int:
    """Dispatch to install or prune."""
    if args.kernels_command == "install":
        return _install(args)
    if args.kernels_command == "prune":
        return _prune(args)
    raise UsageError(
        "`kernels` needs a subcommand",
        hint="`envkernels kernels install --all` or `envkernels kernels prune`",
    )


def _install(args: argparse.Namespace) -> int:
    from envkernels.cli.inputs import require_directories
    from envkernels.discovery import discover, resolve_target
    from envkernels.kernels.installed import install_kernelspec

    if args.all and args.target:
        raise UsageError("give a TARGET or --all, not both", hint="`envkernels kernels install --all`")
    if args.all:
        require_directories(args.root)
        envs = discover(roots=args.root, default_roots=not args.no_default_roots)
    else:
        envs = [resolve_target(args.target)]
    written = []
    for env in envs:
        if not args.all:
            path = install_kernelspec(env, user=not args.prefix, prefix=args.prefix)  # errors say why
        else:
            try:
                path = install_kernelspec(env, user=not args.prefix, prefix=args.prefix)
            except EnvKernelsError as exc:  # one environment's problem never stops the others
                print_warning(f"skipped `{env.prefix}`: {exc.message}", exc.hint)
                continue
        written.append({"name": env.kernel_name, "resource_dir": path, "environment": env.id})
    if args.json:
        print_json(written)
    else:
        print_table(("KERNEL", "WRITTEN TO"), [(w["name"], w["resource_dir"]) for w in written])
    return 0


def _prune(args: argparse.Namespace) -> int:
    import os

    from envkernels.kernels.installed import kernel_dirs, prune

    extra = [os.path.join(args.prefix, "share", "jupyter", "kernels")] if args.prefix else []
    ours, others = prune(kernel_dirs(extra), dry_run=args.dry_run)
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
