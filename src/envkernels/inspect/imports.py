"""Imports of a notebook's code cells (read with ``ast``, never run) and the modules they need.

IPython syntax is dropped before parsing: line magics (``%pip``), shell escapes (``!ls``),
assignments from them (``x = !ls``), help (``obj?``) and non-Python cell magics (``%%bash``);
the statement of ``%time``/``%timeit``/``%prun`` (without options) is read as Python.
Imports inside ``try:`` blocks that catch ``ImportError`` are optional and not reported.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from envkernels.inspect.problems import InputError, InputProblem, read_text

# Cell magics whose body is still Python.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "memit", "writefile"}
_IPY_LINE = re.compile(r"^\s*([%!?]|[\w.\[\]'\"]+\s*=\s*[%!])|\?\s*$")
# Line magics whose argument is a Python statement (``%time import x``): the statement is read.
_PYTHON_LINE_MAGIC = re.compile(r"^(\s*)%(?:time|timeit|prun)\s+(?!-)(.*)$")
_OPTIONAL_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}

# Import names whose distribution is named otherwise (for a hint when nothing provides them).
KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "dateutil": "python-dateutil",
    "jwt": "pyjwt",
    "Crypto": "pycryptodome",
    "dotenv": "python-dotenv",
    "serial": "pyserial",
    "OpenSSL": "pyopenssl",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "fitz": "pymupdf",
    "zmq": "pyzmq",
    "mpl_toolkits": "matplotlib",
    "pkg_resources": "setuptools",
    "google": "protobuf",
    "gi": "pygobject",
    "magic": "python-magic",
    "Levenshtein": "levenshtein",
    "wx": "wxpython",
    "umap": "umap-learn",
    "faiss": "faiss-cpu",
    "pydantic_settings": "pydantic-settings",
}


@dataclass(frozen=True)
class ImportSite:
    """One ``import`` of a top-level module: where it is (``cell`` 1-based, or None)."""

    module: str
    cell: int | None = None
    line: int | None = None
    optional: bool = False


def _python_source(source: str) -> str:
    """A code cell's source with IPython-only lines blanked (line numbers are kept)."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(None, 1)[0] if lines[0].strip() != "%%" else ""
        if magic not in _PYTHON_CELL_MAGICS or magic == "writefile":
            return ""
        lines[0] = ""
    return "\n".join(_python_line(ln) for ln in lines)


def _python_line(line: str) -> str:
    """One line as Python: the statement of ``%time stmt``, blank for other IPython syntax."""
    magic = _PYTHON_LINE_MAGIC.match(line)
    if magic:
        return magic.group(1) + magic.group(2)
    if _IPY_LINE.search(line) and not line.lstrip().startswith(("import ", "from ")):
        return ""
    return line


def _guarded(node: ast.Try) -> bool:
    for handler in node.handlers:
        names: list[str] = []
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types]
        if _OPTIONAL_ERRORS & set(names):
            return True
    return False


def _modules_of(node: ast.AST) -> list[str]:
    """Top-level module names an ``import``/``from ... import`` statement loads (none for relative ones)."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module.split(".")[0]]
    return []


def imports_in_source(source: str, cell: int | None = None) -> list[ImportSite]:
    """Top-level modules imported by ``source`` (absolute imports only; relative ones are local)."""
    text = _python_source(source)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        # Parse what can be parsed: the import lines alone.
        found: list[ImportSite] = []
        for no, ln in enumerate(text.splitlines(), 1):
            if ln.lstrip().startswith(("import ", "from ")):
                try:
                    line_tree = ast.parse(ln.strip())
                except SyntaxError:
                    continue
                for node in line_tree.body:
                    found += [ImportSite(m, cell, no) for m in _modules_of(node)]
        return found
    sites: list[ImportSite] = []

    def visit(node: ast.AST, optional: bool) -> None:
        for child in ast.iter_child_nodes(node):
            opt = optional
            if isinstance(child, ast.Try) or type(child).__name__ == "TryStar":
                opt = optional or _guarded(child)  # type: ignore[arg-type]
                for stmt in child.body:  # type: ignore[attr-defined]
                    _record(stmt, opt)
                    visit(stmt, opt)
                for part in (*child.handlers, *child.orelse, *child.finalbody):  # type: ignore[attr-defined]
                    _record(part, optional)
                    visit(part, optional)
                continue
            _record(child, opt)
            visit(child, opt)

    def _record(node: ast.AST, optional: bool) -> None:
        for module in _modules_of(node):
            sites.append(ImportSite(module, cell, getattr(node, "lineno", None), optional))

    visit(tree, False)
    return sites


def notebook_imports(path: str) -> list[ImportSite]:
    """The imports of a notebook file's code cells; InputError when it is not a notebook."""
    text = read_text(path)
    try:
        nb = json.loads(text)
    except RecursionError as exc:
        raise InputError(
            InputProblem(
                path,
                f"`{path}` is nested too deeply to be a notebook",
                hint="restore it from version control",
            )
        ) from exc
    except ValueError as exc:
        raise InputError(
            InputProblem(
                path,
                f"`{path}` is not a notebook: invalid JSON at line {getattr(exc, 'lineno', '?')}",
                hint="open it in Jupyter to repair it, or restore it from version control",
                line=getattr(exc, "lineno", None),
            )
        ) from exc
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if cells is None and isinstance(nb, dict) and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in ws.get("cells") or []]
    if not isinstance(cells, list):
        raise InputError(
            InputProblem(
                path,
                f"`{path}` is not a notebook (no `cells` list)",
                hint="check that the file is a Jupyter notebook (nbformat 4)",
            )
        )
    sites: list[ImportSite] = []
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", cell.get("input", ""))  # `input` in nbformat 3
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        sites.extend(imports_in_source(str(source), index))
    return sites


def stdlib_modules() -> frozenset[str]:
    """Names of the standard library's top-level modules (plus ``__future__``)."""
    return frozenset(sys.stdlib_module_names) | {"__future__", "__main__"}


def local_modules(directories: Iterable[str]) -> set[str]:
    """Modules and packages that live in ``directories`` (a notebook's folder, the project, its ``src``)."""
    found: set[str] = set()
    for directory in directories:
        try:
            with os.scandir(directory) as entries:
                for e in entries:
                    if e.name.endswith(".py"):
                        found.add(e.name[:-3])
                    elif (
                        e.is_dir()
                        and not e.name.startswith(".")
                        and (os.path.exists(os.path.join(e.path, "__init__.py")) or _has_py(e.path))
                    ):
                        found.add(e.name)
        except OSError:
            continue
    return found


def _has_py(directory: str) -> bool:
    try:
        return any(n.endswith(".py") for n in os.listdir(directory))
    except OSError:
        return False
