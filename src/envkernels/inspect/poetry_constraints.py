"""Poetry's version constraints (``^1.2``, ``~1.2.3``, ``1.2.*``, ``>=1 <2``, ``a || b``) as PEP 440.

Poetry documents these forms under "Dependency specification"; each alternative of a ``||``
union becomes one PEP 440 specifier set, and a version satisfies the constraint when it
satisfies any of them (PEP 440 has no union, so the alternatives are kept apart).
"""

from __future__ import annotations

import re

_OPS = ("===", "==", "!=", "<=", ">=", "~=", "<", ">")
_SPLIT = re.compile(r"\s*,\s*|\s+(?=[<>=!~^*\d])")


def _release(version: str) -> list[int]:
    """The leading numeric release segments of ``version`` (``1.2.3b1`` -> ``[1, 2, 3]``)."""
    out = []
    for part in version.split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
        if m.group() != part:
            break
    return out


def _caret(version: str) -> str:
    rel = _release(version)
    if not rel:
        raise ValueError(f"invalid caret constraint `^{version}`")
    # Bump the first non-zero segment (or the last given one when all are zero).
    idx = next((i for i, v in enumerate(rel) if v != 0), len(rel) - 1)
    upper = [*rel[:idx], rel[idx] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


def _tilde(version: str) -> str:
    rel = _release(version)
    if not rel:
        raise ValueError(f"invalid tilde constraint `~{version}`")
    upper = [rel[0] + 1] if len(rel) == 1 else [rel[0], rel[1] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


def _one(token: str) -> str:
    token = token.strip()
    if not token or token == "*":
        return ""
    if token.startswith("^"):
        return _caret(token[1:].strip())
    if token.startswith("~") and not token.startswith("~="):
        return _tilde(token[1:].strip())
    for op in _OPS:
        if token.startswith(op):
            value = token[len(op) :].strip()
            if op in ("==", "!=") or not value.endswith(".*"):
                return f"{op}{value}"
            return f"{op}{value[:-2]}"  # `>=1.*` means `>=1`
    if token.endswith(".*"):
        return f"=={token}"
    return f"=={token}"


def to_pep440(constraint: str) -> tuple[str, ...]:
    """The PEP 440 specifier sets equivalent to a Poetry constraint, one per ``||`` alternative.

    ``""`` in the result means "any version". Raises ValueError for a constraint that cannot be read.
    """
    alternatives = []
    for alt in constraint.split("||"):
        alt = alt.strip()
        parts = [p for p in _SPLIT.split(alt) if p]
        # `>= 1.2` (operator and version apart) is glued back together.
        glued: list[str] = []
        for p in parts:
            if glued and glued[-1] in (*_OPS, "^", "~"):
                glued[-1] += p
            else:
                glued.append(p)
        specs = [s for s in (_one(p) for p in glued) if s]
        alternatives.append(",".join(specs))
    return tuple(alternatives) or ("",)


def python_marker(constraint: str) -> str | None:
    """A PEP 508 marker on ``python_full_version`` for Poetry's per-dependency ``python`` key."""
    ors = []
    for alt in to_pep440(constraint):
        if not alt:
            return None
        ands = [f"python_full_version {_marker_op(s)}" for s in alt.split(",")]
        ors.append(" and ".join(ands))
    return " or ".join(f"({o})" for o in ors) if len(ors) > 1 else ors[0]


def _marker_op(spec: str) -> str:
    for op in _OPS:
        if spec.startswith(op):
            value = spec[len(op) :]
            if value.endswith(".*"):
                return f"{op} '{value}'"
            return f"{op} '{value}'"
    return f"== '{spec}'"
