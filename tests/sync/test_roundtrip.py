"""Round trip, measured end to end: lock a data-science environment A, build B from the lock,
and B installs the same distributions and runs a notebook to the same outputs as A."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from envfactory import freeze, make_venv
from envkernels.discovery.probe import environment_from_prefix
from simple_index_server import lock_from_live_index

STACK = ["numpy", "pandas", "matplotlib", "scikit-learn", "ipykernel"]

CELLS = [
    "import numpy as np, pandas as pd, sklearn, matplotlib\n"
    "print(np.__version__, pd.__version__, sklearn.__version__, matplotlib.__version__)",
    "rng = np.random.default_rng(42)\n"
    "df = pd.DataFrame(rng.normal(size=(200, 3)), columns=list('abc'))\n"
    "df['y'] = 2 * df.a - 3 * df.b + 0.5 * df.c + rng.normal(scale=0.1, size=200)\n"
    "df.describe().round(6)",
    "from sklearn.linear_model import LinearRegression\n"
    "model = LinearRegression().fit(df[['a', 'b', 'c']], df.y)\n"
    "print(np.round(model.coef_, 6), round(float(model.intercept_), 6))",
    "matplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(3, 2), dpi=50)\nax.plot(df.a.cumsum())\nfig.canvas.draw()\n"
    "print(int(np.asarray(fig.canvas.buffer_rgba()).astype('int64').sum()))",
]


def _kernelspec(jupyter: Path, name: str, prefix: Path) -> None:
    d = jupyter / "kernels" / name
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(prefix / "bin" / "python"),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": name,
                "language": "python",
            }
        )
    )


def _run_notebook(kernel: str) -> list[list[dict]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, kernel_name=kernel, timeout=300).execute()
    outputs = []
    for cell in nb.cells:
        outs = []
        for o in cell.outputs:
            o = dict(o)
            o.pop("execution_count", None)
            o.pop("metadata", None)
            outs.append(o)
        outputs.append(outs)
    return outputs


@pytest.mark.slow
@pytest.mark.network
def test_locked_data_science_env_rebuilds_identically_and_runs_a_notebook_the_same(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_venv(tmp_path / "A", STACK)
    result = lock_from_live_index(environment_from_prefix(a), tmp_path / "pylock.toml")
    assert result.missing == [] and result.packages >= 40
    b = tmp_path / "B"
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "envkernels",
            "sync",
            str(tmp_path / "pylock.toml"),
            "--create",
            "--target",
            str(b),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert created.returncode == 0, created.stderr
    assert freeze(b) == freeze(a)
    jupyter = tmp_path / "jupyter"
    _kernelspec(jupyter, "env-a", a)
    _kernelspec(jupyter, "env-b", b)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    out_a = _run_notebook("env-a")
    out_b = _run_notebook("env-b")
    assert out_a == out_b
    assert all(cell for cell in out_a), "every cell printed something"
    assert not any(o.get("output_type") == "error" for cell in out_a for o in cell)
