"""A notebook's lock: ``metadata.envkernels.lock`` (pylock text) and ``metadata.envkernels.environment``.

Reading parses the notebook's JSON; writing changes only the ``metadata.envkernels`` value and
keeps every other byte of the file: the JSON is re-dumped with the file's own indent, key order,
``ensure_ascii`` choice and trailing newline, and the result is checked to differ from the
original only inside ``metadata`` before it atomically replaces the file.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from envkernels.errors import BadInputError
from envkernels.lockfiles.model import Lock

METADATA_KEY = "envkernels"


def load_notebook_json(text: str, path: str) -> dict[str, Any]:
    """The notebook as a dict (key order kept); BadInputError when it is not notebook JSON."""
    from envkernels.lockfiles._common import load_json

    hint = "open and save it in Jupyter, or restore it from version control"
    data = load_json(text, path, "notebook", hint, label="notebook JSON")
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise BadInputError(
            f"`{path}` is not a Jupyter notebook (no `cells`/`nbformat`)", hint="pass an .ipynb file"
        )
    return data


def lock_from_notebook_text(text: str, path: str) -> Lock:
    """The pylock carried in a notebook's metadata."""
    from envkernels.lockfiles.formats.pylock import parse_pylock

    nb = load_notebook_json(text, path)
    metadata = nb.get("metadata")
    meta = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    lock_text = meta.get("lock") if isinstance(meta, dict) else None
    if not isinstance(lock_text, str) or not lock_text.strip():
        raise BadInputError(
            f"`{path}` carries no lock in `metadata.{METADATA_KEY}.lock`",
            hint=f"`envkernels lock --notebook {path}` (or `%envlock --notebook` in the notebook) writes one",
        )
    return parse_pylock(lock_text, path, origin="notebook")


def detect_style(text: str) -> dict[str, Any]:
    """How the file was dumped: indent, whether non-ASCII is escaped, trailing newline."""
    m = re.search(r"^\{\r?\n([ \t]+)\"", text)
    indent: int | str | None = None
    if m:
        ws = m.group(1)
        indent = len(ws) if set(ws) == {" "} else ws
    # nbformat writes ensure_ascii=False; only an all-ASCII file with \u escapes was written with True.
    ensure_ascii = all(ord(c) < 128 for c in text) and bool(re.search(r"\\u[0-9a-fA-F]{4}", text))
    newline = "\r\n" if "\r\n" in text else "\n"
    return {
        "indent": indent,
        "ensure_ascii": ensure_ascii,
        "trailing": text.endswith(("\n", "\r\n")),
        "newline": newline,
        "compact": m is None,
        "sort_keys": False,
    }


def dump_like(data: dict[str, Any], style: dict[str, Any]) -> str:
    """JSON text of ``data`` in the given style (nbformat writes indent=1, sort_keys, ensure_ascii=False)."""
    if style["compact"]:
        out = json.dumps(
            data, ensure_ascii=style["ensure_ascii"], separators=(",", ":"), sort_keys=style["sort_keys"]
        )
    else:
        out = json.dumps(
            data, indent=style["indent"], ensure_ascii=style["ensure_ascii"], sort_keys=style["sort_keys"]
        )
    if style["newline"] == "\r\n":
        out = out.replace("\n", "\r\n")
    if style["trailing"]:
        out += style["newline"]
    return out


def with_lock(text: str, path: str, lock_text: str, environment: dict[str, Any]) -> str:
    """The notebook text with ``metadata.envkernels`` set to the lock and environment summary.

    Raises BadInputError when the notebook's JSON cannot be reproduced byte for byte outside
    the metadata (an unusual hand-formatted file): nothing is written then.
    """
    nb = load_notebook_json(text, path)
    style = detect_style(text)
    if dump_like(nb, style) != text:
        style["sort_keys"] = True  # nbformat sorts keys; a file it wrote round-trips this way
    if dump_like(nb, style) != text:
        raise BadInputError(
            f"`{path}` is formatted in a way envkernels cannot reproduce exactly, so it was not changed",
            hint="open and save the notebook in Jupyter once (that normalizes the JSON), then run again",
        )
    metadata = nb.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise BadInputError(
            f"`{path}`: the notebook's `metadata` is not an object, so it was not changed",
            hint="open and save the notebook in Jupyter (that repairs its metadata), then run again",
        )
    existing = metadata.get(METADATA_KEY)
    entry: dict[str, Any] = dict(existing) if isinstance(existing, dict) else {}
    entry["lock"] = lock_text
    entry["environment"] = environment
    metadata[METADATA_KEY] = entry
    new_text = dump_like(nb, style)
    # The cells and everything outside `metadata` must be exactly as they were.
    old_nb = json.loads(text)
    new_nb = json.loads(new_text)
    for key in set(old_nb) | set(new_nb):
        if key != "metadata" and old_nb.get(key) != new_nb.get(key):  # pragma: no cover - defensive
            raise BadInputError(f"`{path}`: writing the lock would change `{key}`; nothing written")
    return new_text


def write_notebook_lock(path: str | os.PathLike[str], lock_text: str, environment: dict[str, Any]) -> None:
    """Write the lock into the notebook's metadata atomically (an advisory lock serializes writers)."""
    from envkernels.core.atomic import atomic_write_text, file_lock
    from envkernels.lockfiles._common import read_text

    p = str(path)
    with file_lock(p):
        text = read_text(p)
        atomic_write_text(p, with_lock(text, p, lock_text, environment), backup=True)
