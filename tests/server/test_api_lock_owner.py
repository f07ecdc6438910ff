"""The lock rule through the REST API: a pylock written (by the API's own lock) for one environment,
beside a notebook, is not applied when another environment is checked with that notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat
from api_helpers import env_ids

LOCK_CODES = {"lock-missing", "lock-extra", "lock-version-mismatch", "python-mismatch"}


async def test_a_pylock_for_alpha_beside_the_notebook_is_not_applied_to_beta(api, jp_root_dir: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import os"))
    (jp_root_dir / "analysis.ipynb").write_text(nbformat.writes(nb))
    ids = await env_ids(api)
    status, written = await api("POST", "environments", ids["alpha"], "lock", body={"path": "pylock.toml"})
    assert status == 200, written
    status, report = await api(
        "GET", "environments", ids["beta"], "check", params={"notebook": "analysis.ipynb"}
    )
    assert status == 200, report
    codes = [f["code"] for f in report["findings"]]
    assert not LOCK_CODES & set(codes), report["findings"]
    [note] = [f for f in report["findings"] if f["code"] == "lock-not-used"]
    assert note["severity"] == "info"
    assert note["message"].startswith("pylock.toml beside the notebook was written for `alpha` (")
    assert note["message"].endswith("); not used")
    # alpha itself is checked against the lock made from it: used, and it agrees.
    status, own = await api(
        "GET", "environments", ids["alpha"], "check", params={"notebook": "analysis.ipynb"}
    )
    assert status == 200
    assert not {f["code"] for f in own["findings"]} & (LOCK_CODES | {"lock-not-used"}), own["findings"]
