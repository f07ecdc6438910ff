"""The bootstrap every envkernels kernel runs, in the environment's OWN interpreter, as a script.

    <env python> <this file> -f {connection_file}

Standard library only, and no syntax newer than Python 2.7: in any environment it must at
least *say* what is wrong.
What it does, in order:

1. A broken environment (``ENVKERNELS_PROBLEM`` set by the spec): print ``error:``/``hint:`` to
   stderr and exit 2, so the failure says what is wrong instead of dying silently.
2. Apply the activation the spec could not express: put ``ENVKERNELS_PATH_PREPEND`` first on
   ``PATH`` and drop the server's variables that name another environment (``ENVKERNELS_UNSET``).
3. Move this script's directory from the front of ``sys.path`` to the end: ``envkernels_kernel``
   stays importable, but nothing here can shadow the environment's own packages.
4. If ipykernel is not importable, append the overlay for this interpreter to the END of
   ``sys.path``: the first prepared one (``<dir>/cp312`` for each dir of
   ``$ENVKERNELS_OVERLAY_DIRS``, read-only, built by an administrator), else
   ``$ENVKERNELS_OVERLAY_ROOT/cp312``, asking the envkernels installation
   (``$ENVKERNELS_HOST_PYTHON``) to build that one first when missing. Nothing is
   installed into the environment (unless the admin chose ``without_ipykernel = "install"``).
5. Start ``ipykernel.kernelapp.IPKernelApp`` in this process (signals reach it directly) with
   the ``envkernels_kernel`` extension, passing the remaining arguments through.
"""

# ruff: noqa: UP031, RUF005  (%-formatting: this file must parse on any Python, down to 2.7)
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_EXTENSION = "envkernels_kernel"
_IMPL_SHORT = {"cpython": "cp", "pypy": "pp", "graalpy": "gp"}


def fail(problem, hint=None):
    """Say what is wrong on stderr (the server log and the kernel's output show it) and exit 2."""
    sys.stderr.write("error: %s\n" % problem)
    if hint:
        sys.stderr.write("hint: %s\n" % hint)
    sys.stderr.flush()
    sys.exit(2)


def apply_activation(environ):
    """PATH entries first and foreign variables removed, as the environment's own activate would."""
    prepend = environ.get("ENVKERNELS_PATH_PREPEND")
    if prepend:
        first = [p for p in prepend.split(os.pathsep) if p]
        rest = [p for p in environ.get("PATH", "").split(os.pathsep) if p and p not in first]
        environ["PATH"] = os.pathsep.join(first + rest)
    # The spec never sets what it asks to unset: these name the server's environment, not this one.
    for name in environ.get("ENVKERNELS_UNSET", "").split(","):
        if name.strip():
            environ.pop(name.strip(), None)


def interpreter_tag():
    """``cp312``/``cp313t``/``pp310``: the overlay this interpreter uses (same as the host computes)."""
    import sysconfig

    impl = getattr(sys, "implementation", None)
    impl = impl.name if impl is not None else "cpython"
    short = _IMPL_SHORT.get(impl, impl)
    threaded = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    return "%s%d%d%s" % (short, sys.version_info[0], sys.version_info[1], threaded)


def trusted(directory):
    """True when ``directory`` belongs to root or this user and no one else may write to it."""
    try:
        st = os.stat(directory)
    except OSError:
        return False
    owners = (0, os.geteuid()) if hasattr(os, "geteuid") else (st.st_uid,)
    return st.st_uid in owners and not st.st_mode & 0o022


def ipykernel_importable():
    """True when ``ipykernel.kernelapp`` can be found on the current ``sys.path``."""
    try:
        import importlib.util
    except ImportError:  # Python 2: no finder API, try the import itself
        try:
            __import__("ipykernel")
            return True
        except ImportError:
            return False
    importlib.invalidate_caches()
    try:
        return importlib.util.find_spec("ipykernel") is not None
    except (ImportError, ValueError):
        return False


def ask_host(args):
    """Run the envkernels installation's overlay builder; fail with its message if it fails."""
    host = os.environ.get("ENVKERNELS_HOST_PYTHON")
    if not host or not os.path.exists(host):
        fail(
            "ipykernel is not installed in `%s` and the envkernels installation that could provide it "
            "is gone (`%s`)" % (sys.prefix, host),
            "run `envkernels kernels install --all` again, or `uv pip install --python %s ipykernel`"
            % sys.executable,
        )
    import subprocess

    returncode = subprocess.call(
        [host, "-m", "envkernels.kernels.overlay", "--python", sys.executable] + list(args)
    )
    if returncode != 0:
        fail(
            "could not provide ipykernel for `%s` (the overlay builder exited with %d)"
            % (sys.prefix, returncode),
            "see the lines above; `uv pip install --python %s ipykernel` installs it into the environment"
            % sys.executable,
        )


def provide_ipykernel():
    """Make ipykernel importable without touching the environment (or, if chosen, by installing it)."""
    if ipykernel_importable():
        return
    if os.environ.get("ENVKERNELS_WITHOUT_IPYKERNEL") == "install":
        ask_host(["--into-env"])
        if ipykernel_importable():
            return
    tag = interpreter_tag()
    for prepared in os.environ.get("ENVKERNELS_OVERLAY_DIRS", "").split(os.pathsep):
        candidate = os.path.join(prepared, tag)
        if (
            prepared.strip()
            and os.path.isfile(os.path.join(candidate, "ipykernel", "__init__.py"))
            and trusted(candidate)
        ):
            sys.path.append(candidate)
            if ipykernel_importable():
                return
            sys.path.remove(candidate)
    root = os.environ.get("ENVKERNELS_OVERLAY_ROOT")
    if not root:
        fail(
            "ipykernel is not installed in `%s`" % sys.prefix,
            "`uv pip install --python %s ipykernel`, or start the kernel through envkernels" % sys.executable,
        )
    overlay = os.path.join(str(root), tag)
    if not os.path.isfile(os.path.join(overlay, "ipykernel", "__init__.py")):
        ask_host(["--target", overlay])
    sys.path.append(overlay)
    if not ipykernel_importable():
        fail(
            "the ipykernel overlay `%s` is unusable" % overlay, "delete it; the next kernel start rebuilds it"
        )


def main(argv):
    """Prepare the process and run the IPython kernel with ``argv`` (``-f <connection file>`` ...)."""
    environ = os.environ
    if environ.get("ENVKERNELS_PROBLEM"):
        fail(environ["ENVKERNELS_PROBLEM"], environ.get("ENVKERNELS_HINT"))
    apply_activation(environ)
    # sys.path[0] is this directory (script mode); keep it importable, but last.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE] + [_HERE]
    provide_ipykernel()
    from ipykernel.kernelapp import IPKernelApp

    args = list(argv)
    if os.path.isfile(os.path.join(_HERE, _EXTENSION + ".py")):
        args.append("--IPKernelApp.extra_extensions=" + _EXTENSION)
    IPKernelApp.launch_instance(argv=args)


if __name__ == "__main__":
    main(sys.argv[1:])
