"""The envkernels magics inside a kernel: ``%envs``, ``%envcheck``, ``%envlock``, ``%envaudit``, ``%envsync``.

This module is loaded into every kernel envkernels launches (``launch.py`` puts this directory
first on ``sys.path`` and loads it as an IPython extension), so it imports only the standard
library and IPython: nothing is installed into the user's environment. The heavy work runs in
the envkernels installation outside the kernel, in ONE long-lived worker process
(``$ENVKERNELS_HOST_PYTHON -m envkernels.worker``) started on first use and spoken to in JSON
lines; the kernel only gathers its facts (prefix, interpreter, notebook path, the raw sources
of the cells it ran, its ``sys.path``) and shows what comes back. It holds no analysis rules:
which imports a cell makes, and which of them fail, the host decides with the same rules as
``envkernels check --notebook``. ``%load_ext envkernels`` in an IPython where envkernels is installed
registers the same magics with an in-process backend instead (``envkernels.magics``).

Protocol (one JSON object per line):
  request  ``{"id", "op", "args", "facts"}``
  progress ``{"id", "progress": "message"}``            (zero or more, long operations)
  reply    ``{"id", "ok": true, "result": {...}}`` or ``{"id", "ok": false, "error": {"message", "hint"}}``

``facts.cells`` is ``{"start", "sources"}``: the executed cells from index ``start`` on; the
worker keeps those it has and replaces from ``start`` (an error with ``reason: cells-missing``
asks the kernel to send them all again).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import itertools
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

# The ops the worker understands; the kernel side never sends anything else.
OPS = ("envs", "check", "lock", "audit", "plan_sync", "apply_sync")
# The mimetype a JupyterLab frontend can watch to put a fresh lock into the open notebook's model.
NOTEBOOK_LOCK_MIMETYPE = "application/vnd.envkernels.notebook-lock+json"
# The comm target the JupyterLab extension opens (``{"op": "hello", "path"}``) to receive locks.
COMM_TARGET = "envkernels"


class EnvKernelsMagicError(Exception):
    """A magic could not do its work: ``message`` says what, ``hint`` what fixes it.

    Shown as two lines (``error: ...`` / ``hint: ...``) instead of a traceback; the cell still
    fails, so a notebook run in CI stops here.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def _render_traceback_(self) -> list[str]:
        lines = [f"error: {self.message}"]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return lines


class EnvironmentCheckFailed(EnvKernelsMagicError):
    """``%envcheck --strict`` found warnings or errors; ``result`` holds the full check."""

    def __init__(self, result: EnvResult) -> None:
        codes = ", ".join(sorted(set(result.problems)))
        super().__init__(
            f"the environment check found {len(result.problems)} problem(s) at warning or above ({codes})",
            "fix the findings above (each row names its fix), or drop `--strict`",
        )
        self.result = result


# --------------------------------------------------------------------------- result objects


class FindingView:
    """One finding as code sees it: ``code``, ``severity``, ``package``, ``message``, ``hint`` and
    ``vulnerability`` (the id of the audit's vulnerability it stands for, else None)."""

    __slots__ = ("code", "hint", "message", "package", "severity", "vulnerability")

    def __init__(self, data: dict[str, Any]) -> None:
        self.code: str = data.get("code", "")
        self.severity: str = data.get("severity", "info")
        self.package: str | None = data.get("package")
        self.message: str = data.get("message", "")
        self.hint: str | None = data.get("hint")
        self.vulnerability: str | None = data.get("vulnerability")

    def to_dict(self) -> dict[str, Any]:
        """docs/reference.md's finding shape."""
        return {
            s: getattr(self, s) for s in ("code", "severity", "package", "message", "hint", "vulnerability")
        }

    def __repr__(self) -> str:
        return f"<{self.severity} {self.code} {self.package or '-'}: {self.message}>"


class EnvResult:
    """What a magic returns: the data (``to_dict()``), ``findings``, ``ok``, and its rich display.

    ``kind`` is ``report`` (check/audit), ``environments``, ``lock``, ``plan`` or ``sync``. In a
    notebook it displays as HTML (or, where ipywidgets is importable in a kernel, as a widget
    with the HTML beside it for frontends without widgets); in a terminal as plain text.
    Everything it says is what the host sent (the reply's ``ok``, ``count``, ``changes``,
    ``problems``): the kernel side holds no rules about findings or plans.
    """

    def __init__(
        self,
        op: str,
        payload: dict[str, Any],
        runner: Callable[[str, dict[str, Any]], EnvResult] | None = None,
    ) -> None:
        self.op = op
        self.kind: str = payload.get("kind", op)
        self.data: dict[str, Any] = payload.get("data") or {}
        self.html: str = payload.get("html") or ""
        self.text: str = payload.get("text") or ""
        self._ok = bool(payload.get("ok", True))
        count = payload.get("count")
        self._count = count if isinstance(count, int) else 0
        changes = payload.get("changes")
        self._changes: list[dict[str, Any]] = changes if isinstance(changes, list) else []
        problems = payload.get("problems")
        self.problems: list[str] = problems if isinstance(problems, list) else []
        self.restart_needed: list[str] = []
        self.notes: list[str] = []
        self._runner = runner
        self._widget: Any = None

    # -- data for code
    @property
    def findings(self) -> list[FindingView]:
        """The findings (check, audit), most severe first as the engine ordered them."""
        return [FindingView(f) for f in self.data.get("findings") or ()]

    @property
    def ok(self) -> bool:
        """True when nothing at warning or above was found (check/audit), the plan is empty
        (sync plan), or the operation succeeded (lock, applied sync): the host's verdict."""
        return self._ok

    @property
    def environment(self) -> dict[str, Any] | None:
        """The environment record the result is about, when it names one."""
        env = self.data.get("environment")
        return env if isinstance(env, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON data, as ``envkernels <command> --json`` prints it."""
        return self.data

    def to_json(self) -> str:
        """``to_dict()`` as indented JSON text."""
        return json.dumps(self.data, indent=2, sort_keys=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def changes(self) -> list[dict[str, Any]]:
        """A sync plan's (or an applied sync's) changes: ``{"action", "name", "from", "to"}``."""
        return list(self._changes)

    def __len__(self) -> int:
        """Environments listed, findings reported, a plan's (or applied sync's) changes, packages locked."""
        return self._count

    def __bool__(self) -> bool:
        return True

    # -- display
    def __repr__(self) -> str:
        return self._full_text()

    def _full_text(self) -> str:
        extra = "".join(f"\n{n}" for n in self.notes)
        return (self.text or json.dumps(self.data, indent=2)) + extra

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self._full_text())

    def _repr_html_(self) -> str:
        extra = "".join(f"<p><b>{_esc(n)}</b></p>" for n in self.notes)
        return (self.html or f"<pre>{_esc(self._full_text())}</pre>") + extra

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self._full_text(), "text/html": self._repr_html_()}
        widget = self.widget() if _widgets_wanted() else None
        if widget is not None:
            # A widget that cannot display never hides the HTML.
            with contextlib.suppress(Exception):
                bundle.update({k: v for k, v in widget._repr_mimebundle_().items() if k != "text/plain"})
        return bundle

    def widget(self) -> Any:
        """The ipywidgets view of this result (built once); None where ipywidgets is missing."""
        if self._widget is None:
            try:
                import envkernels_widgets
            except ImportError:
                try:
                    from envkernels.kernel_side import envkernels_widgets
                except ImportError:
                    return None
            self._widget = envkernels_widgets.build(self, self._runner)
        return self._widget


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def _widgets_wanted() -> bool:
    """Widgets only inside a kernel that has ipywidgets, and not when switched off."""
    if os.environ.get("ENVKERNELS_WIDGETS", "1").lower() in ("0", "false", "no", "off"):
        return False
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:
        return False
    if ip is None or getattr(ip, "kernel", None) is None:
        return False
    import importlib.util

    return importlib.util.find_spec("ipywidgets") is not None


# --------------------------------------------------------------------------- backends


class WorkerBackend:
    """The one long-lived worker process in the envkernels installation, reused by every call."""

    def __init__(self, host_python: str) -> None:
        self.host_python = host_python
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.cells = CellFeed()

    @property
    def argv(self) -> list[str]:
        """The command that starts the worker (never a shell)."""
        return [self.host_python, "-m", "envkernels.worker"]

    def _start(self) -> subprocess.Popen[str]:
        env = dict(os.environ)
        # The kernel's own interpreter settings must not leak into the host interpreter.
        for var in ("PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
            env.pop(var, None)
        here = os.path.dirname(os.path.abspath(__file__))
        parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != here]
        if parts:
            env["PYTHONPATH"] = os.pathsep.join(parts)
        else:
            env.pop("PYTHONPATH", None)
        self._stderr = tempfile.TemporaryFile(mode="w+", prefix="envkernels-worker-")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=env,
                # Its own session: a kernel interrupt (SIGINT to the kernel's group) must not kill
                # a sync half-way; the worker ends when the kernel closes its stdin.
                start_new_session=True,
            )
        except OSError as exc:
            raise EnvKernelsMagicError(
                f"cannot start the envkernels worker `{self.host_python}`: {exc.strerror or exc}",
                "reinstall the kernel with `envkernels kernels install`, or `%load_ext envkernels` "
                "where envkernels is installed",
            ) from exc
        self._proc = proc
        self.cells.reset()  # a new process holds none of the kernel's cells
        return proc

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read().splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def close(self) -> None:
        """End the worker (closing its stdin ends its loop)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()

    def request(
        self,
        op: str,
        args: dict[str, Any],
        facts: dict[str, Any],
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Send one request and wait for its reply; returns ``result`` or raises EnvKernelsMagicError."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                proc = self._start()
            rid = next(self._ids)
            sent = send_cells(self.cells, facts)
            line = json.dumps({"id": rid, "op": op, "args": args, "facts": sent})
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                return self._died()
            while True:
                raw = proc.stdout.readline()
                if not raw:
                    return self._died()
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue  # stray output of a library in the worker; replies are JSON
                if not isinstance(msg, dict) or msg.get("id") != rid:
                    continue  # the late reply of an interrupted request
                if "progress" in msg:
                    if progress is not None:
                        progress(str(msg["progress"]))
                    continue
                # The worker took the cells before anything else, whatever the reply says; it
                # says `cells-missing` when it holds fewer than this request assumed.
                if (msg.get("error") or {}).get("reason") == "cells-missing":
                    self.cells.reset()
                else:
                    self.cells.sent = len(facts.get("cells") or ())
                return _unwrap(msg)

    def _died(self) -> dict[str, Any]:
        tail = self._stderr_tail()
        code = self._proc.poll() if self._proc else None
        self._proc = None
        raise EnvKernelsMagicError(
            f"the envkernels worker stopped (exit code {code})" + (f": {tail}" if tail else ""),
            f"check that `{self.host_python} -m envkernels.worker` runs; the next magic starts it again",
        )


def _unwrap(msg: dict[str, Any]) -> dict[str, Any]:
    """The ``result`` of a reply, or its error raised as EnvKernelsMagicError."""
    if msg.get("ok"):
        return msg.get("result") or {}
    err = msg.get("error") or {}
    raise EnvKernelsMagicError(err.get("message") or "the envkernels worker failed", err.get("hint"))


# --------------------------------------------------------------------------- facts


class CellFeed:
    """Which executed cells the backend already holds, so each request carries only the new ones.

    The kernel decides nothing about the cells: it sends their raw sources (``%pip``, ``!ls``
    and cell magics as typed) and the host reads them with the same import rules as
    ``envkernels check --notebook``. A warm magic therefore sends one short cell (its own).
    """

    def __init__(self) -> None:
        self.sent = 0

    def delta(self, cells: list[str]) -> dict[str, Any]:
        """``{"start", "sources"}``: the cells from the first one the backend has not seen."""
        start = self.sent if self.sent <= len(cells) else 0  # `In` replaced: send everything again
        return {"start": start, "sources": cells[start:]}

    def reset(self) -> None:
        """The backend lost what it held (a new worker process): the next request sends every cell."""
        self.sent = 0


def executed_cells(ip: Any) -> list[str]:
    """The raw sources of the cells this kernel has run, in order (IPython's raw input history)."""
    if ip is None:
        return []
    raw = getattr(getattr(ip, "history_manager", None), "input_hist_raw", None)
    if not isinstance(raw, list):
        raw = ip.user_ns.get("In")
    return [c for c in raw if isinstance(c, str)] if isinstance(raw, list) else []


def send_cells(feed: CellFeed, facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` with the full ``cells`` list replaced by the part ``feed`` has not sent yet."""
    cells = facts.get("cells")
    if not isinstance(cells, list):
        return facts
    return dict(facts, cells=feed.delta(cells))


def notebook_path(ip: Any) -> str | None:
    """The notebook this kernel serves: ``__session__`` (ipykernel), ``JPY_SESSION_NAME`` (jupyter_server)."""
    candidates = [
        os.environ.get("ENVKERNELS_NOTEBOOK"),
        (ip.user_ns.get("__session__") if ip is not None else None),
        os.environ.get("JPY_SESSION_NAME"),
    ]
    for cand in candidates:
        if isinstance(cand, str) and cand.endswith(".ipynb"):
            path = cand if os.path.isabs(cand) else os.path.join(os.getcwd(), os.path.basename(cand))
            if os.path.isfile(path):
                return os.path.abspath(path)
    return None


# --------------------------------------------------------------------------- the frontend link


class FrontendLink:
    """The comms JupyterLab's envkernels extension opened to this kernel (target ``envkernels``).

    Each open notebook panel on this kernel opens one comm with ``{"op": "hello", "path"}``
    (again after a restart, ``hello`` again after a rename). ``%envlock --notebook`` sends
    ``{"op": "notebook-lock", "path", "lock", "environment"}`` over the comm of the client that
    ran the cell (the comm_open and the execute_request carry the same ``header.session``: a
    kernel shared by two notebooks locks only the one that asked), else over every open comm
    (a console attached to the notebook's kernel); the extension puts it into the open
    notebook's model and answers ``{"op": "ack", "path"}``. A comm is dropped when the frontend
    closes it (the panel closed, the kernel changed).
    """

    def __init__(self) -> None:
        self._comms: dict[str, tuple[Any, str | None]] = {}
        self._sessions: dict[str, str | None] = {}
        self.acks: list[dict[str, Any]] = []
        self.registered = False

    def register(self, ip: Any) -> bool:
        """Register the comm target on ``ip``'s kernel; False (and nothing done) without a kernel.

        ``kernel.comm_manager`` exists in every ipykernel from 5 to 7 (ipykernel 6.18+ gets it
        from the ``comm`` package), with the same ``register_target(name, f(comm, open_msg))``.
        """
        manager = getattr(getattr(ip, "kernel", None), "comm_manager", None)
        if manager is None or not callable(getattr(manager, "register_target", None)):
            return False
        manager.register_target(COMM_TARGET, self._opened)
        self.registered = True
        return True

    def _opened(self, comm: Any, msg: dict[str, Any]) -> None:
        comm_id = str(getattr(comm, "comm_id", id(comm)))
        data = ((msg or {}).get("content") or {}).get("data") or {}
        self._comms[comm_id] = (comm, _path_of(data))
        self._sessions[comm_id] = _session_of(msg)

        def received(message: dict[str, Any]) -> None:
            body = ((message or {}).get("content") or {}).get("data") or {}
            if not isinstance(body, dict):
                return
            if body.get("op") == "hello" and comm_id in self._comms:
                self._comms[comm_id] = (comm, _path_of(body))
            elif body.get("op") == "ack":
                self.acks.append(body)

        def closed(_message: Any) -> None:
            self._comms.pop(comm_id, None)
            self._sessions.pop(comm_id, None)

        comm.on_msg(received)
        comm.on_close(closed)

    @property
    def paths(self) -> list[str | None]:
        """The notebook paths (relative to the server root) of the open comms."""
        return [path for _comm, path in self._comms.values()]

    def path_of(self, comm_id: str) -> str | None:
        """The notebook path the comm ``comm_id`` named in its last ``hello``."""
        entry = self._comms.get(comm_id)
        return entry[1] if entry else None

    def __bool__(self) -> bool:
        return bool(self._comms)

    def targets(self, session: str | None) -> list[str]:
        """The comms a lock asked for by client ``session`` goes to: that client's, else all."""
        own = [cid for cid, s in self._sessions.items() if session and s == session and cid in self._comms]
        return own or list(self._comms)

    def send_lock(self, lock_text: str, environment: Any, session: str | None = None) -> list[str]:
        """Send the lock to the comms of ``targets(session)``; the paths of the notebooks it went to."""
        sent: list[str] = []
        for comm_id in self.targets(session):
            comm, path = self._comms[comm_id]
            try:
                comm.send(
                    {"op": "notebook-lock", "path": path, "lock": lock_text, "environment": environment}
                )
            except Exception:  # a comm whose kernel side broke: forget it, keep the others
                self._comms.pop(comm_id, None)
                self._sessions.pop(comm_id, None)
                continue
            sent.append(path or "the open notebook")
        return sent


def _session_of(msg: Any) -> str | None:
    """``header.session`` of a message (the client connection that sent it)."""
    header = msg.get("header") if isinstance(msg, dict) else None
    session = header.get("session") if isinstance(header, dict) else None
    return session if isinstance(session, str) and session else None


def _path_of(data: Any) -> str | None:
    path = data.get("path") if isinstance(data, dict) else None
    return path if isinstance(path, str) and path else None


# --------------------------------------------------------------------------- the magics


class _ArgParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise EnvKernelsMagicError(message, f"`%{self.prog} --help` lists the options")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message, file=sys.stderr)
        raise _HelpShown


class _HelpShown(Exception):
    """``--help`` was printed; the magic returns nothing."""


def _parsers() -> dict[str, _ArgParser]:
    p: dict[str, _ArgParser] = {}
    p["envs"] = _ArgParser(prog="envs", description="The environments envkernels knows, and their status.")
    p["envs"].add_argument("--json", action="store_true", help="print the records as JSON")
    p["envs"].add_argument("--root", action="append", default=[], metavar="DIR", help="also scan DIR")
    p["envcheck"] = _ArgParser(prog="envcheck", description="Check this kernel's environment and notebook.")
    p["envcheck"].add_argument("--strict", action="store_true", help="fail the cell on any warning")
    p["envcheck"].add_argument("--json", action="store_true", help="print the report as JSON")
    p["envcheck"].add_argument("--lock", metavar="FILE", help="compare against this lockfile")
    p["envlock"] = _ArgParser(prog="envlock", description="Lock this kernel's environment (pylock.toml).")
    p["envlock"].add_argument("-o", "--output", metavar="FILE", help="where to write (default: pylock.toml)")
    p["envlock"].add_argument(
        "--notebook", action="store_true", help="write the lock into this notebook's metadata"
    )
    p["envlock"].add_argument("--no-hashes", action="store_true", help="do not ask the index for hashes")
    p["envlock"].add_argument(
        "--index-url", metavar="URL", help="the package index to take URLs and hashes from"
    )
    p["envlock"].add_argument("--json", action="store_true", help="print the result as JSON")
    p["envaudit"] = _ArgParser(
        prog="envaudit", description="Vulnerabilities and licenses of this environment."
    )
    p["envaudit"].add_argument(
        "--licenses", action="store_true", help="also check licenses against the policy"
    )
    p["envaudit"].add_argument("--db", metavar="PATH", help="a local OSV database instead of the OSV API")
    p["envaudit"].add_argument("--json", action="store_true", help="print the report as JSON")
    p["envsync"] = _ArgParser(
        prog="envsync", description="Make this environment match LOCK (dry run unless --apply)."
    )
    p["envsync"].add_argument(
        "lock", nargs="?", metavar="LOCK", help="the lock (default: the notebook's, else pylock.toml)"
    )
    p["envsync"].add_argument("--apply", action="store_true", help="carry the plan out")
    p["envsync"].add_argument(
        "--allow-direct-sources",
        action="store_true",
        help="with --apply: also install the local paths, URLs and VCS checkouts the plan marks `!`",
    )
    p["envsync"].add_argument("--json", action="store_true", help="print the plan/result as JSON")
    return p


class EnvMagics:
    """The five magics over one backend (the worker, or the engine in-process)."""

    def __init__(self, ip: Any, backend: Any, frontend: FrontendLink | None = None) -> None:
        self.ip = ip
        self.backend = backend
        self.parsers = _parsers()
        self.frontend = frontend if frontend is not None else FrontendLink()

    # -- plumbing
    def facts(self) -> dict[str, Any]:
        """What only the kernel knows, handed to the backend with every request.

        Facts, never verdicts: the backend sends only the ``cells`` it has not sent before
        (``CellFeed``), and the host reads them with its own import rules.
        """
        cwd = os.getcwd()
        return {
            "prefix": os.environ.get("ENVKERNELS_ENV_PREFIX") or sys.prefix,
            "python": sys.executable,
            "env_id": os.environ.get("ENVKERNELS_ENV_ID"),
            "notebook": notebook_path(self.ip),
            "cells": executed_cells(self.ip),
            # Where this kernel finds modules ('' is its working directory), and its base interpreter.
            "sys_path": [os.path.normpath(os.path.join(cwd, p)) for p in sys.path if isinstance(p, str)],
            "base_prefix": sys.base_prefix,
            "cwd": cwd,
        }

    def run(self, op: str, args: dict[str, Any], progress: Callable[[str], None] | None = None) -> EnvResult:
        """Ask the backend for ``op`` and wrap the reply (used by the magics and by widget buttons)."""
        shown = progress or ProgressDisplay(in_kernel=getattr(self.ip, "kernel", None) is not None)
        try:
            payload = self.backend.request(op, args, self.facts(), shown)
        finally:
            if isinstance(shown, ProgressDisplay):
                shown.close()
        result = EnvResult(op, payload, runner=self.run)
        if op == "apply_sync":
            self._note_restart(result)
        return result

    def _note_restart(self, result: EnvResult) -> None:
        changed = set(result.data.get("changed_modules") or ())
        loaded = sorted(n for n in changed if n in sys.modules)
        result.restart_needed = loaded
        # Only the kernel knows what it has imported: the JSON (`--json`) carries it too.
        result.data["loaded_modules_changed"] = loaded
        if loaded:
            shown = ", ".join(loaded[:8]) + (" ..." if len(loaded) > 8 else "")
            result.notes.append(
                f"Restart the kernel: modules changed by the sync are already loaded ({shown})."
            )

    def _parse(self, name: str, line: str) -> argparse.Namespace | None:
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise EnvKernelsMagicError(f"cannot parse `%{name} {line}`: {exc}", "close the quotes") from None
        try:
            return self.parsers[name].parse_args(argv)
        except _HelpShown:
            return None

    def _emit(self, result: EnvResult, as_json: bool) -> EnvResult | None:
        if as_json:
            print(result.to_json())
            return None
        return result

    # -- the magics (registered by name in ``register``)
    def envs(self, line: str = "") -> EnvResult | None:
        """``%envs [--json] [--root DIR]``: the environments envkernels knows, and their status."""
        __tracebackhide__ = True
        ns = self._parse("envs", line)
        if ns is None:
            return None
        result = self.run("envs", {"roots": ns.root})
        if ns.json:
            # The same array as `envkernels list --json`.
            print(json.dumps(result.data.get("environments") or [], indent=2))
            return None
        return result

    def envcheck(self, line: str = "") -> EnvResult | None:
        """``%envcheck [--strict] [--json] [--lock FILE]``: check this kernel's environment and notebook."""
        __tracebackhide__ = True
        ns = self._parse("envcheck", line)
        if ns is None:
            return None
        result = self.run("check", {"lock": ns.lock})
        if ns.strict and not result.ok:
            # Show the table first, so the failed cell in CI says what is wrong.
            self._show(result, ns.json)
            raise EnvironmentCheckFailed(result)
        return self._emit(result, ns.json)

    def envlock(self, line: str = "") -> EnvResult | None:
        """``%envlock [-o FILE] [--notebook]``: lock this kernel's environment."""
        __tracebackhide__ = True
        ns = self._parse("envlock", line)
        if ns is None:
            return None
        args = {
            "output": ns.output,
            "notebook": ns.notebook,
            "hashes": not ns.no_hashes,
            "index_url": ns.index_url,
        }
        if ns.notebook and self.frontend:
            return self._envlock_into_open_notebook(args, ns.json)
        if ns.notebook and notebook_path(self.ip) is None:
            raise EnvKernelsMagicError(
                "this kernel does not know which notebook it runs",
                "run it from Jupyter (which tells the kernel its notebook), or "
                "`envkernels lock --notebook NB.ipynb` in a terminal",
            )
        result = self.run("lock", args)
        nb = result.data.get("notebook")
        if ns.notebook and nb:
            result.notes.append(
                f"The lock was written into `{nb}` on disk. If the notebook is open with unsaved "
                "changes, do not save an older copy over it: revert to the file on disk first "
                "(the envkernels JupyterLab extension puts the lock into the open notebook itself)."
            )
            self._publish_notebook_lock(result)
        return self._emit(result, ns.json)

    def _envlock_into_open_notebook(self, args: dict[str, Any], as_json: bool) -> EnvResult | None:
        """JupyterLab has the notebook open: the lock goes into its model, not into the file.

        Writing the file under an open document races it (JupyterLab's "file changed on disk",
        and a save of the open model drops the lock); through the comm the user's unsaved edits
        stay and the next save carries the lock with them.
        """
        # The client running this cell (ipykernel's shell keeps the request as `parent_header`).
        session = _session_of(getattr(self.ip, "parent_header", None))
        paths = [p for p in map(self.frontend.path_of, self.frontend.targets(session)) if p]
        args = dict(args, frontend_notebook=paths[0] if paths else "the open notebook")
        result = self.run("lock", args)
        lock_text = result.data.get("text")
        if not lock_text:
            raise EnvKernelsMagicError("the lock came back empty", "run `%envlock --notebook` again")
        environment = result.data.get("notebook_environment") or result.data.get("environment")
        sent = self.frontend.send_lock(lock_text, environment, session)
        if not sent:
            raise EnvKernelsMagicError(
                "JupyterLab's notebook closed its link to this kernel before the lock could be sent",
                "reopen the notebook and run `%envlock --notebook` again",
            )
        result.data["notebook"] = sent[0]
        result.notes.append(
            f"The lock went into the open notebook `{sent[0]}` (its metadata); the file on disk is "
            "unchanged until you save. Save the notebook to keep the lock."
        )
        return self._emit(result, as_json)

    def envaudit(self, line: str = "") -> EnvResult | None:
        """``%envaudit [--licenses] [--db PATH]``: vulnerabilities and licenses of this environment."""
        __tracebackhide__ = True
        ns = self._parse("envaudit", line)
        if ns is None:
            return None
        return self._emit(self.run("audit", {"licenses": ns.licenses, "db": ns.db}), ns.json)

    def envsync(self, line: str = "") -> EnvResult | None:
        """``%envsync [LOCK] [--apply [--allow-direct-sources]]``: make this environment match LOCK."""
        __tracebackhide__ = True
        ns = self._parse("envsync", line)
        if ns is None:
            return None
        op = "apply_sync" if ns.apply else "plan_sync"
        args = {"lock": ns.lock, "allow_direct_sources": bool(ns.allow_direct_sources)}
        return self._emit(self.run(op, args), ns.json)

    # -- display helpers
    def _show(self, result: EnvResult, as_json: bool) -> None:
        if as_json:
            print(result.to_json())
            return
        try:
            from IPython.display import display

            display(result)
        except ImportError:
            print(result)

    def _publish_notebook_lock(self, result: EnvResult) -> None:
        """Tell a listening frontend (JupyterLab extension) the lock, so it updates the open model."""
        lock_text = result.data.get("text")
        if not lock_text:
            return
        try:
            from IPython.display import publish_display_data

            publish_display_data(
                {
                    NOTEBOOK_LOCK_MIMETYPE: {
                        "notebook": result.data.get("notebook"),
                        "lock": lock_text,
                        "environment": result.data.get("environment"),
                    },
                    "text/plain": f"lock of {result.data.get('notebook')} ({len(lock_text)} characters)",
                },
                metadata={NOTEBOOK_LOCK_MIMETYPE: {"envkernels": True}},
            )
        except ImportError:
            pass


class ProgressDisplay:
    """Progress of a long operation: one line updated in place (notebook display, or CR in a terminal)."""

    def __init__(self, in_kernel: bool) -> None:
        self.in_kernel = in_kernel
        self._handle: Any = None
        self._width = 0

    def __call__(self, message: str) -> None:
        if self.in_kernel:
            from IPython.display import display

            bundle = {"text/plain": message}
            if self._handle is None:
                self._handle = display(bundle, raw=True, display_id=True)
            else:
                self._handle.update(bundle, raw=True)
            return
        sys.stderr.write("\r" + message.ljust(self._width))
        self._width = len(message)
        sys.stderr.flush()

    def close(self) -> None:
        """End the progress line (in a notebook it is left showing the last step)."""
        if not self.in_kernel and self._width:
            sys.stderr.write("\n")
            sys.stderr.flush()


MAGIC_NAMES = ("envs", "envcheck", "envlock", "envaudit", "envsync")


def register(ip: Any, backend: Any) -> EnvMagics:
    """Register the five line magics on ``ip`` over ``backend``; returns the magics object."""
    magics = EnvMagics(ip, backend)
    for name in MAGIC_NAMES:
        ip.register_magic_function(getattr(magics, name), magic_kind="line", magic_name=name)
    # The comm target of the JupyterLab extension; a no-op in IPython without a kernel.
    magics.frontend.register(ip)
    return magics


def default_backend() -> Any:
    """The worker in the envkernels installation named by ``ENVKERNELS_HOST_PYTHON``."""
    host = os.environ.get("ENVKERNELS_HOST_PYTHON")
    if not host:
        raise EnvKernelsMagicError(
            "this kernel was not started by envkernels (ENVKERNELS_HOST_PYTHON is not set)",
            "`%load_ext envkernels` where envkernels is installed, or pick an envkernels kernel",
        )
    backend = WorkerBackend(host)
    atexit.register(backend.close)
    return backend


class _LazyBackend:
    """Starts the worker on the first magic, not when the kernel starts."""

    def __init__(self) -> None:
        self._backend: Any = None

    def request(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend.request(*args, **kwargs)


def load_ipython_extension(ip: Any) -> None:
    """IPython entry point used by ``launch.py``: the magics over the worker process."""
    if getattr(ip, "_envkernels_magics", None) is not None:
        return
    ip._envkernels_magics = register(ip, _LazyBackend())


def unload_ipython_extension(ip: Any) -> None:
    """Stop the worker when the extension is unloaded."""
    magics = getattr(ip, "_envkernels_magics", None)
    if magics is not None:
        inner = getattr(magics.backend, "_backend", None)
        if inner is not None and hasattr(inner, "close"):
            inner.close()
        ip._envkernels_magics = None
