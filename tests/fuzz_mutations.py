"""Hypothesis strategies that damage real lockfiles and notebooks the way the world does.

Seeds are real files: the lockfile corpus (``tests/data/lockfiles``, see SOURCES.md there) and the
demo notebooks. A strategy parses one, then changes it: a value swapped for another type, a key
dropped, a value wrapped in a list or nested deep, a huge string, a string with a line break and
an option, a lone surrogate; or, on the text, a cut, inserted bytes (bad UTF-8, NUL) or nesting
far deeper than any parser's recursion limit. The result is the bytes of a file to write under
the seed's own name.

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (default; few examples, derandomized so CI is
repeatable), ``long`` (thousands of examples, random; the documented longer run).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from envkernels._toml import tomllib

TESTS = Path(__file__).resolve().parent
CORPUS = TESTS / "data" / "lockfiles"

# Seeds are whole real files and some values are 200 000 characters on purpose: the health checks
# about slow or large examples would stop the run, not find a bug.
_QUIET = [
    HealthCheck.too_slow,
    HealthCheck.function_scoped_fixture,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]
settings.register_profile(
    "ci", max_examples=6, deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET
)
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# (file name to write, seed path, kind): kind is how the seed is parsed and dumped again.
SEEDS: tuple[tuple[str, Path, str], ...] = (
    ("uv.lock", CORPUS / "uv/aekespong__the_card/uv.lock", "toml"),
    ("uv.lock", CORPUS / "uv/heroku__heroku-buildpack-python/uv.lock", "toml"),
    ("poetry.lock", CORPUS / "poetry/0442__tui/poetry.lock", "toml"),
    ("poetry.lock", CORPUS / "poetry/000hcl__tictactoe/poetry.lock", "toml"),
    ("pdm.lock", CORPUS / "pdm/490273789__hello_python/pdm.lock", "toml"),
    ("Pipfile.lock", CORPUS / "pipfile/0-jam__soundtest/Pipfile.lock", "json"),
    ("pylock.toml", CORPUS / "pylock/Anski-D__grumpyfuk/pylock.toml", "toml"),
    ("pylock.toml", CORPUS / "pylock/HYBB-rash__my_qb_tools/pylock.toml", "toml"),
    ("requirements.txt", CORPUS / "requirements-hashes/pypi__warehouse/deploy.txt", "text"),
    ("demo.ipynb", TESTS.parent / "notebooks" / "demo.ipynb", "notebook"),
)
SEED_IDS = [f"{name}:{path.parent.name}" for name, path, _kind in SEEDS]

INJECTION = "1.0\n--index-url http://127.0.0.1:9/simple/"
ODD_VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(min_value=0, max_value=9), max_size=2),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "x" * 200_000,
            INJECTION,
            "-e /outside/dir",
            "\x00",
            "caf\udcffe",
            "é" * 300,
            "../../../../etc/passwd",
            "sha256:zz",
            "md5:" + "0" * 32,
            "==1.0",
            "*",
        ]
    ),
)


def load(path: Path, kind: str) -> Any:
    """The parsed seed (text for requirements files)."""
    text = path.read_text(encoding="utf-8")
    if kind == "toml":
        return tomllib.loads(text)
    if kind == "json":
        return json.loads(text)
    if kind == "notebook":  # the demo notebook, carrying a real pylock in its metadata
        nb = json.loads(text)
        lock = (CORPUS / "pylock/Anski-D__grumpyfuk/pylock.toml").read_text(encoding="utf-8")
        nb["metadata"]["envkernels"] = {"lock": lock, "environment": {"name": "demo"}}
        return nb
    return text


def dump(data: Any, kind: str) -> bytes:
    """Bytes of ``data`` in ``kind``; lone surrogates become bytes that are not UTF-8."""
    if kind == "toml":
        text = tomli_w.dumps(data)
    elif kind in ("json", "notebook"):
        text = json.dumps(data, indent=1, ensure_ascii=False)
    else:
        text = data
    return text.encode("utf-8", "surrogatepass")


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


@st.composite
def mutate_tree(draw: st.DrawFn, tree: Any) -> Any:
    """One change at a point of ``tree`` (a copy): swap type, drop, wrap, nest deep, rename a key."""
    tree = copy.deepcopy(tree)
    parent, key, node = None, None, tree
    while _children(node) and draw(st.integers(0, 3)) > 0:
        parent, key = node, draw(st.sampled_from(_children(node)))
        node = node[key]
    op = draw(st.sampled_from(["swap", "drop", "wrap", "nest", "rename"]))
    if parent is None:
        return draw(ODD_VALUES) if op == "swap" else [tree]
    if op == "swap":
        parent[key] = draw(ODD_VALUES)
    elif op == "drop":
        del parent[key]
    elif op == "wrap":
        parent[key] = [node]
    elif op == "nest":
        for _ in range(draw(st.integers(2, 60))):
            node = [node]
        parent[key] = node
    elif isinstance(parent, dict):
        new_key = draw(st.sampled_from(["", "x\ny", "\udcff", "name", "version", "package", "-e"]))
        parent[new_key] = parent.pop(key)
    return tree


@st.composite
def mutate_text(draw: st.DrawFn, raw: bytes) -> bytes:
    """A text-level change: cut short, bytes inserted, or nesting deeper than any recursion limit."""
    op = draw(st.sampled_from(["cut", "insert", "deep", "empty"]))
    at = draw(st.integers(0, len(raw)))
    if op == "cut":
        return raw[:at]
    if op == "insert":
        junk = draw(
            st.sampled_from(
                [
                    b"\xff\xfe",
                    b"\x00",
                    b"\n--index-url http://127.0.0.1:9/\n",
                    b"\xed\xa0\x80",
                    b"[",
                    b"{",
                    b'"',
                    b"\\",
                ]
            )
        )
        return raw[:at] + junk + raw[at:]
    if op == "deep":
        depth = draw(st.sampled_from([500, 5_000, 100_000]))
        if raw.lstrip().startswith(b"{"):
            return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
        return b"x = " + b"[" * depth + b"]" * depth + b"\n"
    return b""


@st.composite
def damaged(draw: st.DrawFn, seed: int) -> bytes:
    """The bytes of a damaged copy of ``SEEDS[seed]``."""
    _name, path, kind = SEEDS[seed]
    data = load(path, kind)
    if kind != "text" and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            data = draw(mutate_tree(data))
        try:
            return dump(data, kind)
        except (TypeError, ValueError, AttributeError):  # tomli_w cannot write every shape (a non-table root)
            return json.dumps(data, default=str).encode("utf-8", "surrogatepass")
    return draw(mutate_text(dump(data, kind)))
