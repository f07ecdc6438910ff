"""The data envkernels speaks in: the environment record and findings.

Frozen dataclasses with ``to_dict``/``from_dict`` so the CLI (``--json``), the REST API and
the kernelspec metadata all carry exactly the shape that docs/reference.md documents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Kind = Literal["venv", "uv", "poetry", "pdm", "hatch", "pipenv", "conda", "pixi", "pyenv", "system"]
KINDS: tuple[str, ...] = (
    "venv",
    "uv",
    "poetry",
    "pdm",
    "hatch",
    "pipenv",
    "conda",
    "pixi",
    "pyenv",
    "system",
)
Status = Literal["ok", "broken", "unsupported"]
Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "error")


@dataclass(frozen=True)
class Environment:
    """One Python environment, as discovery found it on disk (docs/reference.md: the environment record)."""

    id: str
    kind: str
    name: str
    prefix: str
    python: str | None
    python_version: str | None
    implementation: str = "cpython"
    free_threaded: bool = False
    project: str | None = None
    lockfiles: tuple[str, ...] = ()
    has_ipykernel: bool = False
    kernel_name: str = ""
    status: str = "ok"
    problem: str | None = None
    hint: str | None = None
    # Under a shared root (an administrator's read-only environments): envkernels never writes there.
    shared: bool = False

    @property
    def ok(self) -> bool:
        """True when the environment is usable (``status == "ok"``)."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of docs/reference.md (lists, not tuples)."""
        data = asdict(self)
        data["lockfiles"] = list(self.lockfiles)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        """Rebuild a record from its JSON form; unknown keys are ignored (forward compatibility)."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["lockfiles"] = tuple(kwargs.get("lockfiles") or ())
        return cls(**kwargs)


@dataclass(frozen=True)
class Finding:
    """One thing `check` or `audit` has to say about an environment."""

    code: str
    severity: str
    package: str | None
    message: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of docs/reference.md's findings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Rebuild a finding from its JSON form."""
        return cls(
            code=data["code"],
            severity=data["severity"],
            package=data.get("package"),
            message=data["message"],
            hint=data.get("hint"),
        )


def severity_rank(severity: str) -> int:
    """Order severities so thresholds can be compared: info < warning < error."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Report:
    """Findings about one environment: ``{"environment": record, "findings": [...]}``."""

    environment: Environment
    findings: tuple[Finding, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape printed by ``check --json`` and ``audit --json``."""
        data: dict[str, Any] = {
            "environment": self.environment.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
        }
        data.update(self.extra)
        return data

    def worst(self) -> str | None:
        """The most severe finding's severity, or None when there are none."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=severity_rank)
