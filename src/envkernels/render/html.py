"""HTML for the notebook: check and audit reports, environments, locks and sync plans.

Formats what the result model holds (``envkernels.model``) and decides nothing: the order is the
report's own, a vulnerability's fix is its ``fix``, and a ``vulnerability`` finding is drawn once,
as its row of the vulnerabilities table. Every value from outside (package names, advisory
summaries, paths) is escaped; links are built only to osv.dev. The structure (``div.envk``, its
tables, ``code.fix``, ``span.sev``) is what the notebook's styling addresses.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from envkernels.model import (
    AuditReport,
    Environment,
    Finding,
    License,
    LockSummary,
    Plan,
    Report,
    SyncOutcome,
    Vulnerability,
)
from envkernels.render.parts import counts_phrase, lock_sections, lock_where, sync_parts

SEVERITY_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}
_LICENSE_COLOURS = {"denied": "#c62828", "unknown": "#b26a00", "allowed": "#2e7d32"}
_ACTION_COLOURS = {
    "install": "#2e7d32",
    "upgrade": "#1565c0",
    "downgrade": "#b26a00",
    "reinstall": "#6a1b9a",
    "remove": "#c62828",
}
# envkernels' one visual language (the same as the JupyterLab extension's, labextension/style/base.css,
# which also carries these rules for JupyterLab, where an untrusted output's <style> is dropped):
# JupyterLab's CSS variables (with plain fallbacks outside Lab), left-aligned cells, monospace names
# and versions that never break at their hyphens, and severities as text in the font colour with a
# coloured dot, so every theme (Light, Dark, High Contrast) keeps them readable. The selectors carry
# `table` so they win over JupyterLab's right-aligned, striped rendered-HTML tables.
_STYLE = (
    "<style>.envk{font-family:var(--jp-ui-font-family,sans-serif);font-size:var(--jp-ui-font-size1,13px);"
    "color:var(--jp-ui-font-color1,inherit);text-align:left}"
    ".envk table{border-collapse:collapse;margin:4px 0;text-align:left}"
    ".envk table th,.envk table td{border:none;border-bottom:1px solid var(--jp-border-color2,#e0e0e0);"
    "padding:3px 12px 3px 0;text-align:left;vertical-align:top;color:var(--jp-ui-font-color1,inherit);"
    "white-space:normal;line-height:1.4}"
    ".envk table th{font-weight:600;border-bottom-color:var(--jp-border-color1,#bdbdbd)}"
    ".envk table tbody tr,.envk table tbody tr:nth-child(odd),"
    ".envk table tbody tr:hover{background:transparent}"
    ".envk table td.m{font-family:var(--jp-code-font-family,monospace);"
    "font-size:var(--jp-code-font-size,12px);white-space:nowrap}"
    ".envk code{font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,12px);"
    "background:var(--jp-layout-color2,rgba(127,127,127,.12));color:inherit;padding:0 3px;border-radius:2px}"
    ".envk code.fix{user-select:all;white-space:pre-wrap;overflow-wrap:anywhere}"
    ".envk .sev{display:inline-flex;align-items:center;gap:4px;white-space:nowrap;padding:0 6px;"
    "border:1px solid var(--jp-border-color1,#bdbdbd);border-radius:8px;"
    "font-size:var(--jp-ui-font-size0,11px);"
    "color:var(--jp-ui-font-color1,inherit);background:transparent}"
    ".envk .sev::before{content:'';width:7px;height:7px;border-radius:50%;background:var(--envk-sev,#757575)}"
    ".envk .muted{color:var(--jp-ui-font-color2,inherit);opacity:1}"
    ".envk .envk-copy{margin-left:4px;vertical-align:middle}</style>"
)
# the JupyterLab variable each severity's dot takes there (the hex values outside Lab)
_SEVERITY_VARS = {"error": "--jp-error-color1", "warning": "--jp-warn-color1", "info": "--jp-info-color1"}
# columns whose cells are names, versions, ids or paths: monospace, unbroken
_MONO_HEADERS = frozenset(
    {
        "code",
        "package",
        "version",
        "advisory",
        "aliases",
        "fixed in",
        "name",
        "python",
        "prefix",
        "kernel",
        "installed",
        "locked",
        "license",
    }
)


def esc(value: object) -> str:
    """HTML-escape any value (None becomes an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def osv_url(advisory_id: str) -> str:
    """The public page of an advisory: ``https://osv.dev/vulnerability/<id>``."""
    return "https://osv.dev/vulnerability/" + quote(str(advisory_id), safe="")


def _badge(severity: str, label: str | None = None) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#555")
    var = _SEVERITY_VARS.get(severity)
    dot = f"var({var},{colour})" if var else colour
    return f'<span class="sev sev-{esc(severity)}" style="--envk-sev:{dot}">{esc(label or severity)}</span>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    cls = ['<td class="m">' if h in _MONO_HEADERS else "<td>" for h in headers]
    body = "".join(
        "<tr>" + "".join(f"{cls[i] if i < len(cls) else '<td>'}{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fix(hint: str | None) -> str:
    """A hint, with its backticked commands as copyable code."""
    if not hint:
        return ""
    parts = str(hint).split("`")
    return "".join(f'<code class="fix">{esc(p)}</code>' if i % 2 else esc(p) for i, p in enumerate(parts))


def _inline(text: object) -> str:
    """Escaped text with its backticked parts as code (messages name packages and paths that way)."""
    parts = esc(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: leave the text as it is
        return esc(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _coloured(colour: str, text: object) -> str:
    """A status as text in the font colour with a coloured dot (readable in every theme)."""
    return f'<span class="sev" style="--envk-sev:{colour}">{esc(text)}</span>'


def _link(advisory_id: str) -> str:
    return f'<a href="{esc(osv_url(advisory_id))}" target="_blank" rel="noopener">{esc(advisory_id)}</a>'


def _env_line(env: Environment | None) -> str:
    if env is None:
        return ""
    desc = f"{env.name or env.id} ({env.kind}, Python {env.python_version or '?'}) at {env.prefix}"
    return f'<div class="muted">{esc(desc)}</div>'


def _summary(findings: Sequence[Finding]) -> str:
    return counts_phrase(findings) or "no findings"


def findings_html(findings: Sequence[Finding]) -> str:
    """The findings table (in the report's order): severity colour, code, package, message, copyable fix."""
    rows = [
        (_badge(f.severity), esc(f.code), esc(f.package or ""), _inline(f.message), _fix(f.hint))
        for f in findings
    ]
    return _table(("severity", "code", "package", "message", "fix"), rows)


def vulnerabilities_html(vulns: Sequence[Vulnerability]) -> str:
    """The vulnerabilities table: advisory links to osv.dev, fixed versions, and each one's fix."""
    rows = [
        (
            esc(v.package),
            esc(v.version),
            _link(v.id),
            ", ".join(_link(a) for a in v.aliases),
            esc(v.summary),
            esc(", ".join(v.fixed_in) or "no fix yet"),
            _fix(v.fix),
        )
        for v in vulns
    ]
    return _table(("package", "version", "advisory", "aliases", "summary", "fixed in", "fix"), rows)


def licenses_html(licenses: Sequence[License]) -> str:
    """The license table with the policy's verdict (denied, unknown, then the allowed folded away)."""

    def rows(items: Sequence[License]) -> list[tuple[str, str, str, str]]:
        return [
            (
                esc(x.package),
                esc(x.version),
                esc(x.license or "?"),
                _coloured(_LICENSE_COLOURS.get(x.status, "#555"), x.status),
            )
            for x in items
        ]

    headers = ("package", "version", "license", "status")
    flagged = [x for x in licenses if x.status != "allowed"]
    allowed = [x for x in licenses if x.status == "allowed"]
    out = _table(headers, rows(flagged)) if flagged else ""
    if allowed:
        out += f"<details><summary>{len(allowed)} allowed</summary>{_table(headers, rows(allowed))}</details>"
    return out


def check_html(report: Report, title: str = "Environment check") -> str:
    """A check report: the summary line, the environment, the findings."""
    parts = [_STYLE, '<div class="envk">', f"<b>{esc(title)}</b>: {esc(_summary(report.findings))}"]
    parts.append(_env_line(report.environment))
    if report.findings:
        parts.append(findings_html(report.findings))
    parts.append("</div>")
    return "".join(parts)


def audit_html(report: AuditReport, title: str = "Environment audit") -> str:
    """An audit: each vulnerability once (with its links and fix), the other findings, the licenses."""
    parts = [_STYLE, '<div class="envk">', f"<b>{esc(title)}</b>: {esc(_summary(report.findings))}"]
    parts.append(_env_line(report.environment))
    parts.append(f"<div><b>Vulnerabilities</b>: {len(report.vulnerabilities)}</div>")
    if report.vulnerabilities:
        parts.append(vulnerabilities_html(report.vulnerabilities))
    others = report.other_findings()
    if others:
        parts.append(findings_html(others))
    if report.licenses:
        parts.append("<div><b>Licenses</b></div>")
        parts.append(licenses_html(report.licenses))
    parts.append("</div>")
    return "".join(parts)


def environments_html(environments: Sequence[Environment], current: str | None = None) -> str:
    """The environments table; the kernel's own environment (prefix ``current``) is marked."""
    rows = []
    for e in environments:
        mark = " &#9668; this kernel" if current and e.prefix == current else ""
        status = _badge("info", "ok") if e.status == "ok" else _badge("error", e.status)
        problem = f"{esc(e.problem)} {_fix(e.hint)}" if e.problem else ""
        rows.append(
            (
                f"<b>{esc(e.name)}</b>{mark}",
                esc(e.kind),
                esc(e.python_version or "?"),
                status,
                esc(e.prefix),
                esc(e.kernel_name),
                problem,
            )
        )
    table = _table(("name", "kind", "python", "status", "prefix", "kernel", "problem"), rows)
    return f'{_STYLE}<div class="envk"><b>Environments</b>: {len(environments)}{table}</div>'


def lock_html(lock: LockSummary, environment: Environment | None = None) -> str:
    """A written lock: where it went, how many packages, and what it cannot give back."""
    where = lock_where(lock)
    head = f"<b>Locked</b> {lock.packages} packages"
    head += f" into <code>{esc(where)}</code>" if where else ""
    parts = [_STYLE, '<div class="envk">', head, _env_line(environment)]
    facts = []
    if lock.index:
        facts.append(("index", esc(lock.index)))
    if lock.backup:
        facts.append(("previous lock kept as", f"<code>{esc(lock.backup)}</code>"))
    if lock.project_lock_agrees is not None:
        state = "agrees" if lock.project_lock_agrees else "does NOT agree"
        facts.append(
            ("project lock", f"<code>{esc(lock.project_lock)}</code> {state} with what is installed")
        )
    if facts:
        parts.append(_table(("", ""), facts))
    for title, items in lock_sections(lock):
        parts.append(f"<div><b>{esc(title)}</b> ({len(items)})</div><ul>")
        parts.extend(f"<li>{esc(i)}</li>" for i in items)
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def plan_html(result: Plan | SyncOutcome, environment: Environment | None = None) -> str:
    """A sync plan (or an applied sync's outcome): one row per install/upgrade/downgrade/remove."""
    shown = sync_parts(result)
    parts = [_STYLE, '<div class="envk">', f"<b>{esc(shown.head)}</b>", _env_line(environment)]
    if shown.rows:
        parts.append(
            _table(
                ("action", "package", "installed", "locked"),
                [
                    (_coloured(_ACTION_COLOURS.get(a, "#555"), a), esc(n), esc(f), esc(t))
                    for a, n, f, t in shown.rows
                ],
            )
        )
    if shown.rows and isinstance(result, Plan):
        parts.append(f'<div>apply with <code class="fix">%envsync {esc(shown.lock)} --apply</code></div>')
    if shown.undo:
        parts.append(f'<div>undo with <code class="fix">{esc(shown.undo)}</code></div>')
    parts.extend(f"<div>warning: {esc(w)}</div>" for w in shown.warnings)
    parts.append("</div>")
    return "".join(parts)


__all__ = [
    "SEVERITY_COLOURS",
    "audit_html",
    "check_html",
    "environments_html",
    "esc",
    "findings_html",
    "licenses_html",
    "lock_html",
    "osv_url",
    "plan_html",
    "vulnerabilities_html",
]
