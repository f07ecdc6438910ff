"""The project of every notebook a kernel is started for, or that is opened, is searched for environments.

The root_dir walk is bounded (depth, skip rules): a notebook in a project deeper than it goes, or
under a hidden folder, would have no kernel for its own environment. So the server extension
hooks two moments of jupyter_server:

- **a kernel is started** for a notebook (``MappingKernelManager.start_kernel(path=...)``, which a
  session passes the notebook's folder): before the kernel's name is resolved, the notebook's
  project is found and searched (off the event loop), so the name of its environment starts;
- **a notebook is opened** (``ContentsManager.get`` of an ``.ipynb``): the same, in a background
  thread, so the kernel picker JupyterLab shows next (it re-reads ``/api/kernelspecs``) lists it.

The project is the nearest folder at or above the notebook's that holds a project file
(:data:`MARKERS`), looked for at most :data:`MAX_UP` levels up and never above the server's
root_dir: a REST request cannot make the server search outside the folder it serves. It is handed
to :meth:`EnvKernelSpecManager.add_notebook_project` (bounded too, and a no-op when the listing
already holds its environments).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from typing import Any

from envkernels.discovery.projects import PROJECT_MARKERS, listing
from envkernels.kernels.manager import EnvKernelSpecManager

# A project file, as discovery knows them, plus conda's environment files (a folder a notebook
# is kept in beside its `environment.yml`).
MARKERS: frozenset[str] = frozenset((*PROJECT_MARKERS, "environment.yml", "environment.yaml"))
MAX_UP = 16  # folders looked at above a notebook's, at most (the root_dir stops it first)


def notebook_project(folder: str, root: str) -> str | None:
    """The nearest folder at or above ``folder`` (a real path), inside ``root``, holding a project file.

    None when ``folder`` is outside ``root`` or no folder up to ``root`` holds one.
    """
    root = os.path.realpath(root)
    current = os.path.realpath(folder)
    if current != root and not current.startswith(root.rstrip(os.sep) + os.sep):
        return None
    for _ in range(MAX_UP):
        names = listing(current)
        if names and not MARKERS.isdisjoint(names):
            return current
        if current == root:
            return None
        current = os.path.dirname(current)
    return None


def _folder(root: str, api_path: str, is_notebook: bool) -> str:
    """The folder of an API path (``a/b/nb.ipynb`` or the folder ``a/b``) under ``root``."""
    path = os.path.join(root, *[p for p in api_path.strip("/").split("/") if p])
    return os.path.dirname(path) if is_notebook else path


class NotebookProjects:
    """Hands the projects of notebooks to the kernel spec manager (see the module docstring)."""

    def __init__(self, ksm: EnvKernelSpecManager, root: str, log: Any) -> None:
        self.ksm = ksm
        self.root = os.path.realpath(os.path.expanduser(root))
        self.log = log
        self._found: set[str] = set()  # folders whose project was found (and handed over) already
        self._lock = threading.Lock()

    def notice(self, api_path: str, is_notebook: bool) -> bool:
        """Search the project of the notebook at (or in the folder) ``api_path``; True when the listing grew.

        Blocking: run it off the event loop.
        """
        folder = os.path.realpath(_folder(self.root, api_path, is_notebook))
        with self._lock:
            if folder in self._found:
                return False
        try:
            project = notebook_project(folder, self.root)
            if project is None:
                return False  # looked for again next time: a project file may be created meanwhile
            with self._lock:
                self._found.add(folder)
            return self.ksm.add_notebook_project(project)
        except Exception:  # never fail a kernel start or a file open over this
            self.log.warning("envkernels: searching the project of %s failed", api_path, exc_info=True)
            return False

    def notice_in_background(self, api_path: str) -> None:
        """:meth:`notice` for an opened notebook, in a daemon thread."""
        threading.Thread(
            target=self.notice, args=(api_path, True), name="envkernels-notebook-project", daemon=True
        ).start()


def watch_notebooks(serverapp: Any, log: Any) -> NotebookProjects | None:
    """Hook the server's kernel and contents managers (see the module docstring); None when off.

    Off when the kernel spec manager is not envkernels' or ``search_notebook_projects`` is False.
    """
    ksm = getattr(serverapp, "kernel_spec_manager", None)
    if not isinstance(ksm, EnvKernelSpecManager) or not ksm.search_notebook_projects:
        return None
    root = getattr(serverapp, "root_dir", None)
    if not isinstance(root, str) or not root:
        return None
    projects = NotebookProjects(ksm, root, log)
    km = getattr(serverapp, "kernel_manager", None)
    if km is not None and hasattr(km, "start_kernel"):
        km.start_kernel = _starting(km.start_kernel, projects)
    cm = getattr(serverapp, "contents_manager", None)
    if cm is not None and hasattr(cm, "get"):
        cm.get = _opening(cm.get, projects)
    return projects


def _starting(start_kernel: Any, projects: NotebookProjects) -> Any:
    """``start_kernel`` that first searches the project of the notebook it starts for (``path``)."""

    async def start(*args: Any, **kwargs: Any) -> Any:
        path = kwargs.get("path")
        if isinstance(path, str) and path:
            await asyncio.to_thread(projects.notice, path, path.endswith(".ipynb"))
        result = start_kernel(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    return start


def _opening(get: Any, projects: NotebookProjects) -> Any:
    """``ContentsManager.get`` that has the project of an opened notebook searched (in the background)."""

    def notice(path: Any, kwargs: dict[str, Any]) -> None:
        if isinstance(path, str) and path.endswith(".ipynb") and kwargs.get("content", True):
            projects.notice_in_background(path)

    if inspect.iscoroutinefunction(get):

        async def get_async(path: Any, *args: Any, **kwargs: Any) -> Any:
            model = await get(path, *args, **kwargs)
            notice(path, kwargs)
            return model

        return get_async

    def get_sync(path: Any, *args: Any, **kwargs: Any) -> Any:
        model = get(path, *args, **kwargs)
        notice(path, kwargs)
        return model

    return get_sync
