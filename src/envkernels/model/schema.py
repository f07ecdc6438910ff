"""The result model's JSON Schema and the TypeScript types generated from it.

``python -m envkernels.model.schema --write`` (from the repository's root) writes
docs/schema/results.schema.json and labextension/src/schema.ts; ``--check`` exits 1 when either is
not what the model gives (tests/test_result_schema.py runs the same comparison). The JupyterLab
extension's ``api.ts`` imports its record types from ``schema.ts``, so a change to the model that
the extension does not follow fails its type check instead of drifting.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from envkernels.model import RESULT_TYPES
from envkernels.model.codec import JSON, JSONObject, json_schema

SCHEMA_PATH = Path("docs/schema/results.schema.json")
TYPESCRIPT_PATH = Path("labextension/src/schema.ts")


def schema() -> JSONObject:
    """The JSON Schema of every result type (:data:`envkernels.model.RESULT_TYPES`)."""
    return json_schema(RESULT_TYPES)


def schema_text() -> str:
    """:func:`schema` as the committed file holds it (indented, trailing newline)."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def _ts_literal(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return json.dumps(value)


def _ts_type(node: JSON) -> str:
    """The TypeScript type of one schema node (the subset :mod:`envkernels.model.codec` writes)."""
    if not isinstance(node, dict):
        raise ValueError(f"not a schema node: {node!r}")
    ref = node.get("$ref")
    if isinstance(ref, str):
        return "I" + ref.rsplit("/", 1)[-1]
    enum = node.get("enum")
    if isinstance(enum, list):
        return " | ".join(_ts_literal(v) for v in enum)
    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        return " | ".join(_ts_type(n) for n in any_of)
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(_ts_type({**node, "type": k}) for k in kind)
    if kind == "array":
        inner = _ts_type(node.get("items"))
        return f"({inner})[]" if " | " in inner else f"{inner}[]"
    if kind == "object":
        return f"{{ [key: string]: {_ts_type(node.get('additionalProperties'))} }}"
    names = {
        "string": "string",
        "integer": "number",
        "number": "number",
        "boolean": "boolean",
        "null": "null",
    }
    if isinstance(kind, str) and kind in names:
        return names[kind]
    raise ValueError(f"no TypeScript type for {node!r}")


def typescript(doc: JSONObject | None = None) -> str:
    """``labextension/src/schema.ts``: one exported interface ``I<Name>`` per record of the schema."""
    doc = doc if doc is not None else schema()
    defs = doc["$defs"]
    assert isinstance(defs, dict)
    out = [
        "/**",
        " * The result model's JSON types, generated from docs/schema/results.schema.json by",
        " * `python -m envkernels.model.schema --write`: do not edit (tests/test_result_schema.py",
        " * fails when this file is not what the model gives).",
        " */",
    ]
    for name, record in defs.items():
        assert isinstance(record, dict)
        properties, required = record["properties"], record["required"]
        assert isinstance(properties, dict) and isinstance(required, list)
        out += ["", f"/** {record.get('description') or name} */", f"export interface I{name} {{"]
        for key, node in properties.items():
            optional = "" if key in required else "?"
            out.append(f"  {key}{optional}: {_ts_type(node)};")
        out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``--write`` the generated files, or ``--check`` that they are current (exit 1 if not)."""
    parser = argparse.ArgumentParser(prog="python -m envkernels.model.schema", description=__doc__)
    parser.add_argument("--root", default=".", help="the repository's root (default: the current directory)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="write the schema and schema.ts")
    group.add_argument("--check", action="store_true", help="exit 1 when either file is not current")
    args = parser.parse_args(argv)
    root = Path(args.root)
    wanted = {root / SCHEMA_PATH: schema_text(), root / TYPESCRIPT_PATH: typescript()}
    stale = []
    for path, text in wanted.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
        else:
            stale.append(path)
    for path in stale:
        print(f"error: `{path}` is not what the result model gives", file=sys.stderr)
    if stale:
        print("hint: `python -m envkernels.model.schema --write`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
