"""HTML and plain text for what envkernels reports: findings, audits, environments, locks, sync plans.

Pure functions over the JSON shapes of docs/reference.md (the ``to_dict()`` forms), so the kernel worker
and the in-process magics render the same thing. Every value that comes from outside
(package names, advisory summaries, paths) is escaped; links are built only to osv.dev.
The text forms read right without colour.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

SEVERITY_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_STYLE = (
    "<style>.envk{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px}"
    ".envk table{border-collapse:collapse;margin:4px 0}"
    ".envk th,.envk td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
    ".envk code.fix{user-select:all;background:rgba(127,127,127,.12);padding:1px 4px;border-radius:3px}"
    ".envk .sev{color:#fff;border-radius:3px;padding:0 6px;font-weight:600;font-size:11px}"
    ".envk .muted{opacity:.7}</style>"
)


def esc(value: Any) -> str:
    """HTML-escape any value (None becomes an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def osv_url(advisory_id: str) -> str:
    """The public page of an advisory: ``https://osv.dev/vulnerability/<id>``."""
    return "https://osv.dev/vulnerability/" + quote(str(advisory_id), safe="")


def _badge(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#555")
    return f'<span class="sev" style="background:{colour}">{esc(severity)}</span>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned plain-text columns (the last column is not padded)."""
    if not rows:
        return ""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _fix(hint: str | None) -> str:
    """A hint, with its backticked commands as copyable code."""
    if not hint:
        return ""
    parts = str(hint).split("`")
    out = []
    for i, part in enumerate(parts):
        out.append(f'<code class="fix">{esc(part)}</code>' if i % 2 else esc(part))
    return "".join(out)


def _inline(text: Any) -> str:
    """Escaped text with its backticked parts as code (messages name packages and paths that way)."""
    parts = esc(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: leave the text as it is
        return esc(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _env_line(env: dict[str, Any] | None) -> tuple[str, str]:
    if not env:
        return "", ""
    name = env.get("name") or env.get("id") or "?"
    desc = (
        f"{name} ({env.get('kind', '?')}, Python {env.get('python_version') or '?'}) at {env.get('prefix')}"
    )
    return f'<div class="muted">{esc(desc)}</div>', desc


def sorted_findings(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most severe first, then by package and code."""
    return sorted(
        findings,
        key=lambda f: (
            _SEVERITY_ORDER.get(f.get("severity", ""), 3),
            f.get("package") or "",
            f.get("code", ""),
        ),
    )


def findings_html(findings: Sequence[dict[str, Any]]) -> str:
    """The findings table: severity colour, code, package, message and the copyable fix."""
    rows = [
        (
            _badge(f.get("severity", "info")),
            esc(f.get("code")),
            esc(f.get("package") or ""),
            _inline(f.get("message")),
            _fix(f.get("hint")),
        )
        for f in sorted_findings(findings)
    ]
    return _table(("severity", "code", "package", "message", "fix"), rows)


def findings_text(findings: Sequence[dict[str, Any]]) -> str:
    """The findings as plain text: one line each, the fix indented below."""
    lines = []
    for f in sorted_findings(findings):
        pkg = f" {f['package']}:" if f.get("package") else ""
        lines.append(f"{f.get('severity', 'info')}[{f.get('code')}]{pkg} {f.get('message')}")
        if f.get("hint"):
            lines.append(f"    fix: {str(f['hint']).replace('`', '')}")
    return "\n".join(lines)


def _summary(findings: Sequence[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.get("severity", "info")] = counts.get(f.get("severity", "info"), 0) + 1
    if not counts:
        return "no findings"
    return ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "info") if s in counts)


def vulnerability_fix(vuln: dict[str, Any], python: str | None) -> str | None:
    """The command that lifts one vulnerability: install the smallest fixed version."""
    fixed = vuln.get("fixed_in") or []
    if not fixed or not vuln.get("package"):
        return None
    target = f"--python {python} " if python else ""
    return f"uv pip install {target}'{vuln['package']}>={fixed[0]}'"


def _vuln_hints(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    """The engine's fix hint per vulnerability, from its ``vulnerability`` finding: (package, id) -> hint."""
    hints: dict[tuple[str, str], str] = {}
    for f in data.get("findings") or ():
        if f.get("code") != "vulnerability" or not f.get("hint"):
            continue
        for v in data.get("vulnerabilities") or ():
            if v.get("package") == f.get("package") and str(v.get("id")) in str(f.get("message")):
                hints.setdefault((str(v.get("package")), str(v.get("id"))), str(f["hint"]))
    return hints


def _split_audit(data: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    """Findings to list in the findings table, and the vulnerability hints: when the report has a
    vulnerabilities table, each ``vulnerability`` finding is shown there (with its link) instead."""
    findings = list(data.get("findings") or [])
    if "vulnerabilities" not in data:
        return findings, {}
    return [f for f in findings if f.get("code") != "vulnerability"], _vuln_hints(data)


def vulnerabilities_html(
    vulns: Sequence[dict[str, Any]],
    python: str | None = None,
    hints: dict[tuple[str, str], str] | None = None,
) -> str:
    """The vulnerabilities table: advisory links to osv.dev, fixed versions, and the fix line."""
    rows = []
    for v in vulns:
        vid = str(v.get("id", ""))
        aliases = ", ".join(
            f'<a href="{esc(osv_url(a))}" target="_blank" rel="noopener">{esc(a)}</a>'
            for a in v.get("aliases") or ()
        )
        hint = (hints or {}).get((str(v.get("package")), vid))
        fix = None if hint else vulnerability_fix(v, python)
        rows.append(
            (
                esc(v.get("package")),
                esc(v.get("version")),
                f'<a href="{esc(osv_url(vid))}" target="_blank" rel="noopener">{esc(vid)}</a>',
                aliases,
                esc(v.get("summary") or ""),
                esc(", ".join(v.get("fixed_in") or ()) or "no fix yet"),
                _fix(hint) if hint else (f'<code class="fix">{esc(fix)}</code>' if fix else ""),
            )
        )
    return _table(("package", "version", "advisory", "aliases", "summary", "fixed in", "fix"), rows)


def vulnerabilities_text(
    vulns: Sequence[dict[str, Any]],
    python: str | None = None,
    hints: dict[tuple[str, str], str] | None = None,
) -> str:
    """The vulnerabilities as plain text, each with its osv.dev link and fix line."""
    lines = []
    for v in vulns:
        fixed = ", ".join(v.get("fixed_in") or ()) or "no fix yet"
        lines.append(
            f"{v.get('package')} {v.get('version')}: {v.get('id')} {v.get('summary') or ''}".rstrip()
        )
        lines.append(f"    {osv_url(str(v.get('id', '')))}  fixed in: {fixed}")
        hint = (hints or {}).get((str(v.get("package")), str(v.get("id"))))
        fix = hint.replace("`", "") if hint else vulnerability_fix(v, python)
        if fix:
            lines.append(f"    fix: {fix}")
    return "\n".join(lines)


def _coloured(colour: str, text: Any) -> str:
    return f'<span style="color:{colour}">{esc(text)}</span>'


_LICENSE_COLOURS = {"denied": "#c62828", "unknown": "#b26a00", "allowed": "#2e7d32"}


_LICENSE_ORDER = {"denied": 0, "unknown": 1, "allowed": 2}


def _sorted_licenses(licenses: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Denied first, then unknown, then allowed; by package name within each."""
    return sorted(
        licenses, key=lambda x: (_LICENSE_ORDER.get(str(x.get("status")), 1), str(x.get("package")).lower())
    )


def licenses_html(licenses: Sequence[dict[str, Any]]) -> str:
    """The license table with the policy's verdict; the allowed ones folded away."""

    def rows(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
        return [
            (
                esc(x.get("package")),
                esc(x.get("version")),
                esc(x.get("license") or "?"),
                _coloured(_LICENSE_COLOURS.get(str(x.get("status")), "#555"), x.get("status")),
            )
            for x in items
        ]

    headers = ("package", "version", "license", "status")
    ordered = _sorted_licenses(licenses)
    flagged = [x for x in ordered if x.get("status") != "allowed"]
    allowed = [x for x in ordered if x.get("status") == "allowed"]
    out = _table(headers, rows(flagged)) if flagged else ""
    if allowed:
        out += f"<details><summary>{len(allowed)} allowed</summary>{_table(headers, rows(allowed))}</details>"
    return out


def licenses_text(licenses: Sequence[dict[str, Any]]) -> str:
    """The license table as aligned text."""
    rows = [
        (str(x.get("package")), str(x.get("version")), str(x.get("license") or "?"), str(x.get("status")))
        for x in _sorted_licenses(licenses)
    ]
    return _text_table(("package", "version", "license", "status"), rows)


def report_html(data: dict[str, Any], title: str = "Environment check") -> str:
    """A check or audit report (``{"environment", "findings", "vulnerabilities"?, "licenses"?}``)."""
    env = data.get("environment") or {}
    env_html, _ = _env_line(env)
    summary = _summary(data.get("findings") or [])
    findings, hints = _split_audit(data)
    parts = [_STYLE, '<div class="envk">', f"<b>{esc(title)}</b>: {esc(summary)}", env_html]
    if "vulnerabilities" in data:
        vulns = data.get("vulnerabilities") or []
        parts.append(f"<div><b>Vulnerabilities</b>: {len(vulns)}</div>")
        if vulns:
            parts.append(vulnerabilities_html(vulns, env.get("python"), hints))
    if findings:
        parts.append(findings_html(findings))
    if data.get("licenses"):
        parts.append("<div><b>Licenses</b></div>")
        parts.append(licenses_html(data["licenses"]))
    parts.append("</div>")
    return "".join(parts)


def report_text(data: dict[str, Any], title: str = "Environment check") -> str:
    """A check or audit report as plain text."""
    env = data.get("environment") or {}
    _, env_desc = _env_line(env)
    findings, hints = _split_audit(data)
    lines = [f"{title}: {_summary(data.get('findings') or [])}"]
    if env_desc:
        lines.append(env_desc)
    if "vulnerabilities" in data:
        vulns = data.get("vulnerabilities") or []
        lines.append(f"Vulnerabilities: {len(vulns)}")
        if vulns:
            lines.append(vulnerabilities_text(vulns, env.get("python"), hints))
    if findings:
        lines.append(findings_text(findings))
    if data.get("licenses"):
        lines.append("Licenses:")
        lines.append(licenses_text(data["licenses"]))
    return "\n".join(lines)


def environments_html(data: dict[str, Any]) -> str:
    """The environments table; the kernel's own environment is marked."""
    current = data.get("current")
    rows = []
    for e in data.get("environments") or []:
        mark = " &#9668; this kernel" if current and e.get("prefix") == current else ""
        status = (
            _badge("info").replace(">info<", ">ok<")
            if e.get("status") == "ok"
            else _badge("error").replace(">error<", ">broken<")
        )
        problem = f"{esc(e.get('problem'))} {_fix(e.get('hint'))}" if e.get("problem") else ""
        rows.append(
            (
                f"<b>{esc(e.get('name'))}</b>{mark}",
                esc(e.get("kind")),
                esc(e.get("python_version") or "?"),
                status,
                esc(e.get("prefix")),
                esc(e.get("kernel_name")),
                problem,
            )
        )
    count = len(data.get("environments") or [])
    table = _table(("name", "kind", "python", "status", "prefix", "kernel", "problem"), rows)
    return f'{_STYLE}<div class="envk"><b>Environments</b>: {count}{table}</div>'


def environments_text(data: dict[str, Any]) -> str:
    """The environments as aligned text; the kernel's own is marked with ``*``."""
    current = data.get("current")
    rows = []
    for e in data.get("environments") or []:
        mark = "*" if current and e.get("prefix") == current else " "
        status = e.get("status", "ok") if not e.get("problem") else f"broken: {e.get('problem')}"
        rows.append(
            (
                mark,
                str(e.get("name")),
                str(e.get("kind")),
                str(e.get("python_version") or "?"),
                str(e.get("prefix")),
                status,
            )
        )
    if not rows:
        return "no environments found"
    return _text_table(("", "name", "kind", "python", "prefix", "status"), rows)


def _lock_sections(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The parts of a lock result a reader must see: what has no hash, what cannot be reproduced."""
    sections = []

    def named(items: Any) -> list[str]:
        return [
            f"{i.get('name')} {i.get('version') or ''}: {i.get('reason') or ''}".strip().rstrip(":")
            if isinstance(i, dict)
            else str(i)
            for i in items or ()
        ]

    if data.get("missing"):
        sections.append(
            ("Without URL and hash (will install, without hash checking)", named(data["missing"]))
        )
    if data.get("not_reproducible"):
        sections.append(("Not reproducible elsewhere", named(data["not_reproducible"])))
    if data.get("project_lock_differences"):
        sections.append(
            (
                f"`{data.get('project_lock')}` differs from what is installed",
                [str(x) for x in data["project_lock_differences"]],
            )
        )
    if data.get("warnings"):
        sections.append(("Warnings", [str(x) for x in data["warnings"]]))
    return sections


def _lock_where(data: dict[str, Any]) -> str:
    places = [str(p) for p in (data.get("path"), data.get("notebook")) if p]
    return " and ".join(places)


def lock_html(data: dict[str, Any]) -> str:
    """A written lock: where it went, how many packages, and what it cannot give back."""
    env_html, _ = _env_line(data.get("environment"))
    where = _lock_where(data)
    head = f"<b>Locked</b> {esc(data.get('packages', '?'))} packages"
    head += f" into <code>{esc(where)}</code>" if where else ""
    parts = [_STYLE, '<div class="envk">', head, env_html]
    facts = []
    if data.get("index"):
        facts.append(("index", esc(data["index"])))
    if data.get("backup"):
        facts.append(("previous lock kept as", f"<code>{esc(data['backup'])}</code>"))
    if data.get("project_lock_agrees") is not None:
        state = "agrees" if data["project_lock_agrees"] else "does NOT agree"
        facts.append(
            ("project lock", f"<code>{esc(data.get('project_lock'))}</code> {state} with what is installed")
        )
    if facts:
        parts.append(_table(("", ""), facts))
    for title, items in _lock_sections(data):
        parts.append(f"<div><b>{esc(title)}</b> ({len(items)})</div><ul>")
        parts.extend(f"<li>{esc(i)}</li>" for i in items)
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def lock_text(data: dict[str, Any]) -> str:
    """A written lock as plain text."""
    where = _lock_where(data)
    lines = [str(data.get("summary") or f"locked {data.get('packages', '?')} packages into {where or '-'}")]
    if data.get("backup"):
        lines.append(f"previous lock kept as {data['backup']}")
    for title, items in _lock_sections(data):
        lines.append(f"{title}:")
        lines.extend(f"  - {i}" for i in items)
    return "\n".join(lines)


_ACTION_COLOURS = {
    "install": "#2e7d32",
    "upgrade": "#1565c0",
    "downgrade": "#b26a00",
    "reinstall": "#6a1b9a",
    "remove": "#c62828",
}


PLAN_GROUPS = ("install", "upgrade", "downgrade", "reinstall", "remove")


def plan_actions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A plan's changes as ``{"action", "name", "from", "to"}``, from its groups
    (``install``/``upgrade``/``downgrade``/``reinstall``/``remove``, as ``SyncPlan.to_dict``)."""
    actions = []
    for group in PLAN_GROUPS:
        for change in data.get(group) or ():
            if isinstance(change, dict):
                actions.append({"action": group, **change})
    return actions


def _action_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (
            str(a.get("action", "?")),
            str(a.get("name") or "?"),
            str(a.get("from") or ""),
            str(a.get("to") or ""),
        )
        for a in plan_actions(data)
    ]


def _sync_parts(data: dict[str, Any], applied: bool) -> tuple[dict[str, Any], str, str | None, list[str]]:
    """(the plan, the head line, the undo command or None, warnings) of a plan or an applied sync."""
    # An applied sync shows what changed on disk ("done"), read again after uv ran.
    nested = data.get("done") or data.get("plan")
    plan: dict[str, Any] = nested if applied and isinstance(nested, dict) else data
    lock = plan.get("lock") or data.get("lock")
    n = len(plan_actions(plan))
    undo = None
    if applied and data.get("applied"):
        head = f"Synced to {lock}: {n} change(s)"
        if data.get("snapshot"):
            undo = f"envkernels sync {data['snapshot']} --target {plan.get('prefix')} --yes"
    elif n and not applied:
        head = f"Sync plan for {lock}: {n} change(s), {plan.get('unchanged', 0)} unchanged"
    else:
        head = f"In sync with {lock}: nothing to do"
    warnings = [
        str(w) for w in (*(plan.get("warnings") or ()), *(data.get("warnings") or () if applied else ()))
    ]
    return plan, head, undo, list(dict.fromkeys(warnings))


def plan_html(data: dict[str, Any], applied: bool = False) -> str:
    """A sync plan (or, ``applied``, a sync result): one row per install/upgrade/downgrade/remove."""
    plan, head, undo, warnings = _sync_parts(data, applied)
    rows = _action_rows(plan)
    env_html, _ = _env_line(data.get("environment"))
    parts = [_STYLE, '<div class="envk">', f"<b>{esc(head)}</b>", env_html]
    if rows:
        parts.append(
            _table(
                ("action", "package", "installed", "locked"),
                [
                    (_coloured(_ACTION_COLOURS.get(a, "#555"), a), esc(n), esc(f), esc(t))
                    for a, n, f, t in rows
                ],
            )
        )
    if rows and not applied:
        parts.append(
            f'<div>apply with <code class="fix">%envsync {esc(plan.get("lock"))} --apply</code></div>'
        )
    if undo:
        parts.append(f'<div>undo with <code class="fix">{esc(undo)}</code></div>')
    parts.extend(f"<div>warning: {esc(w)}</div>" for w in warnings)
    parts.append("</div>")
    return "".join(parts)


def plan_text(data: dict[str, Any], applied: bool = False) -> str:
    """A sync plan (or, ``applied``, a sync result) as plain text."""
    plan, head, undo, warnings = _sync_parts(data, applied)
    rows = _action_rows(plan)
    lines = [head]
    if rows:
        lines.append(_text_table(("action", "package", "installed", "locked"), rows))
    if rows and not applied:
        lines.append(f"apply with: %envsync {plan.get('lock')} --apply")
    if undo:
        lines.append(f"undo with: {undo}")
    lines.extend(f"warning: {w}" for w in warnings)
    return "\n".join(lines)


def render(kind: str, data: dict[str, Any], **context: Any) -> tuple[str, str]:
    """``(html, text)`` for a result of ``kind`` (report, environments, lock, plan, sync)."""
    if kind == "report":
        title = str(context.get("title") or "Environment check")
        return report_html(data, title), report_text(data, title)
    if kind == "environments":
        return environments_html(data), environments_text(data)
    if kind == "lock":
        return lock_html(data), lock_text(data)
    if kind == "plan":
        return plan_html(data), plan_text(data)
    if kind == "sync":
        return plan_html(data, applied=True), plan_text(data, applied=True)
    raise ValueError(f"unknown result kind {kind!r}")
