"""`envkernels kernels install` writes ordinary kernelspecs; `prune` removes exactly ours that went stale."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kernelhelpers import env_at

from envfactory import make_venv
from envkernels.cli import main


def kernels_dir(home: Path) -> Path:
    return Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"


def test_install_then_delete_env_then_prune_removes_exactly_that_spec(
    khome: Path, tmp_path: Path, kroot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doomed = make_venv(tmp_path / "doomed", ["six==1.16.0"])
    assert main(["kernels", "install", str(doomed)]) == 0
    assert main(["kernels", "install", str(kroot / "withipk")]) == 0
    # Someone else's kernelspec whose interpreter is gone: reported, never touched.
    foreign = kernels_dir(khome) / "someone-elses"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(tmp_path / "gone" / "bin" / "python"),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "Gone",
                "language": "python",
            }
        )
    )
    doomed_name = env_at(doomed).kernel_name
    spec = json.loads((kernels_dir(khome) / doomed_name / "kernel.json").read_text())
    assert spec["argv"][0] == str(doomed / "bin" / "python")
    assert spec["metadata"]["envkernels"]["prefix"] == str(doomed)
    assert "kernel_provisioner" not in spec["metadata"]  # readable by any tool, envkernels or not
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert doomed_name in json.loads(listed.stdout)["kernelspecs"]

    shutil.rmtree(doomed)
    capsys.readouterr()
    assert main(["kernels", "prune", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in dry["removed"]] == [doomed_name]
    assert (kernels_dir(khome) / doomed_name).is_dir()  # a dry run removes nothing

    assert main(["kernels", "prune", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in result["removed"]] == [doomed_name]
    assert "someone-elses" in [s["name"] for s in result["other_stale"]]
    assert not (kernels_dir(khome) / doomed_name).exists()
    assert foreign.is_dir()
    assert (kernels_dir(khome) / env_at(kroot / "withipk").kernel_name).is_dir()


def test_install_of_a_broken_env_says_what_is_wrong(
    khome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = make_venv(tmp_path / "dangling")
    (env / "bin" / "python").unlink()
    (env / "bin" / "python").symlink_to(tmp_path / "nothing")
    assert main(["kernels", "install", str(env)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: the environment") and "broken" in err[0]
    assert err[1].startswith("hint: ")


def test_kernels_without_subcommand_is_a_usage_error(khome: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kernels"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_installed_spec_of_env_without_ipykernel_starts_outside_envkernels_server(
    khome: Path, kroot: Path, overlay_cache: Path
) -> None:
    """A plain jupyter_client (no envkernels manager, no provisioner) starts the installed spec."""
    from jupyter_client.manager import start_new_kernel

    bare = kroot / "bare"
    assert main(["kernels", "install", str(bare)]) == 0
    km, kc = start_new_kernel(kernel_name=env_at(bare).kernel_name, startup_timeout=180)
    try:
        from kernelhelpers import execute

        out, reply = execute(kc, "import sys; print(sys.prefix)")
        assert reply["status"] == "ok" and out.strip() == str(bare)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_install_all_skips_a_broken_env_with_a_warning_and_installs_the_rest(
    khome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    good = make_venv(root / "good")
    bad = make_venv(root / "bad")
    (bad / "bin" / "python").unlink()
    (bad / "bin" / "python").symlink_to(tmp_path / "nothing")
    prefix = tmp_path / "sysprefix"
    code = main(
        [
            "kernels",
            "install",
            "--all",
            "--no-default-roots",
            "--root",
            str(root),
            "--prefix",
            str(prefix),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    written = json.loads(captured.out)
    assert [w["name"] for w in written] == [env_at(good).kernel_name]
    assert Path(written[0]["resource_dir"]).parent == prefix / "share" / "jupyter" / "kernels"
    assert f"warning: skipped `{bad}`" in captured.err
