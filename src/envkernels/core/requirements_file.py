"""The pip requirements-file syntax, in one place: what every reader of ``requirements*.txt`` uses.

pip's rules (``pip/_internal/req/req_file.py``): a logical line joins physical lines ending in a
backslash; a comment starts at ``#`` at the line start or after whitespace; ``${VAR}`` is replaced
from the environment; the arguments before the first token starting with ``-`` are the
requirement, the rest are options. Options are pip's own list (``-r``/``-c`` includes, ``-e``
editables, index options, ``--hash`` and the other per-requirement options); anything else is an
unknown option. Requirements are parsed with ``packaging``.

Readers: ``inspect.declared`` (what a project declares, following ``-r``/``-c``) and
``lockfiles.formats.requirements`` (a pinned requirements file read as a lock).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
# pip's options that take a value (long form, and the short forms that name them).
_VALUE_OPTIONS = {
    "--index-url",
    "--extra-index-url",
    "--find-links",
    "--constraint",
    "--requirement",
    "--editable",
    "--no-binary",
    "--only-binary",
    "--trusted-host",
    "--use-feature",
    "--hash",
    "--global-option",
    "--config-settings",
}
_SHORT = {
    "-i": "--index-url",
    "-f": "--find-links",
    "-c": "--constraint",
    "-r": "--requirement",
    "-e": "--editable",
}
_FLAGS = {"--no-index", "--prefer-binary", "--require-hashes", "--pre"}
_LINE_KINDS = {"--requirement": "include", "--constraint": "constraint", "--editable": "editable"}
# Options allowed after a requirement on its line.
_PER_REQUIREMENT = {"--hash", "--global-option", "--config-settings"}


@dataclass(frozen=True)
class Line:
    """One logical line of a requirements file.

    ``kind``: ``requirement`` (``requirement`` set, or ``error`` when packaging cannot parse it),
    ``editable`` (``value`` is the ``-e`` target), ``include`` (``-r``) and ``constraint`` (``-c``)
    (``value`` is the path as written), ``option`` (any other option line), ``invalid`` (``error``
    says why: an unknown option, an option without its value).
    """

    number: int  # the first physical line
    text: str  # the logical line (comments dropped, continuations joined)
    kind: str
    value: str = ""  # the requirement text without its options, or the option's value
    option: str | None = None  # the option of an option line, long form
    requirement: Requirement | None = None
    hashes: tuple[str, ...] = ()  # --hash values as written (``sha256:...``)
    error: str | None = None


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) per logical line: continuations joined, comments and blanks dropped.

    pip's ``join_lines``/``ignore_comments``/``expand_env_variables``, in that order: a line ending
    in a backslash continues (unless it is a comment line), the parts joined as they are; then
    comments are dropped and ``${VAR}`` is replaced from the environment.
    """
    joined: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.endswith("\\") or _COMMENT.match(raw):
            line = " " + raw if _COMMENT.match(raw) else raw
            if buf:
                joined.append((start, "".join([*buf, line])))
                buf = []
            else:
                joined.append((number, line))
        else:
            if not buf:
                start = number
            buf.append(raw.strip("\\"))
    if buf:
        joined.append((start, "".join(buf)))
    out = []
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if line:
            out.append((number, _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)))
    return out


def _options(tokens: list[str]) -> tuple[list[tuple[str, str | None]], str | None]:
    """``(option, value)`` pairs of option tokens, or an error for an unknown or incomplete one."""
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        name, sep, value = tok.partition("=") if tok.startswith("--") else (tok, "", "")
        if not tok.startswith("--") and tok[:2] in _SHORT:
            name, value, sep = _SHORT[tok[:2]], tok[2:].lstrip("="), "=" if len(tok) > 2 else ""
        if name in _FLAGS and not sep:
            out.append((name, None))
            continue
        if name not in _VALUE_OPTIONS:
            return out, f"unknown option `{tok}`"
        if not sep:
            if i >= len(tokens):
                return out, f"option `{name}` needs a value"
            value = tokens[i]
            i += 1
        out.append((name, value))
    return out, None


def parse_line(number: int, text: str) -> Line:
    """One logical line (see :class:`Line`)."""
    tokens = text.split()
    first_option = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    args, opts = tokens[:first_option], tokens[first_option:]
    options, error = _options(opts)
    if args:
        body = " ".join(args)
        bad = [o for o, _v in options if o not in _PER_REQUIREMENT]
        if error or bad:
            why = error or f"`{bad[0]}` cannot follow a requirement"
            return Line(number, text, "invalid", body, error=why)
        hashes = tuple(v for o, v in options if o == "--hash" and v)
        try:
            return Line(number, text, "requirement", body, requirement=Requirement(body), hashes=hashes)
        except InvalidRequirement as exc:
            return Line(number, text, "requirement", body, hashes=hashes, error=str(exc))
    if error or not options:
        return Line(number, text, "invalid", error=error or "an empty option line")
    name, value = options[0]
    kind = _LINE_KINDS.get(name, "option")
    return Line(number, text, kind, value or "", option=name)


def parse(text: str) -> list[Line]:
    """Every logical line of a requirements file, parsed."""
    return [parse_line(number, line) for number, line in logical_lines(text)]
