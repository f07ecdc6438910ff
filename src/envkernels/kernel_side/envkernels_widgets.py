"""ipywidgets views of the magics' results, for kernels whose environment has ipywidgets.

Stock ipywidgets only (no JavaScript of our own), and nothing else outside the standard library,
because this runs inside the user's kernel. Each view is built from the result's JSON data:

- environments: a filter box over the environments table, and buttons for this kernel's env;
- check/audit report: a filter box and one expandable Accordion section per package;
- sync plan: the plan table and an Apply button;
- lock and sync results: their HTML.

Buttons that change something (lock, sync) ask for confirmation before they run.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the kernel may run Python 3.8, where these do not subscript at runtime
    from collections.abc import Callable, Sequence

    Runner = Callable[[str, dict[str, Any]], Any]

SEVERITY_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}
_ORDER = {"error": 0, "warning": 1, "info": 2}


def _esc(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


# The look of envkernels' notebook outputs (envkernels/render/html.py, which this kernel-side module cannot
# import): JupyterLab's CSS variables, left-aligned cells, monospace names and versions, severities as
# text with a coloured dot. Inline, as widget HTML gets no stylesheet of ours.
_CELL = (
    "text-align:left;padding:3px 12px 3px 0;vertical-align:top;border:none;"
    "border-bottom:1px solid var(--jp-border-color2,#e0e0e0);color:var(--jp-ui-font-color1,inherit);"
    "background:transparent"
)
_MONO = (
    "font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,12px);"
    "white-space:nowrap"
)
_MONO_HEADERS = frozenset({"code", "package", "version", "license"})
_SEVERITY_VARS = {"error": "--jp-error-color1", "warning": "--jp-warn-color1", "info": "--jp-info-color1"}


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th style='{_CELL};font-weight:600'>{_esc(h)}</th>" for h in headers)
    styles = [f"{_CELL};{_MONO}" if h in _MONO_HEADERS else _CELL for h in headers]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='{styles[i] if i < len(styles) else _CELL}'>{c}</td>" for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = "<table style='border-collapse:collapse;text-align:left'>"
    return f"{table}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#555")
    var = _SEVERITY_VARS.get(severity)
    dot = f"var({var},{colour})" if var else colour
    return (
        "<span style='display:inline-flex;align-items:center;gap:4px;white-space:nowrap;padding:0 6px;"
        "border:1px solid var(--jp-border-color1,#bdbdbd);border-radius:8px;font-size:11px;"
        f"color:var(--jp-ui-font-color1,inherit)'><span style='width:7px;height:7px;border-radius:50%;"
        f"background:{dot}'></span>{_esc(severity)}</span>"
    )


def _fix(hint: str | None) -> str:
    if not hint:
        return ""
    parts = str(hint).split("`")
    code = (
        "user-select:all;font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,12px);"
        "background:var(--jp-layout-color2,rgba(127,127,127,.12));padding:0 3px;border-radius:2px;"
        "white-space:pre-wrap;overflow-wrap:anywhere"
    )
    return "".join(
        f"<code class='fix' style='{code}'>{_esc(p)}</code>" if i % 2 else _esc(p)
        for i, p in enumerate(parts)
    )


def matches(query: str, *fields: Any) -> bool:
    """True when every word of ``query`` occurs (case-insensitive) in one of ``fields``."""
    hay = " ".join(str(f) for f in fields if f is not None).lower()
    return all(word in hay for word in query.lower().split())


# --------------------------------------------------------------------------- confirmation


def confirm_button(label: str, question: str, action: Callable[[], Any], output: Any) -> Any:
    """A button that asks ``question`` with Confirm/Cancel before calling ``action``.

    The result (or the error) of ``action`` is displayed in ``output`` (an ``Output`` widget).
    """
    import ipywidgets as w

    start = w.Button(description=label, tooltip=question)
    prompt = w.HTML(value=f"<b>{_esc(question)}</b>")
    yes = w.Button(description="Confirm", button_style="danger")
    no = w.Button(description="Cancel")
    confirm = w.HBox([prompt, yes, no], layout=w.Layout(display="none"))

    def ask(_b: Any) -> None:
        confirm.layout.display = "flex"
        start.disabled = True

    def cancel(_b: Any) -> None:
        confirm.layout.display = "none"
        start.disabled = False

    def go(_b: Any) -> None:
        cancel(_b)
        output.clear_output()
        with output:
            try:
                result = action()
            except Exception as exc:  # shown in the widget, never lost in the kernel log
                msg = getattr(exc, "message", None) or str(exc)
                hint = getattr(exc, "hint", None)
                print(f"error: {msg}" + (f"\nhint: {hint}" if hint else ""))
                return
            from IPython.display import display

            display(result)

    start.on_click(ask)
    no.on_click(cancel)
    yes.on_click(go)
    return w.VBox([start, confirm])


def _actions(runner: Runner | None, output: Any) -> list[Any]:
    """Lock and sync buttons for this kernel's environment (each with a confirmation step)."""
    if runner is None:
        return []
    lock = confirm_button(
        "Lock environment",
        "Write pylock.toml (next to the notebook) from this environment?",
        lambda: runner("lock", {"output": None, "notebook": False, "hashes": True, "index_url": None}),
        output,
    )
    plan = confirm_button(
        "Sync to lock",
        "Compute the plan that makes this environment match its lock? (nothing is changed yet)",
        lambda: runner("plan_sync", {"lock": None}),
        output,
    )
    return [lock, plan]


# --------------------------------------------------------------------------- views


def environments_view(data: dict[str, Any], runner: Runner | None) -> Any:
    """The environments with a filter box (name, kind, prefix, Python version)."""
    import ipywidgets as w

    envs = list(data.get("environments") or [])
    current = data.get("current")
    query = w.Text(placeholder="filter: name, kind, path, version", description="Filter")
    table = w.HTML()
    count = w.HTML()

    def refresh(_change: Any = None) -> None:
        rows = []
        for e in envs:
            if not matches(
                query.value,
                e.get("name"),
                e.get("kind"),
                e.get("prefix"),
                e.get("python_version"),
                e.get("id"),
            ):
                continue
            mark = " &#9668; this kernel" if e.get("prefix") == current else ""
            status = (
                _esc(e.get("status"))
                if not e.get("problem")
                else (f"{_badge('error')} {_esc(e.get('problem'))} {_fix(e.get('hint'))}")
            )
            rows.append(
                (
                    f"<b>{_esc(e.get('name'))}</b>{mark}",
                    _esc(e.get("kind")),
                    _esc(e.get("python_version")),
                    status,
                    _esc(e.get("prefix")),
                )
            )
        table.value = _table(("name", "kind", "python", "status", "prefix"), rows)
        count.value = f"<b>Environments</b>: {len(rows)} of {len(envs)}"

    query.observe(refresh, names="value")
    refresh()
    output = w.Output()
    parts = [count, query, table]
    if data.get("packages"):
        parts.append(packages_view(data["packages"]))
    return w.VBox([*parts, w.HBox(_actions(runner, output)), output])


def packages_view(packages: list[dict[str, Any]]) -> Any:
    """The kernel environment's distributions in a collapsed section, with a filter box."""
    import ipywidgets as w

    query = w.Text(placeholder="filter: name, version, summary", description="Filter")
    table = w.HTML()

    def refresh(_change: Any = None) -> None:
        rows = [
            (
                f"<b>{_esc(p.get('name'))}</b>",
                _esc(p.get("version")),
                "editable" if p.get("editable") else _esc(p.get("installer") or ""),
                _esc(p.get("problem") or p.get("summary") or ""),
            )
            for p in packages
            if matches(query.value, p.get("name"), p.get("version"), p.get("summary"))
        ]
        table.value = _table(("package", "version", "installed by", "summary"), rows)

    query.observe(refresh, names="value")
    refresh()
    return w.Accordion(
        children=[w.VBox([query, table])],
        titles=(f"Packages in this kernel's environment ({len(packages)})",),
    )


def _by_package(data: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Findings and vulnerabilities grouped by package (``(environment)`` for none), each thing once.

    A ``vulnerability`` finding names its vulnerability (``"vulnerability": id``): it is shown as
    that vulnerability's row (with the fix), not as a second entry.
    """
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for f in data.get("findings") or []:
        if f.get("vulnerability"):
            continue
        groups.setdefault(f.get("package") or "(environment)", []).append(("finding", f))
    for v in data.get("vulnerabilities") or []:
        groups.setdefault(v.get("package") or "(environment)", []).append(("vulnerability", v))
    return groups


def _worst(items: list[tuple[str, dict[str, Any]]]) -> str:
    sev = [i.get("severity", "warning") for kind, i in items if kind == "finding"]
    if any(kind == "vulnerability" for kind, _ in items):
        sev.append("error")
    return min(sev or ["info"], key=lambda s: _ORDER.get(s, 3))


def _section_html(items: list[tuple[str, dict[str, Any]]]) -> str:
    rows = []
    for kind, item in items:
        if kind == "finding":
            rows.append(
                (
                    _badge(item.get("severity", "info")),
                    _esc(item.get("code")),
                    _esc(item.get("message")),
                    _fix(item.get("hint")),
                )
            )
        else:
            vid = str(item.get("id", ""))
            link = f"<a href='https://osv.dev/vulnerability/{_esc(vid)}' target='_blank'>{_esc(vid)}</a>"
            fixed = ", ".join(item.get("fixed_in") or ()) or "no fix yet"
            fix = f"fixed in {_esc(fixed)}" + (f"<br>{_fix(item.get('fix'))}" if item.get("fix") else "")
            rows.append((_badge("error"), link, _esc(item.get("summary")), fix))
    # `envk`: in JupyterLab, envkernels' extension puts a copy button beside each fix command in it
    return f"<div class='envk'>{_table(('severity', 'code', 'message', 'fix'), rows)}</div>"


def report_view(result: Any, runner: Runner | None) -> Any:
    """A check/audit report: summary, a filter box, one Accordion section per package."""
    import ipywidgets as w

    data = result.data
    groups = _by_package(data)
    names = sorted(groups, key=lambda n: (_ORDER.get(_worst(groups[n]), 3), n))
    summary = w.HTML(value=result.html.split("<table", 1)[0] + "</div>" if result.html else "")
    query = w.Text(placeholder="filter: package, code, message", description="Filter")
    accordion = w.Accordion()

    def refresh(_change: Any = None) -> None:
        shown = [
            n
            for n in names
            if any(
                matches(query.value, n, i.get("code"), i.get("message"), i.get("id"), i.get("summary"))
                for _k, i in groups[n]
            )
        ]
        accordion.children = [w.HTML(value=_section_html(groups[n])) for n in shown]
        for idx, n in enumerate(shown):
            accordion.set_title(idx, f"{n} ({len(groups[n])}, {_worst(groups[n])})")
        # collapsed until opened; but a report whose only section is about the environment itself
        # (an audit that failed, say) shows it: its one error is not hidden behind a click
        accordion.selected_index = 0 if shown == ["(environment)"] else None

    query.observe(refresh, names="value")
    refresh()
    parts = [summary]
    if names:
        parts += [query, accordion]
    if data.get("licenses"):
        lic_rows = [
            (_esc(x.get("package")), _esc(x.get("version")), _esc(x.get("license")), _esc(x.get("status")))
            for x in data["licenses"]
        ]
        parts.append(
            w.Accordion(
                children=[w.HTML(_table(("package", "version", "license", "status"), lic_rows))],
                titles=("Licenses",),
            )
        )
    output = w.Output()
    parts += [w.HBox(_actions(runner, output)), output]
    return w.VBox(parts)


def plan_view(result: Any, runner: Runner | None) -> Any:
    """A sync plan with an Apply button (confirmation first) when there is something to do."""
    import ipywidgets as w

    parts: list[Any] = [w.HTML(value=result.html)]
    output = w.Output()
    if runner is not None and not result.ok:
        lock = result.data.get("lock")
        parts.append(
            confirm_button(
                "Apply",
                f"Change this environment to match {lock}? (a snapshot is taken first)",
                lambda: runner("apply_sync", {"lock": lock}),
                output,
            )
        )
    parts.append(output)
    return w.VBox(parts)


def build(result: Any, runner: Runner | None = None) -> Any:
    """The widget for a magic's result (an ``EnvResult``); None when ipywidgets is missing."""
    try:
        import ipywidgets as w
    except ImportError:
        return None
    if result.kind == "environments":
        return environments_view(result.data, runner)
    if result.kind == "report":
        return report_view(result, runner)
    if result.kind == "plan":
        return plan_view(result, runner)
    return w.VBox([w.HTML(value=result._repr_html_())])
