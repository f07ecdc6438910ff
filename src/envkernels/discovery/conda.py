"""conda, mamba and micromamba environments: prefixes holding ``conda-meta/``.

Where, in this order:
1. the registry conda and mamba append every created environment to, ``~/.conda/environments.txt``
   (paths that no longer exist are skipped, as conda itself skips them);
2. ``$CONDA_PREFIX`` (the active environment), the installation of ``$CONDA_EXE``, ``$MAMBA_ROOT_PREFIX``,
   and the usual installation directories (``~/miniconda3``, ``~/miniforge3``, ``~/anaconda3``,
   ``~/mambaforge``, ``~/micromamba``, ``~/.local/share/mamba``, ``/opt/conda``), each with its ``envs/``;
3. ``envs_dirs`` of every ``.condarc`` conda reads (``/etc/conda``, ``$XDG_CONFIG_HOME/conda``, ``~/.conda``,
   ``~/.condarc``, ``$CONDA_PREFIX/.condarc``, ``$CONDARC``), ``$CONDA_ENVS_PATH``/``$CONDA_ENVS_DIRS``,
   and ``~/.conda/envs``.
A prefix whose ``conda-meta/`` holds no ``python-*.json`` record and no interpreter is not a Python
environment (an R or Node environment) and is left out by the scan.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from envkernels.discovery.context import Candidate, ScanContext, is_dir

_INSTALL_DIRS = ("miniconda3", "miniforge3", "anaconda3", "mambaforge", "micromamba", ".local/share/mamba")


def condarc_files(ctx: ScanContext) -> list[str]:
    """The ``.condarc`` files conda reads (its documented search path), most general first."""
    home = ctx.home
    files = ["/etc/conda/.condarc", "/etc/conda/condarc", "/var/lib/conda/.condarc"]
    files.append(os.path.join(ctx.xdg("XDG_CONFIG_HOME", ".config"), "conda", ".condarc"))
    files += [f"{home}/.config/conda/.condarc", f"{home}/.conda/.condarc", f"{home}/.conda/condarc"]
    files.append(f"{home}/.condarc")
    prefix = ctx.env("CONDA_PREFIX")
    if prefix:
        files.append(f"{prefix}/.condarc")
    if ctx.env("CONDARC"):
        files.append(ctx.env("CONDARC") or "")
    return list(dict.fromkeys(files))


def envs_dirs_from_condarc(text: str) -> list[str]:
    """The ``envs_dirs`` list of one ``.condarc`` (YAML); [] when it has none or is not YAML."""
    import yaml  # only when a .condarc exists: importing yaml costs more than the rest of a scan

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    dirs = data.get("envs_dirs") if isinstance(data, dict) else None
    if isinstance(dirs, str):
        dirs = [dirs]
    return [d for d in dirs or () if isinstance(d, str)]


def _conda_prefix(ctx: ScanContext, path: str) -> Candidate | None:
    names = ctx.listdir(path)
    if names and "conda-meta" in names:
        return Candidate(path, "conda")
    if names is None and os.path.isdir(path):
        return Candidate(path, "conda")  # named by a registry but unreadable: listed as broken
    return None


def _in_envs_dir(ctx: ScanContext, envs_dir: str) -> Iterator[Candidate]:
    entries = ctx.listdir(envs_dir)
    for name in sorted(entries or ()):
        entry = entries[name]  # type: ignore[index]
        if is_dir(entry):
            found = _conda_prefix(ctx, entry.path)
            if found is not None:
                yield found


def registry_paths(ctx: ScanContext) -> list[str]:
    """The prefixes ``~/.conda/environments.txt`` names (blank lines and comments skipped)."""
    text = ctx.read_text(os.path.join(ctx.home, ".conda", "environments.txt"))
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(os.path.abspath(os.path.expanduser(line)))
    return out


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every conda prefix the places in the module docstring name."""
    for path in registry_paths(ctx):
        found = _conda_prefix(ctx, path)
        if found is not None:
            yield found
    roots = []
    for var in ("CONDA_PREFIX", "MAMBA_ROOT_PREFIX"):
        if ctx.env(var):
            roots.append(os.path.abspath(ctx.env(var) or ""))
    conda_exe = ctx.env("CONDA_EXE") or ctx.env("MAMBA_EXE")
    if conda_exe:
        roots.append(os.path.dirname(os.path.dirname(os.path.abspath(conda_exe))))
    roots += [os.path.join(ctx.home, d) for d in _INSTALL_DIRS] + ["/opt/conda"]
    for root in dict.fromkeys(roots):
        found = _conda_prefix(ctx, root)
        if found is not None:
            yield found
        yield from _in_envs_dir(ctx, f"{root}/envs")
    envs_dirs: list[str] = []
    for rc in condarc_files(ctx):
        text = ctx.read_text(rc)
        if text:
            envs_dirs += envs_dirs_from_condarc(text)
    for var in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        envs_dirs += [p for p in (ctx.env(var) or "").split(os.pathsep) if p]
    envs_dirs.append(os.path.join(ctx.home, ".conda", "envs"))
    for d in dict.fromkeys(os.path.abspath(os.path.expanduser(d)) for d in envs_dirs):
        yield from _in_envs_dir(ctx, d)
