"""Renderers over the result model, one per medium: :mod:`.html` (the notebook) and :mod:`.text`
(the terminal, and the notebook's text/plain); the widgets (``kernel_side/envkernels_widgets.py``)
and the JupyterLab views (``labextension/src/views.ts``) draw the same JSON in their own media.

``render(kind, result)`` gives ``(html, text)`` for what a magic shows; ``kind`` names the result
(``report``, ``environments``, ``lock``, ``plan``, ``sync``) and picks the pair of renderers from a
table. Renderers format; what to show (the order, the fix, which finding stands for which
vulnerability) is the model's.
"""

from __future__ import annotations

from collections.abc import Callable

from envkernels.model import (
    AuditReport,
    Environment,
    EnvironmentList,
    LockSummary,
    Plan,
    Report,
    SyncOutcome,
)
from envkernels.model.codec import Record
from envkernels.render import html, text
from envkernels.render.html import SEVERITY_COLOURS, esc, osv_url

_Pair = Callable[[Record, Environment | None], tuple[str, str]]


def report(result: Report | AuditReport) -> tuple[str, str]:
    """``(html, text)`` of a check or an audit report."""
    if isinstance(result, AuditReport):
        return html.audit_html(result), text.audit_text(result)
    return html.check_html(result), text.check_text(result)


def _report(result: Record, environment: Environment | None) -> tuple[str, str]:
    if not isinstance(result, Report | AuditReport):
        raise TypeError(f"not a report: {type(result).__name__}")
    return report(result)


def _environments(result: Record, environment: Environment | None) -> tuple[str, str]:
    if not isinstance(result, EnvironmentList):
        raise TypeError(f"not an environment list: {type(result).__name__}")
    return (
        html.environments_html(result.environments, result.current),
        text.environments_text(result.environments, result.current),
    )


def _lock(result: Record, environment: Environment | None) -> tuple[str, str]:
    if not isinstance(result, LockSummary):
        raise TypeError(f"not a lock: {type(result).__name__}")
    return html.lock_html(result, environment), text.lock_text(result)


def _plan(result: Record, environment: Environment | None) -> tuple[str, str]:
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


def render(kind: str, result: Record, environment: Environment | None = None) -> tuple[str, str]:
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
