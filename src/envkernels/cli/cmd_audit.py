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
from typing import Any


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
    from envkernels.cli.output import print_error, print_json, print_warning

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
        _print_text(report)
    return 1 if api.problems(report, "error") else 0


def _print_text(report: Any) -> None:
    """The vulnerabilities as a table, the fix per package, licenses, then the other findings."""
    from envkernels.audit.run import package_fixes
    from envkernels.cli.output import print_table

    env = report.environment
    extra = report.extra
    where = env.prefix if env.kind != "lockfile" else f"lockfile {env.prefix}"
    print(f"{env.name} ({env.kind}{', Python ' + env.python_version if env.python_version else ''}): {where}")
    print(f"advisories: {extra.get('advisory_source', '?')}")
    vulns = extra.get("vulnerabilities", [])
    unavailable = any(f.code == "source-unavailable" for f in report.findings)
    if vulns:
        print()
        rows = [
            (v["package"], v["version"], v["id"], ", ".join(v["fixed_in"]) or "-", ", ".join(v["aliases"]))
            for v in vulns
        ]
        print_table(("PACKAGE", "VERSION", "ID", "FIXED IN", "ALIASES"), rows)
        print()
        for pkg, hint in package_fixes(report).items():
            print(f"fix {pkg}: {hint}")
    if "licenses" in extra:
        flagged = [row for row in extra["licenses"] if row["status"] != "allowed"]
        print()
        if flagged:
            print_table(
                ("PACKAGE", "VERSION", "LICENSE", "STATUS"),
                [(r["package"], r["version"], r["license"] or "-", r["status"]) for r in flagged],
            )
        allowed = len(extra["licenses"]) - len(flagged)
        print(f"licenses: {allowed} allowed, {len(flagged)} denied or unknown")
    others = [
        f
        for f in report.findings
        if f.code not in ("vulnerability", "source-unavailable", "license-denied", "license-unknown")
        and not f.code.startswith("advisory-")
    ]
    if others:
        print()
        for f in others:
            print(f"{f.severity}: {f.code} {f.package or '-'}: {f.message}")
    skipped = extra.get("skipped", [])
    print()
    if unavailable:
        names = sorted({f.package for f in report.findings if f.code == "source-unavailable" and f.package})
        if names and all(f.package for f in report.findings if f.code == "source-unavailable"):
            print(f"not checked: {', '.join(names)} (their advisories could not be read)")
        else:
            print(f"not checked: the advisory source did not answer in full ({len(skipped)} skipped)")
    else:
        packages = len({v["package"] for v in vulns})
        if vulns:
            noun = "vulnerability" if len(vulns) == 1 else "vulnerabilities"
            print(f"{len(vulns)} known {noun} in {packages} package{'s' if packages != 1 else ''}")
        else:
            print("no known vulnerabilities")
        if skipped:
            print(f"{len(skipped)} packages skipped: " + ", ".join(s["package"] for s in skipped))
