"""Screenshots compared with committed baselines, with a tolerance (a module of its own: `conftest` clashes).

A screenshot is saved under ``tests/ui/artifacts/`` (git-ignored; CI keeps the folder) and compared
with ``tests/ui/baselines/<name>.png``: pixels whose largest channel difference exceeds
``CHANNEL_TOLERANCE`` are counted, and at most ``MAX_DIFFERENT`` of them (a fraction) may differ,
so antialiasing and font hinting pass while a moved, missing or recoloured part fails. On a
failure the diff (differing pixels in magenta) is saved beside the screenshot. Baselines change
only deliberately: ``ENVKERNELS_UPDATE_BASELINES=1`` writes them (and the README's images).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
BASELINES = HERE / "baselines"
DOC_IMAGES = HERE.parents[1] / "docs" / "img"
CHANNEL_TOLERANCE = 48
MAX_DIFFERENT = 0.01


def updating() -> bool:
    """True when this run writes the baselines instead of comparing with them."""
    return os.environ.get("ENVKERNELS_UPDATE_BASELINES", "") not in ("", "0")


def compare_png(actual: Path, expected: Path, diff_out: Path) -> tuple[float, str]:
    """The fraction of differing pixels, and a sentence saying why when the images cannot be compared."""
    from PIL import Image, ImageChops

    with Image.open(actual) as a_img, Image.open(expected) as e_img:
        a = a_img.convert("RGB")
        e = e_img.convert("RGB")
    if a.size != e.size:
        return 1.0, f"size {a.size} differs from the baseline's {e.size}"
    diff = ImageChops.difference(a, e)
    # the largest channel difference per pixel, then a mask of those over the tolerance
    channels = diff.split()
    worst = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    mask = worst.point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    different = sum(1 for v in mask.getdata() if v)
    fraction = different / (a.size[0] * a.size[1])
    if different:
        marked = a.copy()
        marked.paste((255, 0, 255), mask=mask)
        marked.save(diff_out)
    return fraction, ""


def check_screenshot(locator, name: str, *, mask: list | None = None, doc_image: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    """Screenshot ``locator`` as ``name`` and compare it with its baseline (or write the baseline)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    actual = ARTIFACTS / f"{name}.png"
    locator.screenshot(
        path=str(actual), mask=mask or [], mask_color="#FF00FF", animations="disabled", caret="hide"
    )
    expected = BASELINES / f"{name}.png"
    if updating():
        BASELINES.mkdir(parents=True, exist_ok=True)
        shutil.copy(actual, expected)
        if doc_image:  # the README's picture: the same view, nothing masked
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            locator.screenshot(path=str(DOC_IMAGES / doc_image), animations="disabled", caret="hide")
        return actual
    assert expected.exists(), (
        f"error: no baseline {expected.relative_to(HERE.parents[1])}\n"
        "hint: look at the screenshot in tests/ui/artifacts/, then run with ENVKERNELS_UPDATE_BASELINES=1"
    )
    fraction, why = compare_png(actual, expected, ARTIFACTS / f"{name}-diff.png")
    assert not why, f"{name}: {why} (screenshot in {actual})"
    assert fraction <= MAX_DIFFERENT, (
        f"{name}: {fraction:.2%} of the pixels differ from the baseline (at most {MAX_DIFFERENT:.0%}); "
        f"see {ARTIFACTS / (name + '-diff.png')}; if the change is meant, ENVKERNELS_UPDATE_BASELINES=1"
    )
    return actual
