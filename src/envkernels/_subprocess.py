"""The one place envkernels runs other programs (uv, interpreters): never through a shell."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from envkernels.errors import CommandError


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    input: str | None = None,
    hint: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` and return the completed process; raise CommandError on a non-zero exit.

    ``env`` entries are added to the current environment rather than replacing it.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        proc = subprocess.run(
            list(argv),
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandError(argv, 127, str(exc), hint) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, -1, f"timed out after {timeout} s", hint) from exc
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr or proc.stdout, hint)
    return proc
