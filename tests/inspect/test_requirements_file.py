"""The one requirements-file parser (envkernels.core.requirements_file) against pip's own, on the same files.

pip's parser (`pip._internal.req.req_file.parse_requirements`) runs inside a real seeded venv;
both sides follow `-r`/`-c` includes and are compared line for line: requirement text, editable,
constraint, hashes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from envfactory import make_venv, venv_python
from envkernels.core import requirements_file

MAIN = r"""# a compiled file, with everything pip allows
--index-url https://pypi.org/simple
--extra-index-url=https://example.org/simple
--trusted-host example.org
--prefer-binary
requests==2.32.3 \
    --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6 \
    --hash sha256:55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaab68d2d7e32
    # via -r requirements.in
idna==3.7  # a trailing comment
-r more.txt
-c constraints.txt
-e ./localpkg
--editable=git+https://github.com/pallets/click#egg=click
foo[bar,baz] >= 1.0 ; python_version >= "3.8"
name @ https://files.pythonhosted.org/packages/x/name-1.0-py3-none-any.whl
six\
==1.16.0
pkg==${ENVK_TEST_VERSION}
"""
MORE = "-r main-included-twice.txt\nattrs>=20 --config-settings key=value\n"
TWICE = "certifi\n"
CONSTRAINTS = "urllib3<3\n"

PIP_SIDE = r"""
import json, sys
from pip._internal.network.session import PipSession
from pip._internal.req.req_file import parse_requirements
out = []
for r in parse_requirements(sys.argv[1], session=PipSession()):
    hashes = (r.options or {}).get("hashes", {}).get("sha256", [])
    out.append([r.requirement, r.is_editable, r.constraint, sorted(hashes)])
print(json.dumps(out))
"""


def _ours(path: Path, constraint: bool = False) -> list[list]:
    out: list[list] = []
    for line in requirements_file.parse(path.read_text()):
        if line.kind in ("include", "constraint"):
            out += _ours(path.parent / line.value, constraint or line.kind == "constraint")
        elif line.kind == "editable":
            out.append([line.value, True, constraint, []])
        elif line.kind == "requirement":
            hashes = sorted(h.split(":", 1)[1] for h in line.hashes)
            out.append([line.value, False, constraint, hashes])
        else:
            assert line.kind == "option", line
    return out


@pytest.fixture(scope="module")
def pip_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venv_python(make_venv(tmp_path_factory.mktemp("pip") / "env", seed=True))


def test_includes_options_hashes_editables_as_pip_reads_them(
    pip_python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVK_TEST_VERSION", "2.0")
    (tmp_path / "requirements.txt").write_text(MAIN)
    (tmp_path / "more.txt").write_text(MORE)
    (tmp_path / "main-included-twice.txt").write_text(TWICE)
    (tmp_path / "constraints.txt").write_text(CONSTRAINTS)
    (tmp_path / "localpkg").mkdir()
    proc = subprocess.run(
        [str(pip_python), "-c", PIP_SIDE, str(tmp_path / "requirements.txt")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(proc.stdout)
    ours = _ours(tmp_path / "requirements.txt")
    # pip writes an editable's path as it resolved it, and keeps the spaces before a continued
    # line's options (`break_args_options` splits on single spaces); the requirement is the same.
    assert [r[1:] for r in ours] == [r[1:] for r in theirs]
    assert [r[0] for r in ours if not r[1]] == [r[0].strip() for r in theirs if not r[1]]
    assert any(r[0] == "pkg==2.0" for r in ours)  # ${VAR} expanded as pip expands it


@pytest.mark.parametrize(
    ("text", "error"),
    [("bar>=1 --bogus\n", "unknown option"), ("--index-url\n", "needs a value"), ("-r\n", "needs a value")],
)
def test_lines_pip_rejects_are_invalid(pip_python: Path, tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "requirements.txt").write_text(text)
    proc = subprocess.run(
        [str(pip_python), "-c", PIP_SIDE, str(tmp_path / "requirements.txt")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0  # pip refuses the file
    (line,) = requirements_file.parse(text)
    assert line.kind == "invalid" and error in (line.error or "")
