"""Rules on the notebook: ``undeclared-import`` and ``kernel-env-mismatch``."""

from __future__ import annotations

import os

from envkernels.inspect import hints
from envkernels.inspect.context import CheckContext
from envkernels.inspect.declared import declared_names, find_project_root
from envkernels.inspect.imports import (
    KNOWN_DISTRIBUTIONS,
    ImportSite,
    local_modules,
    notebook_imports,
    stdlib_modules,
)
from envkernels.inspect.problems import InputError
from envkernels.model import Finding

_ENV_DIRS = (".venv", "venv", ".env", "env")
# What the kernel itself brings into every notebook: a project need not declare these.
_KERNEL_PROVIDED = frozenset(
    {"IPython", "ipykernel", "traitlets", "jupyter_client", "jupyter_core", "comm", "envkernels"}
)


def _sites(ctx: CheckContext) -> list[ImportSite]:
    sites: list[ImportSite] = []
    if ctx.notebook:
        ctx.inputs.append(ctx.notebook)
        try:
            sites.extend(notebook_imports(ctx.notebook))
        except InputError as exc:
            ctx.problems.append(exc.problem)
    sites.extend(ImportSite(name.strip().split(".")[0]) for name in ctx.imports if name and name.strip())
    return sites


def undeclared_imports(ctx: CheckContext) -> list[Finding]:
    """Imports that nothing declares (warning) or that nothing installed provides (error)."""
    sites = _sites(ctx)
    if not sites:
        return []
    decl = ctx.declarations
    local_dirs = []
    if ctx.notebook:
        local_dirs.append(os.path.dirname(os.path.abspath(ctx.notebook)))
    if ctx.project:
        local_dirs += [ctx.project, os.path.join(ctx.project, "src")]
    ctx.inputs.extend(local_dirs)
    ignore = stdlib_modules() | local_modules(local_dirs) | _KERNEL_PROVIDED
    if decl and decl.project_name:
        ignore |= {decl.project_name.replace("-", "_"), decl.project_name.replace("-", "_").lower()}
    modules = ctx.inventory.module_map()
    importable: set[str] | None = None  # the kernel's own module directories, read on first need
    declared = declared_names(decl) if decl else set()
    has_declarations = bool(declared)
    findings: list[Finding] = []
    done: set[str] = set()
    for site in sites:
        mod = site.module
        if mod in done or mod in ignore or site.optional or not mod.isidentifier():
            continue
        done.add(mod)
        where = f" (cell {site.cell})" if site.cell else ""
        dists = modules.get(mod)
        if dists:
            if has_declarations and not declared.intersection(dists):
                dist = dists[0]
                findings.append(
                    Finding(
                        "undeclared-import",
                        "warning",
                        dist,
                        f"`import {mod}`{where} is provided by {dist}, which the project does not declare",
                        hints.add_dependency(
                            decl.manager if decl else None, decl.project if decl else "", dist
                        ),
                    )
                )
            continue
        if ctx.search_path:
            if importable is None:
                ctx.inputs.extend(ctx.search_path)
                importable = local_modules(ctx.search_path)
            if mod in importable:
                continue  # the kernel imports it from a directory on its sys.path
        guess = KNOWN_DISTRIBUTIONS.get(mod, mod.replace("_", "-"))
        if guess.lower() in declared:
            continue  # declared but not installed: `missing-declared` says it
        fix = hints.uv_install(ctx.env, guess)
        if has_declarations and decl is not None:
            fix += f", then declare it: {hints.add_dependency(decl.manager, decl.project, guess)}"
        findings.append(
            Finding(
                "undeclared-import",
                "error",
                guess,
                f"`import {mod}`{where} fails: no installed distribution provides `{mod}`",
                fix,
            )
        )
    return findings


def project_environment(project: str) -> str | None:
    """The environment a project directory keeps inside itself (``.venv``, ``venv``, pixi's default)."""
    for name in _ENV_DIRS:
        cand = os.path.join(project, name)
        if os.path.isfile(os.path.join(cand, "pyvenv.cfg")):
            return os.path.realpath(cand)
    pixi = os.path.join(project, ".pixi", "envs", "default")
    if os.path.isdir(os.path.join(pixi, "conda-meta")):
        return os.path.realpath(pixi)
    return None


def kernel_environment(ctx: CheckContext) -> list[Finding]:
    """The notebook lives in a project whose environment is not the one the kernel runs in."""
    if not ctx.notebook:
        return []
    nb_project = find_project_root(os.path.dirname(os.path.abspath(ctx.notebook)))
    if nb_project is None:
        return []
    ctx.inputs.append(nb_project)
    own = project_environment(nb_project)
    here = os.path.realpath(ctx.env.prefix)
    if own is not None and own != here:
        from envkernels.discovery.probe import environment_from_prefix

        target = environment_from_prefix(own)
        return [
            Finding(
                "kernel-env-mismatch",
                "error",
                None,
                f"the notebook belongs to `{nb_project}`, whose environment is `{own}`, "
                f"but the kernel runs in `{here}`",
                f"switch the notebook's kernel to `{target.kernel_name}` "
                f"(`envkernels kernels install {own}` registers it)",
            )
        ]
    if own is None and ctx.env.project and os.path.realpath(ctx.env.project) != os.path.realpath(nb_project):
        decl_manager = ctx.declarations.manager if ctx.declarations else None
        return [
            Finding(
                "kernel-env-mismatch",
                "warning",
                None,
                f"the notebook belongs to `{nb_project}`, "
                f"but the kernel runs in the environment of `{ctx.env.project}`",
                hints.project_sync(decl_manager, nb_project)
                or f"`uv venv {os.path.join(nb_project, '.venv')}`, "
                "install the project's requirements into it, and switch the kernel to it",
            )
        ]
    return []
