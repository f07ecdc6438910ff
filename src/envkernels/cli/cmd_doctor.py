"""`envkernels doctor`: which Jupyter and Python, which kernels, and each problem with its fix."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `doctor` parser."""
    p = sub.add_parser(
        "doctor", help="diagnose the Jupyter setup: kernels, duplicates, stale specs, broken envs"
    )
    p.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    p.add_argument("--root", action="append", default=[], metavar="DIR", help="also scan DIR (repeatable)")
    p.add_argument("--no-default-roots", action="store_true", help="scan only the --root directories")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the diagnosis; exit 1 when an error-level finding is present."""
    import sys

    from envkernels import api
    from envkernels.cli.output import paint, print_json, print_table

    diag = api.doctor(roots=args.root, default_roots=not args.no_default_roots)
    failing = any(f.severity == "error" for f in diag.findings)
    if args.json:
        print_json(diag.to_dict())
        return 1 if failing else 0
    j, py = diag.jupyter, diag.python
    print(f"python: {py['executable']} ({py['version']})")
    for dist in ("jupyter_server", "jupyter_client", "jupyterlab", "ipykernel", "envkernels"):
        print(f"{dist}: {j.get(dist) or 'not installed'}")
    print(
        f"kernel_spec_manager_class: {j['kernel_spec_manager_class'] or '(default)'}"
        + (f"  [{j['kernel_spec_manager_config']}]" if j["kernel_spec_manager_config"] else "")
    )
    print()
    print_table(
        ("KERNEL", "DISPLAY NAME", "ENVIRONMENT"),
        [(k["name"], k["display_name"], k["environment"] or "-") for k in diag.kernels],
    )
    if diag.findings:
        print()
    for f in diag.findings:
        print(f"{paint(f.severity, f.severity, sys.stdout)}: [{f.code}] {f.message}")
        if f.hint:
            print(f"  {paint('hint', 'hint', sys.stdout)}: {f.hint}")
    return 1 if failing else 0
