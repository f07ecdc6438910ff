"""A CycloneDX (1.6, JSON) SBOM of an environment, built with cyclonedx-python-lib.

Components are the distributions (``pkg:pypi`` purls, licenses in SPDX where known); the
environment is the BOM's subject and depends on every component; the vulnerabilities found are
recorded with the components they affect, so one file carries what was installed and what is known
about it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envkernels._version import __version__
from envkernels.audit.matching import Vulnerability
from envkernels.cachedir import write_atomic
from envkernels.core.layout import normalize_name
from envkernels.errors import BadInputError
from envkernels.model import Environment


@dataclass(frozen=True)
class SbomComponent:
    """One distribution for the SBOM: name, version and (optionally) its license."""

    name: str
    version: str
    license: str | None = None  # an SPDX expression, or a declared name when not SPDX


def build_sbom(
    environment: Environment,
    components: Sequence[SbomComponent],
    vulnerabilities: Sequence[Vulnerability] = (),
) -> str:
    """The SBOM as CycloneDX 1.6 JSON text."""
    from cyclonedx.factory.license import LicenseFactory
    from cyclonedx.model import XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.model.vulnerability import BomTarget, VulnerabilitySource
    from cyclonedx.model.vulnerability import Vulnerability as CdxVulnerability
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    licenses = LicenseFactory()
    bom = Bom()
    subject = Component(
        name=environment.name,
        version=environment.python_version or None,
        type=ComponentType.APPLICATION,
        bom_ref=f"envkernels-environment:{environment.id}",
        description=f"{environment.kind} environment at {environment.prefix}",
    )
    tools = ToolRepository()
    tools.components.add(Component(name="envkernels", version=__version__, type=ComponentType.APPLICATION))
    bom.metadata.tools = tools
    bom.metadata.component = subject

    by_key: dict[tuple[str, str], Component] = {}
    for comp in components:
        key = (normalize_name(comp.name), comp.version)
        if key in by_key:
            continue
        purl = PackageURL(type="pypi", name=key[0], version=comp.version)
        by_key[key] = Component(
            name=comp.name,
            version=comp.version,
            type=ComponentType.LIBRARY,
            purl=purl,
            bom_ref=str(purl),
            licenses=[licenses.make_from_string(comp.license)] if comp.license else None,
        )
    bom.components.update(by_key.values())
    bom.register_dependency(subject, list(by_key.values()))
    for comp_ in by_key.values():
        bom.register_dependency(comp_, [])

    for vuln in vulnerabilities:
        target = by_key.get((normalize_name(vuln.package), vuln.version))
        if target is None:
            continue
        fix = f"upgrade {vuln.package} to {vuln.fixed_in[0]} or later" if vuln.fixed_in else None
        bom.vulnerabilities.add(
            CdxVulnerability(
                bom_ref=f"{vuln.id}@{target.bom_ref.value}",
                id=vuln.id,
                source=VulnerabilitySource(name="OSV", url=XsUri(vuln.url)) if vuln.url else None,
                description=vuln.summary or None,
                recommendation=fix,
                affects=[BomTarget(ref=str(target.bom_ref.value))],
            )
        )
    return str(JsonV1Dot6(bom).output_as_string(indent=2))


def write_sbom(path: str | os.PathLike[str], text: str) -> Path:
    """Write the SBOM to ``path`` atomically (the old file stays whole until the new one is complete)."""
    target = Path(path)
    if target.is_dir():
        raise BadInputError(f"`{target}` is a directory", hint="give a file name: `--sbom sbom.cdx.json`")
    if not target.parent.is_dir():
        raise BadInputError(
            f"the folder of `{target}` does not exist", hint=f"create `{target.parent}` first"
        )
    try:
        write_atomic(target, text.encode("utf-8"))
    except OSError as exc:
        raise BadInputError(
            f"`{target}` cannot be written: {exc.strerror or exc}",
            hint="choose a writable place for `--sbom`",
        ) from exc
    return target
