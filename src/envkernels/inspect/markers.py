"""PEP 508 marker values of an environment, computed from its record and this machine.

The Python facts (version, implementation) come from the environment's files (``pyvenv.cfg``,
``lib/pythonX.Y``), never from running its interpreter; the platform facts are this machine's,
since the environment runs here. ``packaging.markers.default_environment()`` would describe the
interpreter running envkernels instead, which is exactly what must not leak into another env.
"""

from __future__ import annotations

import os
import sys

from envkernels.model import Environment

_IMPLEMENTATION_NAMES = {
    "cpython": "CPython",
    "pypy": "PyPy",
    "graalpy": "GraalVM",
    "ironpython": "IronPython",
}


def full_version(version: str | None) -> str:
    """``"3.11"`` → ``"3.11.0"``; a full version is kept (markers compare ``python_full_version``)."""
    if not version:
        return ".".join(str(v) for v in sys.version_info[:3])
    parts = version.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts[:3])


def marker_environment(env: Environment) -> dict[str, str]:
    """Every PEP 508 marker variable for ``env`` (``extra`` set to ``""``, as pip evaluates)."""
    full = full_version(env.python_version)
    major_minor = ".".join(full.split(".")[:2])
    impl = (env.implementation or "cpython").lower()
    try:
        uname = os.uname()
        system, release, version, machine = uname.sysname, uname.release, uname.version, uname.machine
    except AttributeError:  # pragma: no cover - Windows
        import platform

        system, release, version, machine = (
            platform.system(),
            platform.release(),
            platform.version(),
            platform.machine(),
        )
    return {
        "implementation_name": impl,
        "implementation_version": full,
        "os_name": os.name,
        "platform_machine": machine,
        "platform_release": release,
        "platform_system": system,
        "platform_version": version,
        "python_full_version": full,
        "platform_python_implementation": _IMPLEMENTATION_NAMES.get(impl, impl.capitalize()),
        "python_version": major_minor,
        "sys_platform": sys.platform,
        "extra": "",
    }


def evaluate(marker: object, environment: dict[str, str], **extra: str) -> bool:
    """Evaluate a ``packaging.markers.Marker`` against ``environment``; False when it cannot be."""
    try:
        return bool(marker.evaluate({**environment, **extra}))  # type: ignore[attr-defined]
    except Exception:  # an undefined variable or comparison in a third-party marker
        return False
