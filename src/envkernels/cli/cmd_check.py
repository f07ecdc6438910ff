"""`envkernels check`: what is wrong with an environment, its project, lock and notebook.

Exit codes (docs/reference.md): 0 fine; 1 an error finding (with ``--strict``: any warning); 2 bad
arguments, or a file of the user's (pyproject, lockfile, notebook) that could not be read, each
named on stderr as ``error:``/``hint:`` and no verdict printed (a check missing an input it was
asked to use is no verdict).
Kept light: discovery and the check are imported inside ``run()``.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `check` parser."""
    p = sub.add_parser(
        "check", help="check an environment against its requirements, project, lock and notebook"
    )
    p.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="environment prefix, project directory, or id/name from `envkernels list`",
    )
    p.add_argument(
        "--json", action="store_true", help='print {"environment", "findings", "input_errors"} as JSON'
    )
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--lock", metavar="FILE", help="compare with this lockfile (default: the project's)")
    p.add_argument("--notebook", metavar="NB.ipynb", help="check this notebook's imports and kernel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the check and print it; returns the exit code."""
    from envkernels.cli.output import paint, print_error, print_json
    from envkernels.discovery import resolve_target
    from envkernels.inspect.check import check_environment

    env = resolve_target(args.target)
    report = check_environment(env, lock=args.lock, notebook=args.notebook)
    problems = report.extra.get("input_errors", [])
    if problems:
        for prob in problems:
            print_error(prob["message"], prob.get("hint"))
        return 2
    if args.json:
        print_json(report.to_dict())
    else:
        _print_text(report, paint)
    worst = {f.severity for f in report.findings}
    if "error" in worst or (args.strict and "warning" in worst):
        return 1
    return 0


def _print_text(report: object, paint: object) -> None:
    """Findings as aligned rows, each followed by its ``hint:`` line; a summary at the end."""
    import sys

    env = report.environment  # type: ignore[attr-defined]
    findings = report.findings  # type: ignore[attr-defined]
    print(f"{env.name} ({env.kind}, Python {env.python_version or '?'}): {env.prefix}")
    if not findings:
        print("no findings")
        return
    wsev = max(len(f.severity) for f in findings)
    wcode = max(len(f.code) for f in findings)
    wpkg = max(len(f.package or "-") for f in findings)
    for f in findings:
        sev = paint(f.severity.ljust(wsev), f.severity, sys.stdout)  # type: ignore[operator]
        print(f"{sev}  {f.code.ljust(wcode)}  {(f.package or '-').ljust(wpkg)}  {f.message}")
        if f.hint:
            print(f"{' ' * (wsev + 2)}{paint('hint', 'hint', sys.stdout)}: {f.hint}")  # type: ignore[operator]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    print(", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n))
