"""Helpers of the kernel tests (a plain module, so test files can import it by a unique name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envkernels.discovery import discover, environment_from_prefix
from envkernels.model import Environment


def env_at(prefix: Path) -> Environment:
    """The record discovery makes of ``prefix`` (as the manager sees it, through a scan of its parent)."""
    for env in discover(roots=[prefix.parent], default_roots=False):
        if env.prefix == str(prefix.resolve()):
            return env
    return environment_from_prefix(prefix)


def execute(kc: Any, code: str, timeout: float = 60) -> tuple[str, dict[str, Any]]:
    """Run ``code`` on a started kernel client; return (stdout text, execute_reply content)."""
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout)
    return "".join(out), reply["content"]


def package_digest(package_dir: Path | None = None) -> dict[str, str]:
    """sha256 of every file of the installed envkernels package (relative path -> digest).

    Byte-identical before and after an operation means it deleted or changed nothing of the
    package (bytecode caches are left out: importing may write them).
    """
    import hashlib

    import envkernels

    root = package_dir or Path(envkernels.__file__).resolve().parent
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digests, f"no files under {root}"
    return digests
