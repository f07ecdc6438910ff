"""`envkernels audit`: known vulnerabilities (and licenses) of an environment or a lockfile.

TARGET is an environment (prefix, project directory, id or name) or a lockfile (any format
``envkernels sync`` reads), audited without installing it. Advisories come from ``--db PATH`` (a
local OSV database, offline), else ``--api-url``/``[tool.envkernels.audit]``/the public OSV API.

Exit codes (docs/reference.md): 0 nothing found; 1 a vulnerability, a denied license (or an unknown one
under ``fail-on-unknown``), or a source that could not answer (never read as "no vulnerabilities");
2 bad arguments or input (a database path that does not exist, a lockfile that cannot be read).
Kept light: the audit, yaml, urllib and cyclonedx are imported inside ``run()``.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `audit` parser."""
    p = sub.add_parser("audit", help="known vulnerabilities and licenses of an environment or lockfile")
    p.add_argument(
        "target",
        nargs="?",
        metavar="TARGET|LOCKFILE",
        help="environment prefix, project directory, id/name from `envkernels list`, or a lockfile",
    )
    p.add_argument("--db", metavar="PATH", help="a local OSV database: a directory of OSV records or all.zip")
    p.add_argument("--api-url", metavar="URL", help="an OSV API base URL (default: https://api.osv.dev)")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="seconds the whole audit may take; past it, what is left is reported not checked (default: 30)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON (docs/reference.md)")
    p.add_argument("--licenses", action="store_true", help="also check licenses against the policy")
    p.add_argument("--sbom", metavar="FILE", help="write a CycloneDX JSON SBOM to FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Audit and print; returns the exit code."""
    import sys

    from envkernels import api
    from envkernels.cli.output import paint, print_error, print_json, print_warning
    from envkernels.render.text import audit_text

    report = api.audit(
        args.target, db=args.db, api_url=args.api_url, licenses=args.licenses, deadline=args.deadline
    )

    for f in report.findings:
        if f.code == "source-unavailable":
            print_error(f.message, f.hint)
        elif f.severity == "warning" and f.code.startswith("advisory-"):
            print_warning(f.message, f.hint)
    if args.sbom:
        path = api.write_sbom(report, args.sbom)
        print(f"wrote the SBOM to `{path}`", file=sys.stderr)
    if args.json:
        print_json(report.to_dict())
    else:
        print(audit_text(report, lambda text, what: paint(text, what, sys.stdout)))
    return 1 if api.problems(report, "error") else 0
