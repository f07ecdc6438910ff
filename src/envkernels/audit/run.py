"""The audit: an environment's (or a lockfile's) distributions against advisories and a license policy.

``audit_environment`` and ``audit_lockfile`` are what the CLI, the ``%envaudit`` magic and the
server call. Each returns an :class:`~envkernels.model.AuditReport`: docs/reference.md's
``vulnerabilities`` (each once, with its ``fix``; and with ``licenses=True`` its ``licenses``), plus
``skipped`` (what could not be checked, and why) and ``advisory_source`` (which database or API answered).

Findings (``code``, severity):

- ``vulnerability`` (error): one per vulnerability, aliases merged, naming it (``Finding.vulnerability``),
  with its package's fix as the hint (the same for every vulnerability of a package): for an
  environment, the versions uv resolves (``inspect/advice.py``) that this audit's advisories do
  not name and that what depends on the package accepts, moving those dependents too when they
  must (the check's advice for a conflicting requirement is the same resolution);
- ``license-denied`` (error), ``license-unknown`` (warning; error with ``fail-on-unknown``);
- ``source-unavailable`` (error): the source could not answer (every package is in ``skipped``),
  did not answer within the deadline, or one package's advisories could not be read (that package
  is in ``skipped``): "not checked", never "no vulnerabilities"; ``checked`` is then false;
- ``config-ignored`` (info): a project setting the server's configuration does not allow (see ``policy``);
- ``advisory-invalid``/``advisory-unavailable`` (warning): a record that could not be read or fetched;
- ``version-invalid``/``invalid-metadata`` (warning): an installed version or metadata we cannot read.

Source selection: ``db`` (a local OSV database), else ``api_url``, else the configuration (see
``policy``), else the public OSV API ``https://api.osv.dev``. The whole query runs inside a
deadline (``deadline=``, else the configuration's, else 30 s).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from envkernels.audit.licenses import LicenseInfo, license_of, license_status
from envkernels.audit.matching import match_package, parse_version
from envkernels.audit.policy import (
    DEFAULT_CACHE_TTL,
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    AuditConfig,
    combine,
    read_project_config,
)
from envkernels.audit.sources.interface import (
    AdvisorySource,
    Deadline,
    Dependency,
    Skipped,
    SourceResult,
    SourceUnavailable,
)
from envkernels.core.layout import slugify
from envkernels.errors import UsageError
from envkernels.model import AuditReport, Environment, Finding, License, Vulnerability

if TYPE_CHECKING:
    from envkernels.core.distributions import InstalledDistribution
    from envkernels.inspect.advice import Vulnerable

__all__ = ["DEFAULT_CACHE_TTL", "DEFAULT_DEADLINE", "DEFAULT_TIMEOUT"]  # kept importable from here
UNREADABLE = "source-unavailable"  # a source's warning about advisories it could not read
_NONE = Version("0")


@dataclass(frozen=True)
class AuditItem:
    """One distribution to audit; ``license`` is None when licenses are not read (a lockfile)."""

    name: str
    version: str
    license: LicenseInfo | None = None
    problem: str | None = None


def select_source(
    config: AuditConfig,
    *,
    db: str | None = None,
    api_url: str | None = None,
    deadline: Deadline | None = None,
) -> AdvisorySource:
    """The advisory source the arguments and configuration ask for (see the module docstring)."""
    if db:
        from envkernels.audit.sources.osv_local import OsvLocalSource

        return OsvLocalSource(db)
    if not api_url and config.db:
        from envkernels.audit.sources.osv_local import OsvLocalSource

        return OsvLocalSource(config.db)
    from envkernels.audit.sources.osv_api import DEFAULT_API_URL, OsvApiSource

    return OsvApiSource(
        api_url or config.api_url or DEFAULT_API_URL,
        timeout=config.timeout if config.timeout is not None else DEFAULT_TIMEOUT,
        cache_ttl=config.cache_ttl if config.cache_ttl is not None else DEFAULT_CACHE_TTL,
        deadline=deadline,
    )


def _configuration(
    project: str | os.PathLike[str] | None, config: AuditConfig | None, deadline: float | None
) -> tuple[AuditConfig, list[Finding]]:
    """The merged configuration, and a ``config-ignored`` finding per project setting not honoured."""
    merged, notes = combine(config, read_project_config(project))
    if deadline is not None:
        merged = replace(merged, deadline=deadline)
    hint = "an administrator configures audits with `c.EnvKernelsApp.audit_*` traits (see docs/security.md)"
    return merged, [Finding("config-ignored", "info", None, note, hint) for note in notes]


def _deadline(config: AuditConfig) -> Deadline:
    seconds = config.deadline if config.deadline is not None else DEFAULT_DEADLINE
    if seconds <= 0:
        raise UsageError(
            f"the audit deadline must be more than 0 seconds, not {seconds:g}", hint="e.g. `--deadline 30`"
        )
    return Deadline(seconds)


def _fix_hint(vuln: Vulnerability, environment: Environment, lock: str | None) -> str:
    pkg = vuln.package
    if not vuln.fixed_in:
        return f"no fixed release of `{pkg}` is known yet; see {vuln.url or vuln.id}"
    fixed = vuln.fixed_in[0]
    if lock is None and environment.lockfiles:
        lock = environment.lockfiles[0]
        target = f" --target {shlex.quote(environment.id)}"
    else:
        target = ""
    if lock is not None:
        # Auditing a bare lockfile, the environment built from it is not known: name its place.
        then = f"`envkernels sync {shlex.quote(lock)}{target or ' --target TARGET'}`"
        if Path(lock).name == "uv.lock":
            return f"`uv lock --upgrade-package {shlex.quote(pkg)}` (to >= {fixed} in `{lock}`), then {then}"
        return f"raise `{pkg}` to >= {fixed} in `{lock}`, then {then}"
    python = environment.python or environment.prefix
    return f"`uv pip install --python {shlex.quote(python)} {shlex.quote(f'{pkg}>={fixed}')}`"


def _unavailable(deps: Sequence[Dependency], exc: SourceUnavailable) -> tuple[SourceResult, Finding]:
    skipped = tuple(Skipped(d.name, d.version, exc.message) for d in deps)
    finding = Finding(
        "source-unavailable",
        "error",
        None,
        f"{exc.message}; nothing was checked, so no verdict is given",
        exc.hint,
    )
    return SourceResult(advisories={}, skipped=skipped), finding


def _query(
    source: AdvisorySource, deps: Sequence[Dependency], deadline: Deadline | None = None
) -> tuple[SourceResult, Finding | None]:
    """Ask the source; one that cannot answer (or not within the deadline) becomes ``skipped`` + an error."""
    if deadline is None:
        try:
            return source.query(deps), None
        except SourceUnavailable as exc:
            return _unavailable(deps, exc)
    # The query runs in its own thread so the audit ends at the deadline whatever the source does;
    # the API source also shortens its own waits to the deadline, so that thread ends soon after.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="envkernels-audit")
    try:
        future = pool.submit(source.query, deps)
        try:
            return future.result(timeout=max(0.0, deadline.remaining())), None
        except SourceUnavailable as exc:
            return _unavailable(deps, exc)
        except FutureTimeout:
            late = SourceUnavailable(
                f"`{source.label}` did not answer within the audit's deadline ({deadline.seconds:g} s)",
                hint="try again later, raise the deadline (`--deadline SECONDS`, "
                "`c.EnvKernelsApp.audit_deadline`), or audit offline with `--db DIR`",
            )
            return _unavailable(deps, late)
    finally:
        pool.shutdown(wait=False)


def audit_items(
    environment: Environment,
    items: Sequence[AuditItem],
    *,
    source: AdvisorySource,
    config: AuditConfig,
    licenses: bool = False,
    lock: str | None = None,
    skipped: Sequence[Skipped] = (),
    deadline: Deadline | None = None,
    notes: Sequence[Finding] = (),
    dists: Sequence[InstalledDistribution] | None = None,
) -> AuditReport:
    """The pure-ish core: match ``items`` against ``source`` and the license policy; build the Report.

    ``dists``: the environment's installed distributions; given, each vulnerable package's fix is
    resolved against what depends on it (see ``advised_fixes``).
    """
    findings: list[Finding] = []
    skipped_all: list[Skipped] = list(skipped)
    deps: list[Dependency] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if item.problem:
            findings.append(
                Finding(
                    "invalid-metadata",
                    "warning",
                    item.name,
                    item.problem,
                    "reinstall it: `uv pip install --reinstall` of that package",
                )
            )
        if not item.version or item.version == "?":
            skipped_all.append(Skipped(item.name, item.version or "", "no version could be read"))
            continue
        key = (Dependency(item.name, item.version).normalized, item.version)
        if key in seen:
            continue
        seen.add(key)
        if parse_version(item.version) is None:
            findings.append(
                Finding(
                    "version-invalid",
                    "warning",
                    item.name,
                    f"{item.name}'s version `{item.version}` is not PEP 440: only advisories that list it "
                    "verbatim can match it",
                    None,
                )
            )
        deps.append(Dependency(item.name, item.version))

    result, unavailable = _query(source, deps, deadline)
    skipped_all.extend(result.skipped)
    vulns: list[Vulnerability] = []
    for dep in deps:
        candidates = result.advisories.get(dep.normalized, ())
        reported = result.reported.get((dep.normalized, dep.version), frozenset())
        if candidates:
            vulns.extend(
                match_package(candidates, dep.normalized, dep.name, dep.version, source.label, reported)
            )
    resolved: dict[str, str] = {}
    if vulns and dists is not None and lock is None and not environment.lockfiles:
        resolved = advised_fixes(
            environment, vulns, dists, vulnerability_oracle(source), end=deadline.end if deadline else None
        )
    fixes = package_fixes(vulns, environment, lock, resolved)
    vulns = [replace(v, fix=fixes.get(v.package)) for v in vulns]
    vuln_findings = [
        Finding(
            "vulnerability",
            "error",
            v.package,
            f"{v.package} {v.version}: {v.id}"
            + (f" ({', '.join(v.aliases)})" if v.aliases else "")
            + (f": {v.summary}" if v.summary else ""),
            v.fix,
            vulnerability=v.id,
        )
        for v in vulns
    ]
    # An advisory that could not be read leaves its package (or, unattributed, any package) unchecked.
    warning_findings = [
        Finding(w.code, "error" if w.code == UNREADABLE else "warning", w.package, w.message, w.hint)
        for w in result.warnings
    ]
    unread = [f for f in warning_findings if f.severity == "error"]

    license_rows: list[License] | None = None
    license_findings: list[Finding] = []
    if licenses:
        policy = config.license_policy()
        license_rows = []
        for item in items:
            info = item.license or LicenseInfo(None, None, None)
            status = license_status(info, policy)
            license_rows.append(License(item.name, item.version, info.display, status))
            if status == "denied":
                license_findings.append(
                    Finding(
                        "license-denied",
                        "error",
                        item.name,
                        f"{item.name} {item.version} is licensed `{info.expression}`: the policy denies it",
                        f"replace `{item.name}`, or allow `{info.expression}` in `[tool.envkernels.audit]`",
                    )
                )
            elif status == "unknown":
                what = (
                    f"declares `{info.display}`, not an SPDX license"
                    if info.display
                    else "declares no license"
                )
                license_findings.append(
                    Finding(
                        "license-unknown",
                        "error" if policy.fail_on_unknown else "warning",
                        item.name,
                        f"{item.name} {item.version} {what}",
                        "check its license by hand"
                        + (
                            "; `fail-on-unknown = false` in `[tool.envkernels.audit]` lets it pass"
                            if policy.fail_on_unknown
                            else ""
                        ),
                    )
                )
    ordered = ([unavailable] if unavailable else []) + unread + vuln_findings + license_findings + findings
    rest = [f for f in warning_findings if f.severity != "error"]
    return AuditReport(
        environment,
        tuple(ordered + rest + list(notes)),
        vulnerabilities=tuple(vulns),
        licenses=None if license_rows is None else tuple(license_rows),
        skipped=tuple(skipped_all),
        advisory_source=source.label,
        # False when anything was left unchecked: the UI shows no clean badge for such a report.
        checked=unavailable is None and not unread,
    )


def audit_environment(
    env: Environment,
    *,
    db: str | None = None,
    licenses: bool = False,
    api_url: str | None = None,
    project: str | None = None,
    config: AuditConfig | None = None,
    deadline: float | None = None,
) -> AuditReport:
    """Audit the distributions installed in ``env``.

    ``db``: a local OSV database (directory or ``all.zip``); ``api_url``: an OSV API base URL;
    ``project``: where ``[tool.envkernels.audit]`` is read (default: the environment's project);
    ``config``: server-wide settings (the extension fills one from its traitlets, ``authoritative``);
    ``deadline``: seconds the whole audit may take (default: the configuration's, else 30).
    """
    # The inventory: installed_distributions(), kept in memory and on disk while site-packages is unchanged.
    from envkernels.discovery.problems import require_readable
    from envkernels.inspect.inventory import inventory

    require_readable(env.prefix, "audit")  # an unreadable environment is not a clean one
    cfg, notes = _configuration(project or env.project, config, deadline)
    clock = _deadline(cfg)
    source = select_source(cfg, db=db, api_url=api_url, deadline=clock)
    items = [
        AuditItem(d.name, d.version, license_of(d) if licenses else None, d.problem)
        for d in inventory(env.prefix).distributions
    ]
    return audit_items(
        env,
        items,
        source=source,
        config=cfg,
        licenses=licenses,
        deadline=clock,
        notes=notes,
        dists=inventory(env.prefix).distributions,
    )


def vulnerability_oracle(source: AdvisorySource) -> Vulnerable:
    """``vulnerable(name, version)`` answered by ``source`` and this audit's matcher (memoized).

    Raises ``advice.Unvetted`` when the source cannot answer for that release: a version nobody
    vetted is never advised.
    """
    from envkernels.inspect.advice import Unvetted

    memo: dict[tuple[str, str], bool] = {}

    def vulnerable(name: str, version: str) -> bool:
        dep = Dependency(name, version)
        key = (dep.normalized, version)
        if key not in memo:
            try:
                result = source.query([dep])
            except SourceUnavailable as exc:
                raise Unvetted(exc.message) from exc
            if result.skipped:
                raise Unvetted(result.skipped[0].reason)
            candidates = result.advisories.get(dep.normalized, ())
            reported = result.reported.get(key, frozenset())
            memo[key] = bool(
                candidates
                and match_package(candidates, dep.normalized, name, version, source.label, reported)
            )
        return memo[key]

    return vulnerable


def advised_fixes(
    environment: Environment,
    vulns: Sequence[Vulnerability],
    dists: Sequence[InstalledDistribution],
    vulnerable: Vulnerable,
    *,
    end: float | None = None,
) -> dict[str, str]:
    """Per vulnerable package (with a known fix), the one command that lifts all its vulnerabilities.

    uv resolves the package forward, keeping what depends on it where it is if it can, else moving
    those dependents forward too; every version it names for them is checked with ``vulnerable``.
    Without versions (the index or the source could not answer) the hint says so; when no release
    outside the advisories fits the dependents, it says that instead of advising one that breaks them.
    """
    if not environment.python:
        return {}
    from envkernels.inspect import advice, hints
    from envkernels.inspect.markers import marker_environment

    markers = marker_environment(environment)
    groups: dict[str, list[Vulnerability]] = {}
    for v in vulns:
        groups.setdefault(v.package, []).append(v)
    fixes: dict[str, str] = {}
    for package, group in groups.items():
        if any(not v.fixed_in for v in group):
            continue  # no release lifts it: `_fix_hint` says so
        name = Dependency(package, group[0].version).normalized
        dependents = advice.dependents_of(name, dists, markers)
        found = advice.resolve_fix(
            environment.python, name, group[0].version, dependents, vulnerable=vulnerable, end=end
        )
        without = hints.unresolved(environment, found, [name, *(d.name for d in dependents)])
        if found.pins:
            fixes[package] = hints.resolved_install(environment, found)
        elif without:
            fixes[package] = without
        else:
            needs = "; ".join(f"{d.name} {d.version} requires `{d.requirement}`" for d in dependents)
            fixed = max((f for v in group for f in v.fixed_in), key=lambda f: parse_version(f) or _NONE)
            fixes[package] = (
                f"no release of `{package}` that the advisories leave alone fits what requires it"
                + (f" ({needs})" if needs else "")
                + f"; the fixes start at {fixed}: replace or upgrade what pins it"
            )
    return fixes


def lockfile_environment(path: Path) -> Environment:
    """The record a lockfile audit reports under: kind ``lockfile``, prefix the lockfile's path."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return Environment(
        id=f"lockfile-{slugify(path.parent.name or 'lock')}-{digest}",
        kind="lockfile",
        name=path.name,
        prefix=str(path),
        python=None,
        python_version=None,
        project=str(path.parent),
        lockfiles=(str(path),),
    )


def audit_lockfile(
    path: str | os.PathLike[str],
    *,
    db: str | None = None,
    licenses: bool = False,
    api_url: str | None = None,
    project: str | None = None,
    config: AuditConfig | None = None,
    deadline: float | None = None,
) -> AuditReport:
    """Audit the packages a lockfile pins, without installing them (see :func:`audit_environment`)."""
    if licenses:
        raise UsageError(
            "a lockfile does not say which license its packages carry",
            hint="audit licenses of an environment: `envkernels audit TARGET --licenses`",
        )
    try:
        from envkernels.lockfiles import read_lock
    except ImportError as exc:  # the lockfile readers are not in this build
        raise UsageError("reading lockfiles is not available in this build of envkernels") from exc
    lock_path = Path(path).resolve()
    lock = read_lock(lock_path)
    environment = lockfile_environment(lock_path)
    cfg, notes = _configuration(project or lock_path.parent, config, deadline)
    clock = _deadline(cfg)
    source = select_source(cfg, db=db, api_url=api_url, deadline=clock)
    items: list[AuditItem] = []
    skipped: list[Skipped] = []
    for pkg in lock.packages:
        if pkg.version:
            items.append(AuditItem(pkg.name, pkg.version))
        else:
            skipped.append(Skipped(pkg.name, "", "the lock pins no version (a directory or VCS entry)"))
    report = audit_items(
        environment,
        items,
        source=source,
        config=cfg,
        lock=str(lock_path),
        skipped=skipped,
        deadline=clock,
        notes=notes,
    )
    if lock.warnings:
        extra_findings = tuple(Finding("lock-warning", "warning", None, w, None) for w in lock.warnings)
        report = replace(report, findings=report.findings + extra_findings)
    return report


def package_fixes(
    vulns: Sequence[Vulnerability],
    environment: Environment,
    lock: str | None,
    resolved: dict[str, str] | None = None,
) -> dict[str, str]:
    """Per vulnerable package, the one hint that lifts all its vulnerabilities (each one's ``fix``).

    ``resolved`` (an environment's fix, resolved against what depends on the package) wins; else
    the highest first fix. A vulnerability with no known fix decides the hint for its package:
    no upgrade lifts it.
    """
    groups: dict[str, list[Vulnerability]] = {}
    for vuln in vulns:
        groups.setdefault(vuln.package, []).append(vuln)
    hints: dict[str, str] = {}
    for pkg, group in groups.items():
        if resolved and pkg in resolved:
            hints[pkg] = resolved[pkg]
            continue
        unfixed = [v for v in group if not v.fixed_in]
        pick = unfixed[0] if unfixed else max(group, key=lambda v: parse_version(v.fixed_in[0]) or _NONE)
        hints[pkg] = _fix_hint(pick, environment, lock)
    return hints


def sbom_for(report: AuditReport) -> str:
    """A CycloneDX JSON SBOM of what ``report`` audited (its distributions and vulnerabilities)."""
    from envkernels.audit.sbom import SbomComponent, build_sbom

    env = report.environment
    components: list[SbomComponent] = []
    if env.kind == "lockfile":
        from envkernels.lockfiles import read_lock

        components = [SbomComponent(p.name, p.version) for p in read_lock(env.prefix).packages if p.version]
    else:
        from envkernels.inspect.inventory import inventory

        for dist in inventory(env.prefix).distributions:
            if dist.version and dist.version != "?":
                components.append(SbomComponent(dist.name, dist.version, license_of(dist).display))
    return build_sbom(env, components, report.vulnerabilities)
