"""``%load_ext envkernels`` in a plain in-process IPython: the same magics, the engine run in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from envkernels.magics import EnvironmentCheckFailed, EnvKernelsMagicError, EnvResult


@pytest.fixture
def ip(isolated_home: Path, monkeypatch: pytest.MonkeyPatch, magic_env: Path) -> Iterator:
    """A real InteractiveShell with the extension loaded, pointed at ``magic_env`` as "its" environment."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("ENVKERNELS_ENV_PREFIX", str(magic_env))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("ENVKERNELS_NOTEBOOK", raising=False)
    shell = InteractiveShell.instance()
    shell._envkernels_magics = None
    shell.extension_manager.loaded.discard("envkernels")
    shell.run_line_magic("load_ext", "envkernels")
    yield shell
    shell.run_line_magic("unload_ext", "envkernels")


def test_load_ext_registers_all_five_magics(ip) -> None:
    for name in ("envs", "envcheck", "envlock", "envaudit", "envsync"):
        assert ip.find_line_magic(name) is not None, name
    assert type(ip._envkernels_magics.backend).__name__ == "InProcessBackend"


def test_envs_returns_a_result_with_the_environments(ip, magic_env: Path) -> None:
    result = ip.run_line_magic("envs", f"--root {magic_env.parent}")
    assert isinstance(result, EnvResult) and result.kind == "environments"
    records = result.to_dict()["environments"]
    assert any(r["prefix"] == str(magic_env.resolve()) for r in records)
    assert result.to_dict()["current"] == str(magic_env.resolve())
    assert "this kernel" in result._repr_html_() and "*" in repr(result)


def test_envcheck_in_process_finds_the_planted_broken_requirement(ip) -> None:
    result = ip.run_line_magic("envcheck", "")
    broken = [f for f in result.findings if f.code == "broken-requirement"]
    assert broken and {f.package for f in broken} == {"requests"}
    assert not result.ok
    assert "broken-requirement" in result._repr_html_()


def test_envcheck_strict_raises_the_check_failure(ip) -> None:
    with pytest.raises(EnvironmentCheckFailed) as info:
        ip.run_line_magic("envcheck", "--strict")
    assert "broken-requirement" in info.value.message
    assert any(f.package == "requests" for f in info.value.result.findings)


def test_envs_json_prints_the_records_like_list_json(
    ip, magic_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ip.run_line_magic("envs", f"--json --root {magic_env.parent}") is None
    records = json.loads(capsys.readouterr().out)
    assert isinstance(records, list)
    mine = next(r for r in records if r["prefix"] == str(magic_env.resolve()))
    assert {"id", "kind", "name", "python", "kernel_name", "status"} <= set(mine)


def test_envcheck_json_prints_the_spec_shape(ip, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("envcheck", "--json") is None
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"environment", "findings"}
    assert {"code", "severity", "package", "message", "hint"} <= set(data["findings"][0])


def test_bad_options_are_one_error_with_a_hint(ip) -> None:
    with pytest.raises(EnvKernelsMagicError) as info:
        ip.run_line_magic("envcheck", "--frobnicate")
    assert info.value.message == "unrecognized arguments: --frobnicate"
    assert info.value.hint == "`%envcheck --help` lists the options"
    with pytest.raises(EnvKernelsMagicError, match="cannot parse"):
        ip.run_line_magic("envsync", "'unclosed")


def test_help_prints_usage_and_returns_nothing(ip, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("envlock", "--help") is None
    assert "--notebook" in capsys.readouterr().out


def test_envlock_notebook_without_a_known_notebook_says_how(ip) -> None:
    with pytest.raises(EnvKernelsMagicError, match="does not know which notebook") as info:
        ip.run_line_magic("envlock", "--notebook")
    assert "envkernels lock --notebook" in (info.value.hint or "")


def test_envsync_without_any_lock_says_where_locks_come_from(
    ip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EnvKernelsMagicError, match="no lock to sync to") as info:
        ip.run_line_magic("envsync", "")
    assert "%envlock --notebook" in (info.value.hint or "")
    with pytest.raises(EnvKernelsMagicError, match="does not exist"):
        ip.run_line_magic("envsync", "missing.toml")


def test_failed_cell_shows_error_and_hint_lines_not_a_traceback(
    ip, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%envcheck --frobnicate")
    assert not result.success
    err = capsys.readouterr()
    text = err.out + err.err
    assert "error: unrecognized arguments: --frobnicate" in text
    assert "Traceback" not in text


def test_envsync_apply_refuses_a_direct_source_unless_allowed(
    ip, magic_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on the command line: a lock that names a local directory is applied only with
    ``--allow-direct-sources``; without it nothing runs and the environment is unchanged."""
    from envfactory import freeze

    proj = tmp_path / "proj"
    (proj / "proj").mkdir(parents=True)
    (proj / "proj" / "__init__.py").write_text("")
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.3.0"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    lock = tmp_path / "requirements.txt"
    lock.write_text(freeze(magic_env) + "-e ./proj\n")
    monkeypatch.chdir(tmp_path)
    before = freeze(magic_env)
    plan = ip.run_line_magic("envsync", "requirements.txt")
    assert "proj" in repr(plan)
    with pytest.raises(EnvKernelsMagicError) as info:
        ip.run_line_magic("envsync", "requirements.txt --apply")
    assert "--allow-direct-sources" in (info.value.hint or "")
    assert freeze(magic_env) == before
