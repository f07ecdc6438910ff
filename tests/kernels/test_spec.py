"""The pure parts: display names, the kernel.json dict, activation read from files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kernelhelpers import env_at

from envkernels.kernels.activation import activation_for, expand, parse_exports
from envkernels.kernels.spec import (
    ENV_HINT,
    ENV_PROBLEM,
    LaunchSettings,
    build_spec,
    display_name,
    interpreter_prefix_of,
    is_ours,
)
from envkernels.model import Environment

SETTINGS = LaunchSettings(
    launcher="/x/launch.py", host_python="/host/bin/python", overlay_root="/cache/overlay"
)


def record(**kw: object) -> Environment:
    base = dict(
        id="uv-myproject-3f2a9c1e",
        kind="uv",
        name="myproject",
        prefix="/p/.venv",
        python="/p/.venv/bin/python",
        python_version="3.12.4",
        kernel_name="envk-uv-myproject-3f2a9c1e",
    )
    base.update(kw)
    return Environment(**base)  # type: ignore[arg-type]


def test_display_name_reads_like_python_version_kind_and_name() -> None:
    assert display_name(record()) == "Python 3.12 (uv: myproject)"
    assert display_name(record(free_threaded=True, python_version="3.13.1")) == "Python 3.13t (uv: myproject)"
    assert (
        display_name(record(implementation="pypy", python_version="3.10.14")) == "PyPy 3.10 (uv: myproject)"
    )
    assert display_name(record(status="broken", problem="x")).endswith("[broken]")


def test_display_name_format_is_configurable_and_falls_back_on_a_bad_format() -> None:
    assert display_name(record(), "{name} [{kind}, {version}]") == "myproject [uv, 3.12]"
    assert display_name(record(), "{nope}") == "Python 3.12 (uv: myproject)"


def test_spec_starts_the_env_interpreter_directly_on_the_launcher_and_carries_the_record() -> None:
    env = record()
    spec = build_spec(env, activation_for(env), SETTINGS)
    assert spec["argv"] == [
        "/p/.venv/bin/python",
        "-Xfrozen_modules=off",
        "/x/launch.py",
        "-f",
        "{connection_file}",
    ]
    old = record(python_version="3.10.14")  # -X frozen_modules exists from 3.11 on
    assert build_spec(old, activation_for(old), SETTINGS)["argv"][:2] == [
        "/p/.venv/bin/python",
        "/x/launch.py",
    ]
    assert spec["interrupt_mode"] == "signal"
    assert spec["metadata"]["envkernels"] == env.to_dict()
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "envkernels-provisioner"
    assert spec["env"]["ENVKERNELS_ENV_ID"] == env.id
    assert spec["env"]["ENVKERNELS_HOST_PYTHON"] == "/host/bin/python"
    assert spec["env"]["VIRTUAL_ENV"] == "/p/.venv"
    assert spec["env"]["ENVKERNELS_PATH_PREPEND"] == "/p/.venv/bin"
    assert "CONDA_PREFIX" in spec["env"]["ENVKERNELS_UNSET"].split(",")
    assert is_ours(spec)


def test_broken_env_spec_runs_the_host_interpreter_and_carries_problem_and_hint() -> None:
    env = record(status="broken", problem="the interpreter link dangles", hint="`uv sync`")
    spec = build_spec(env, activation_for(env), SETTINGS)
    assert spec["argv"][0] == "/host/bin/python"
    assert "dangles" in spec["env"][ENV_PROBLEM]
    assert spec["env"][ENV_HINT] == "`uv sync`"


def test_interpreter_prefix_of_a_venv_is_the_venv_not_the_base_interpreter(kroot: Path) -> None:
    python = kroot / "withipk" / "bin" / "python"
    assert os.path.realpath(python) != str(python)  # a link to the base interpreter
    assert interpreter_prefix_of([str(python), "-m", "ipykernel_launcher"]) == str(kroot / "withipk")
    assert interpreter_prefix_of(["relative/python"]) is None


def test_parse_exports_takes_plain_assignments_and_skips_command_substitution() -> None:
    text = (
        "# comment\n"
        'export A="one two"\n'
        "export B='$HOME/x'\n"
        "export C=$(date)\n"
        "export D=`date`\n"
        "if true; then export E=1; fi\n"
        "export F=plain # trailing comment\n"
    )
    assert parse_exports(text) == [("A", "one two"), ("B", "$HOME/x"), ("F", "plain")]
    assert parse_exports("set -gx G /opt/g\nset -gx H (pwd)\n", fish=True) == [("G", "/opt/g")]


def test_expand_fills_known_variables_and_defers_unknown_ones_to_launch() -> None:
    assert expand("${CONDA_PREFIX}/share:$OTHER", {"CONDA_PREFIX": "/c"}) == "/c/share:${OTHER}"


def test_conda_layout_activation_sets_prefix_state_vars_and_activate_d_exports(kroot: Path) -> None:
    """The env is a uv venv dressed in conda's on-disk layout (conda cannot run on this machine)."""
    env = env_at(kroot / "condaish")
    act = activation_for(env)
    assert act.variables["CONDA_PREFIX"] == env.prefix
    assert act.variables["FROM_STATE"] == "state-value"
    assert act.variables["ENVK_TEST_VAR"] == "hello-from-activate.d"
    assert act.variables["ENVK_DATA_DIR"] == f"{env.prefix}/share/envk"
    assert "ENVK_SKIPPED" not in act.variables
    assert "VIRTUAL_ENV" in act.unset


def test_host_and_launcher_agree_on_the_overlay_tag_of_an_interpreter() -> None:
    import importlib.util
    import sys
    import sysconfig

    from envkernels.kernels.overlay import interpreter_tag
    from envkernels.kernels.paths import launcher_script

    spec = importlib.util.spec_from_file_location("envk_launch_under_test", launcher_script())
    assert spec is not None and spec.loader is not None
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert launch.interpreter_tag() == interpreter_tag(sys.implementation.name, version, threaded)
    assert interpreter_tag("cpython", "3.13.1", True) == "cp313t"
    assert interpreter_tag("pypy", "3.10", False) == "pp310"


def test_an_interpreter_too_old_for_an_overlay_gets_a_clear_error_and_hint() -> None:
    from envkernels.errors import EnvKernelsError
    from envkernels.kernels.overlay import ensure_overlay

    with pytest.raises(EnvKernelsError) as info:
        ensure_overlay(record(python_version="3.6.15"))
    assert "too old" in info.value.message and info.value.hint
