"""Portable kernel names: which local environment a kernel name from another machine means.

A notebook records the kernel it last ran on in ``metadata.kernelspec.name``. Ours are
``envk-<kind>-<slug>-<hash8>``, and ``hash8`` comes from the resolved prefix, so the same project
checked out at another path (a colleague's machine, CI, a container) has another name and the
notebook would open on "kernel not found". :func:`resolve_kernel_name` maps such a name to the
local environment of the same kind and slug. It is pure: a name (and optionally the notebook's
``metadata.envkernels``) and a list of :class:`~envkernels.model.Environment` records in, one
record out, or :class:`~jupyter_client.kernelspec.NoSuchKernel` when nothing or more than one
environment fits.

How a candidate is chosen (each step only narrows a list of more than one):

1. the environments of the same ``kind`` whose name slugifies to ``slug``;
2. those whose project directory name slugifies to ``slug`` (a project's own ``.venv`` beats a
   same-named environment elsewhere);
3. with a hint, those whose Python (``major.minor``) and implementation match the notebook's
   recorded environment;
4. the usable ones (``status == "ok"``) over broken ones.

Two projects of the same name at two places stay ambiguous: the error names both prefixes, as
starting the wrong one silently is worse than asking.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_client.kernelspec import NoSuchKernel

from envkernels.core.layout import slugify
from envkernels.model import KINDS, Environment

_KIND = "|".join(re.escape(k) for k in KINDS)
_NAME = re.compile(rf"^envk-(?P<kind>{_KIND})-(?P<slug>[a-z0-9._-]+)-(?P<hash8>[0-9a-f]{{8}})$")


@dataclass(frozen=True)
class PortableName:
    """The parts of an ``envk-<kind>-<slug>-<hash8>`` kernel name."""

    kind: str
    slug: str
    hash8: str


class KernelNameNotResolved(NoSuchKernel):
    """No local environment, or more than one, fits a kernel name from another machine.

    A :class:`NoSuchKernel` (so jupyter_client and jupyter_server treat it as an unknown kernel)
    whose message says what was looked for and, when ambiguous, which environments fit, or when
    nothing fits, the closest local environments.
    """

    def __init__(
        self,
        name: str,
        message: str,
        candidates: tuple[Environment, ...] = (),
        closest: tuple[Environment, ...] = (),
    ) -> None:
        super().__init__(name)
        self.message = message
        self.candidates = candidates  # the environments that fit equally well (ambiguous)
        self.closest = closest  # when nothing fits: the local environments most like the name

    def __str__(self) -> str:
        return self.message


def parse_kernel_name(name: str) -> PortableName | None:
    """``PortableName`` of an ``envk-<kind>-<slug>-<hash8>`` name, or None for any other name."""
    match = _NAME.match(name)
    if match is None:
        return None
    return PortableName(match["kind"], match["slug"], match["hash8"])


def environment_hint(metadata: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The environment record in a notebook's ``metadata.envkernels`` (or the record itself).

    Accepts the whole ``metadata.envkernels`` value (``{"lock", "environment"}``, as ``envkernels
    lock --notebook`` writes it) or just its ``environment`` summary; anything else gives None.
    """
    if not isinstance(metadata, Mapping):
        return None
    inner = metadata.get("environment")
    record = inner if isinstance(inner, Mapping) else metadata
    return record if ("kind" in record or "id" in record) else None


def _wanted_name(name: str, hint: Mapping[str, Any] | None) -> PortableName | None:
    parsed = parse_kernel_name(name)
    if parsed is not None or hint is None:
        return parsed
    # A name that is not ours (e.g. a native spec's) with the notebook's record: use the record's id.
    hint_id = hint.get("id")
    if isinstance(hint_id, str):
        parsed = parse_kernel_name(f"envk-{hint_id}")
        if parsed is not None:
            return parsed
    kind, env_name = hint.get("kind"), hint.get("name")
    if kind in KINDS and isinstance(env_name, str) and env_name:
        return PortableName(str(kind), slugify(env_name), "")
    return None


def _project_slug(env: Environment) -> str | None:
    return slugify(os.path.basename(env.project.rstrip("/\\"))) if env.project else None


def _minor(version: Any) -> str | None:
    return ".".join(str(version).split(".")[:2]) if version else None


def _narrow(candidates: list[Environment], keep: Callable[[Environment], bool]) -> list[Environment]:
    """The candidates ``keep`` accepts, when that leaves at least one; else all of them."""
    kept = [env for env in candidates if keep(env)]
    return kept or candidates


def closest_environments(
    wanted: PortableName, environments: Iterable[Environment], n: int = 3
) -> list[Environment]:
    """The ``n`` environments whose ``<kind>-<slug>`` is most like the wanted one (for error messages).

    By similarity of the names (``difflib``), same-kind environments first at equal similarity.
    """
    target = f"{wanted.kind}-{wanted.slug}"
    scored = []
    for env in environments:
        ratio = difflib.SequenceMatcher(None, target, f"{env.kind}-{slugify(env.name)}").ratio()
        scored.append((-ratio, env.kind != wanted.kind, env.kernel_name, env))
    return [env for *_, env in sorted(scored, key=lambda item: item[:3])[:n]]


def resolve_kernel_name(
    name: str,
    environments: Iterable[Environment],
    hint: Mapping[str, Any] | None = None,
) -> Environment:
    """The local environment that ``name`` (a kernel name, maybe from another machine) means.

    ``environments`` are the records to choose from (the ones offered as kernels); ``hint`` is a
    notebook's ``metadata.envkernels`` (see :func:`environment_hint`). An environment whose own
    ``kernel_name`` is ``name`` is returned as is. Raises :class:`KernelNameNotResolved` (a
    :class:`NoSuchKernel`) when ``name`` is not of the form ``envk-<kind>-<slug>-<hash8>``, when
    no environment has that kind and slug, or when several fit equally well.
    """
    envs = list(environments)
    for env in envs:
        if env.kernel_name == name:
            return env
    record = environment_hint(hint)
    wanted = _wanted_name(name, record)
    if wanted is None:
        raise KernelNameNotResolved(
            name, f"No such kernel named {name} (not an envkernels name `envk-<kind>-<slug>-<hash8>`)"
        )
    candidates = [env for env in envs if env.kind == wanted.kind and slugify(env.name) == wanted.slug]
    if not candidates:
        closest = closest_environments(wanted, envs)
        near = (
            "; closest here: " + ", ".join(f"{env.kernel_name} ({env.kind}: {env.prefix})" for env in closest)
            if closest
            else "; no environment is offered as a kernel here"
        )
        raise KernelNameNotResolved(
            name,
            f"No such kernel named {name}: no {wanted.kind} environment named `{wanted.slug}` on this "
            f"machine{near} (create the project's environment here, or pick another kernel)",
            closest=tuple(closest),
        )
    candidates = _narrow(candidates, lambda env: _project_slug(env) == wanted.slug)
    if record is not None:
        version = _minor(record.get("python_version"))
        if version:
            candidates = _narrow(candidates, lambda env: _minor(env.python_version) == version)
        implementation = record.get("implementation")
        if implementation:
            candidates = _narrow(candidates, lambda env: env.implementation == implementation)
    candidates = _narrow(candidates, lambda env: env.ok)
    if len(candidates) > 1:
        listed = ", ".join(f"{env.kernel_name} ({env.prefix})" for env in candidates)
        raise KernelNameNotResolved(
            name,
            f"No such kernel named {name}: several {wanted.kind} environments named `{wanted.slug}` "
            f"fit, pick one of {listed}",
            tuple(candidates),
        )
    return candidates[0]
