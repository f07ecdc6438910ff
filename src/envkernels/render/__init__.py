"""Renderers over the result model, one per medium: :mod:`.html` (the notebook) and :mod:`.text`
(the terminal, and the notebook's text/plain); the widgets (``kernel_side/envkernels_widgets.py``)
and the JupyterLab views (``labextension/src/views.ts``) draw the same JSON in their own media.

``render(kind, result)`` gives ``(html, text)`` for what a magic shows; ``kind`` names the result
(``report``, ``environments``, ``lock``, ``plan``, ``sync``) and picks the pair of renderers from a
table. Renderers format; what to show (the order, the fix, which finding stands for which
vulnerability) is the model's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from envkernels.model import (
    AuditReport,
    Environment,
    LockSummary,
    Plan,
    Report,
    SyncOutcome,
    report_from_dict,
)
from envkernels.model.codec import Record
from envkernels.render import html, text
from envkernels.render.html import SEVERITY_COLOURS, esc, osv_url

Result = Record | Mapping[str, object]
_Pair = Callable[[Result, Environment | None], tuple[str, str]]


def report(result: Report | AuditReport) -> tuple[str, str]:
    """``(html, text)`` of a check or an audit report."""
    if isinstance(result, AuditReport):
        return html.audit_html(result), text.audit_text(result)
    return html.check_html(result), text.check_text(result)


def _report(result: Result, environment: Environment | None) -> tuple[str, str]:
    if isinstance(result, Report | AuditReport):
        return report(result)
    if isinstance(result, Mapping):
        return report(report_from_dict(result))
    raise TypeError(f"not a report: {type(result).__name__}")


def _environments(result: Result, environment: Environment | None) -> tuple[str, str]:
    data = result.to_dict() if isinstance(result, Record) else result
    raw = data.get("environments")
    envs = [Environment.from_dict(e) for e in raw if isinstance(e, Mapping)] if isinstance(raw, list) else []
    current = data.get("current")
    here = current if isinstance(current, str) else None
    return html.environments_html(envs, here), text.environments_text(envs, here)


def _lock(result: Result, environment: Environment | None) -> tuple[str, str]:
    if not isinstance(result, LockSummary):
        raise TypeError(f"not a lock: {type(result).__name__}")
    return html.lock_html(result, environment), text.lock_text(result)


def _plan(result: Result, environment: Environment | None) -> tuple[str, str]:
    if not isinstance(result, Plan | SyncOutcome):
        raise TypeError(f"not a plan: {type(result).__name__}")
    return html.plan_html(result, environment), text.plan_text(result)


RENDERERS: dict[str, _Pair] = {
    "report": _report,
    "environments": _environments,
    "lock": _lock,
    "plan": _plan,
    "sync": _plan,
}


def render(kind: str, result: Result, environment: Environment | None = None) -> tuple[str, str]:
    """``(html, text)`` for a result of ``kind`` (a key of :data:`RENDERERS`) about ``environment``."""
    try:
        pair = RENDERERS[kind]
    except KeyError:
        raise ValueError(f"unknown result kind {kind!r}") from None
    return pair(result, environment)


__all__ = [
    "RENDERERS",
    "SEVERITY_COLOURS",
    "esc",
    "html",
    "osv_url",
    "render",
    "report",
    "text",
]
