"""One rule for bad input across every `envkernels` command: exit 2, `error:` + `hint:`, nothing on stdout.

A verdict printed before the error (a table, a JSON report, "no findings") would read as an answer to
a question the command could not ask; every command is covered, and a new command must add its case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envkernels.cli import COMMANDS, main

# Each case: (command, argv with {env} / {nb} / {missing} placeholders). {nb} is a file that is no notebook.
CASES: list[tuple[str, list[str]]] = [
    ("list", ["list", "--kind", "nope"]),
    ("list", ["list", "--no-default-roots", "--root", "{missing}"]),
    ("check", ["check", "{env}", "--notebook", "{nb}"]),
    ("check", ["check", "{env}", "--notebook", "{nb}", "--json"]),
    ("check", ["check", "{env}", "--lock", "{nb}"]),
    ("check", ["check", "{env}", "--lock", "{missing}"]),
    ("lock", ["lock", "{env}", "--notebook", "{nb}", "-o", "-"]),
    ("lock", ["lock", "{env}", "--no-hashes", "-o", "{missing}/pylock.toml"]),
    ("sync", ["sync", "{nb}", "--target", "{env}"]),
    ("sync", ["sync", "{nb}", "--target", "{env}", "--json"]),
    ("sync", ["sync", "{missing}", "--target", "{env}"]),
    ("sync", ["sync", "{nb}", "--create", "--target", "{missing}"]),
    ("fork", ["fork", "{missing}"]),
    ("fork", ["fork", "{env}", "{env}", "--json"]),
    ("kernels", ["kernels", "prepare", "--dest", "{missing}", "--python", "{missing}"]),
    ("history", ["history", "{missing}", "--json"]),
    ("history", ["history", "--root", "{missing}"]),
    ("audit", ["audit", "{nb}", "--json"]),
    ("audit", ["audit", "{env}", "--db", "{missing}", "--json"]),
    ("kernels", ["kernels", "install", "{missing}"]),
    ("kernels", ["kernels", "install", "--all", "--no-default-roots", "--root", "{missing}"]),
    ("doctor", ["doctor", "--no-default-roots", "--root", "{missing}"]),
    ("doctor", ["doctor", "--json", "--no-default-roots", "--root", "{missing}"]),
    ("cleanup", ["cleanup", "--root", "{missing}"]),
    ("cleanup", ["cleanup", "--root", "{missing}", "--json"]),
    ("cleanup", ["cleanup", "--root", "{env}/..", "--apply", "{env}", "--json"]),
    ("cleanup", ["cleanup", "--undo", "no-such-id"]),
    ("cleanup", ["cleanup", "--older-than", "3"]),
]


def test_every_command_has_a_bad_input_case() -> None:
    assert {command for command, _ in CASES} == set(COMMANDS)


@pytest.mark.parametrize(("command", "argv"), CASES, ids=[" ".join(a) for _, a in CASES])
def test_bad_input_exits_2_with_only_the_error_and_its_hint(
    command: str,
    argv: list[str],
    small_env: Path,
    isolated_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nb = tmp_path / "notes.ipynb"
    nb.write_text("this is not a notebook\n")
    values = {"{env}": str(small_env), "{nb}": str(nb), "{missing}": str(tmp_path / "missing")}
    for key, value in values.items():
        argv = [a.replace(key, value) for a in argv]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert re.fullmatch(r"(error: [^\n]+\n(hint: [^\n]+\n)?)+", err), err
    assert "hint: " in err
