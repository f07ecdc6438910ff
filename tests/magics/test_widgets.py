"""The ipywidgets views, built and driven in a real kernel whose environment has ipywidgets."""

from __future__ import annotations

from pathlib import Path

from magic_kernels import LiveKernel


def test_envs_widget_filters_the_environment_table(live_kernel: LiveKernel, magic_env: Path) -> None:
    live_kernel.execute(f"r = %envs --root {magic_env.parent}\nw = r.widget()")
    kinds = live_kernel.value("[type(c).__name__ for c in w.children]")
    assert kinds == ["HTML", "Text", "HTML", "Accordion", "HBox", "Output"]
    assert "magics" in live_kernel.value("w.children[2].value")
    live_kernel.execute("w.children[1].value = 'MAGICS shared-envs'")
    assert "magics" in live_kernel.value("w.children[2].value")
    assert live_kernel.value("w.children[0].value").startswith("<b>Environments</b>: ")
    live_kernel.execute("w.children[1].value = 'no-such-environment-anywhere'")
    assert "magics" not in live_kernel.value("w.children[2].value")
    assert live_kernel.value("w.children[0].value").startswith("<b>Environments</b>: 0 of")


def test_envs_widget_has_a_filterable_package_table_of_the_kernels_environment(
    live_kernel: LiveKernel,
) -> None:
    live_kernel.execute("r = %envs\npk = r.widget().children[3]\nquery, table = pk.children[0].children")
    assert live_kernel.value("pk.get_title(0)").startswith("Packages in this kernel's environment (")
    assert "<b>ipywidgets</b>" in live_kernel.value("table.value")
    live_kernel.execute("query.value = 'requests 2.32'")
    html = live_kernel.value("table.value")
    assert "<b>requests</b>" in html and "<b>ipywidgets</b>" not in html


def test_check_widget_has_one_expandable_section_per_package(live_kernel: LiveKernel) -> None:
    live_kernel.execute("r = %envcheck\nw = r.widget()\nacc = w.children[2]")
    assert live_kernel.value("type(acc).__name__") == "Accordion"
    packages = live_kernel.value("sorted({f.package or '(environment)' for f in r.findings})")
    titles = live_kernel.value("[acc.get_title(i) for i in range(len(acc.children))]")
    assert len(titles) == len(packages)
    requests_title = next(t for t in titles if t.startswith("requests "))
    assert requests_title.endswith(", error)")
    assert live_kernel.value("acc.selected_index") is None  # collapsed until opened
    idx = titles.index(requests_title)
    assert "broken-requirement" in live_kernel.value(f"acc.children[{idx}].value")
    live_kernel.execute("w.children[1].value = 'broken-requirement'")
    assert live_kernel.value("[acc.get_title(i) for i in range(len(acc.children))]") == [requests_title]


def test_lock_button_asks_before_it_writes(live_kernel: LiveKernel, tmp_path: Path) -> None:
    """The kernel's working directory is ``tmp_path``: the button's lock lands there, only after Confirm."""
    live_kernel.execute(
        "r = %envcheck\nw = r.widget()\nlock_box = w.children[3].children[0]\n"
        "start, confirm = lock_box.children\nyes, no = confirm.children[1], confirm.children[2]"
    )
    assert live_kernel.value("confirm.layout.display") == "none"
    live_kernel.execute("start.click()")
    assert live_kernel.value("[confirm.layout.display, start.disabled]") == ["flex", True]
    live_kernel.execute("no.click()")
    assert live_kernel.value("[confirm.layout.display, start.disabled]") == ["none", False]
    assert not (tmp_path / "pylock.toml").exists()
    live_kernel.execute("start.click()")
    content, _ = live_kernel.execute("yes.click()", timeout=300)
    assert content["status"] == "ok"
    text = (tmp_path / "pylock.toml").read_text()
    assert 'name = "requests"' in text and 'version = "2.32.3"' in text


def test_plan_widget_offers_apply_only_when_there_is_something_to_do(
    live_kernel: LiveKernel, tmp_path: Path
) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    live_kernel.execute("r = %envsync requirements.txt\nw = r.widget()")
    assert live_kernel.value("r.ok") is False
    assert live_kernel.value("[type(c).__name__ for c in w.children]") == ["HTML", "VBox", "Output"]
    assert live_kernel.value("w.children[1].children[0].description") == "Apply"
