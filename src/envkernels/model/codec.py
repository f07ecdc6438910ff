"""The one JSON codec of the result model: ``to_dict``/``from_dict`` and the JSON Schema, from the fields.

A result type is a frozen dataclass deriving from :class:`Record`; its JSON object has one key per
field (``metadata={"key": ...}`` renames one, ``metadata={"omit_none": True}`` leaves a None out),
tuples become lists, nested records objects. ``from_dict`` ignores keys it does not know (a newer
writer's) and fills absent ones from the field defaults, so old caches and newer peers still read.
A literal outside its declared values is kept as read (a newer envkernels may know more kinds).

:func:`json_schema` describes exactly what ``to_dict`` writes (draft 2020-12): every key it always
writes is ``required``, a Literal is an ``enum``. The committed docs/schema/results.schema.json and
labextension/src/schema.ts are generated from it (``python -m envkernels.model.schema --write``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar, Union

JSON = Union[str, int, float, bool, None, list["JSON"], dict[str, "JSON"]]  # noqa: UP007 (a recursive alias)
JSONObject = dict[str, JSON]
R = TypeVar("R", bound="Record")
Encode = Callable[[object], JSON]
Decode = Callable[[object], object]


class Record:
    """Base of the result model's dataclasses: the JSON form derived from their fields."""

    __slots__ = ()

    def to_dict(self) -> JSONObject:
        """The JSON object of this record (lists, not tuples; nested records as objects)."""
        out: JSONObject = {}
        for name, key, enc, _dec, omit in _plan(type(self)):
            value = getattr(self, name)
            if omit and value is None:
                continue
            # Scalars (most fields) are written as they are: no call per field.
            out[key] = value if enc is _same else enc(value)
        return out

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, object]) -> R:
        """Rebuild a record from its JSON object; unknown keys are ignored, absent ones take defaults."""
        kwargs = {
            name: data[key] if dec is _keep else dec(data[key])
            for name, key, _enc, dec, _omit in _plan(cls)
            if key in data
        }
        return cls(**kwargs)


@dataclasses.dataclass(frozen=True)
class _Type:
    """How one annotated type is encoded, decoded and described."""

    encode: Encode
    decode: Decode
    schema: JSONObject
    records: tuple[type[Record], ...] = ()  # nested record types (for the schema's $defs)
    present: JSONObject | None = None  # for ``X | None``: the schema of X (a key left out when None)


def _same(value: object) -> JSON:
    return value  # type: ignore[return-value]  # a str/int/float/bool/None, by the annotation


def _keep(value: object) -> object:
    return value


def _number(value: object) -> object:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


_SCALARS: dict[object, _Type] = {
    str: _Type(_same, _keep, {"type": "string"}),
    int: _Type(_same, _keep, {"type": "integer"}),
    float: _Type(_same, _number, {"type": "number"}),
    bool: _Type(_same, _keep, {"type": "boolean"}),
}


def _optional(inner: _Type) -> _Type:
    def encode(value: object) -> JSON:
        return None if value is None else inner.encode(value)

    def decode(value: object) -> object:
        return None if value is None else inner.decode(value)

    schema = inner.schema
    if set(schema) == {"type"} and isinstance(schema["type"], str):
        described: JSONObject = {"type": [schema["type"], "null"]}
    elif set(schema) == {"enum"} and isinstance(schema["enum"], list):
        described = {"enum": [*schema["enum"], None]}
    else:
        described = {"anyOf": [schema, {"type": "null"}]}
    return _Type(encode, decode, described, inner.records, inner.schema)


def _array(inner: _Type) -> _Type:
    def encode(value: object) -> JSON:
        return [inner.encode(v) for v in typing.cast(Iterable[object], value)]

    def decode(value: object) -> object:
        return tuple(inner.decode(v) for v in typing.cast(Iterable[object], value or ()))

    return _Type(encode, decode, {"type": "array", "items": inner.schema}, inner.records)


def _mapping(inner: _Type) -> _Type:
    def encode(value: object) -> JSON:
        return {str(k): inner.encode(v) for k, v in typing.cast(Mapping[str, object], value).items()}

    def decode(value: object) -> object:
        return {str(k): inner.decode(v) for k, v in typing.cast(Mapping[str, object], value or {}).items()}

    return _Type(encode, decode, {"type": "object", "additionalProperties": inner.schema}, inner.records)


def _record(cls: type[Record]) -> _Type:
    def encode(value: object) -> JSON:
        return typing.cast(Record, value).to_dict()

    def decode(value: object) -> object:
        return cls.from_dict(typing.cast(Mapping[str, object], value))

    return _Type(encode, decode, {"$ref": f"#/$defs/{cls.__name__}"}, (cls,))


def _describe(tp: object) -> _Type:
    """The codec of one annotation: str, int, float, bool, Literal, X | None, tuple[X, ...],
    dict[str, X] or a Record."""
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and issubclass(tp, Record):
        return _record(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return _Type(_same, _keep, {"enum": list(args)})
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _optional(_describe(rest[0]))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _array(_describe(args[0]))
    if origin is dict and args and args[0] is str:
        return _mapping(_describe(args[1]))
    raise TypeError(f"the result model cannot carry {tp!r} (add it to model.codec._describe)")


_Field = tuple[str, str, Encode, Decode, bool]  # name, JSON key, encode, decode, omit when None
# Per record type, built on first use (a dict, not functools.cache: types are keys, not arguments).
_HINTS: dict[type[Record], dict[str, _Type]] = {}
_PLANS: dict[type[Record], tuple[_Field, ...]] = {}


def _hints(cls: type[Record]) -> dict[str, _Type]:
    found = _HINTS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _HINTS[cls] = {f.name: _describe(hints[f.name]) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return found


def _plan(cls: type[Record]) -> tuple[_Field, ...]:
    found = _PLANS.get(cls)
    if found is not None:
        return found
    described = _hints(cls)
    found = _PLANS[cls] = tuple(
        (
            f.name,
            str(f.metadata.get("key", f.name)),
            described[f.name].encode,
            described[f.name].decode,
            bool(f.metadata.get("omit_none", False)),
        )
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    )
    return found


def _doc(cls: type) -> str:
    """The first paragraph of a docstring, on one line, with Markdown backticks."""
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).replace("``", "`")


def record_schema(cls: type[Record]) -> JSONObject:
    """The JSON Schema of one record type (its nested records by ``$ref`` into ``#/$defs``)."""
    described = _hints(cls)
    properties: JSONObject = {}
    required: list[JSON] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = str(f.metadata.get("key", f.name))
        kind = described[f.name]
        if f.metadata.get("omit_none") and kind.present is not None:
            properties[key] = kind.present  # absent when None, never null
        else:
            properties[key] = kind.schema
            required.append(key)
    return {
        "type": "object",
        "description": _doc(cls),
        "properties": properties,
        "required": required,
    }


def json_schema(roots: Iterable[type[Record]]) -> JSONObject:
    """The JSON Schema (2020-12) of ``roots`` and every record they contain, each under ``$defs``."""
    defs: dict[str, JSONObject] = {}
    todo = list(roots)
    while todo:
        cls = todo.pop(0)
        if cls.__name__ in defs:
            continue
        defs[cls.__name__] = record_schema(cls)
        for described in _hints(cls).values():
            todo.extend(described.records)
    names: list[JSON] = [{"$ref": f"#/$defs/{r.__name__}"} for r in roots]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "envkernels results",
        "description": "The JSON form of envkernels' results (src/envkernels/model/); generated.",
        "anyOf": names,
        "$defs": dict(sorted(defs.items())),
    }
