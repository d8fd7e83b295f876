"""AdaIN and CycleGAN train end to end on tiny data, then load and stylize; the CLI fails cleanly."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ml import stylize

pytestmark = pytest.mark.slow  # trains style networks

TINY_ADAIN = {"image_size": 32, "batch_size": 2, "steps": 2}
TINY_CYCLEGAN = {
    "image_size": 32,
    "batch_size": 1,
    "epochs": 1,
    "steps_per_epoch": 2,
    "base_filters": 4,
    "residual_blocks": 1,
    "disc_filters": 4,
    "style_name": "sketch",
    "samples": 1,
}


def _write_images(folder, n, seed):
    """n random 40x48 PNGs in ``folder``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """content/, style/, A/ and B/ folders of tiny random images."""
    root = tmp_path_factory.mktemp("style_data")
    for i, name in enumerate(("content", "style", "A", "B")):
        _write_images(root / name, 3, i)
    return root


def test_adain_trains_loads_and_stylizes(data_dir, tmp_path):
    from ml.style import adain

    seen = []
    adain.train(TINY_ADAIN, data_dir, tmp_path, progress=lambda f, m: seen.append(f), seed=0)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["kind"] == "adain" and (tmp_path / "samples.png").is_file() and seen[-1] == 1.0
    content = np.zeros((30, 50, 3), np.uint8)
    result = stylize.run(
        content, content, method="adain", strength=0.7, size=40, model_dir=tmp_path
    )
    assert result.image.dtype == np.uint8 and max(result.image.shape[:2]) == 40


def test_cyclegan_trains_exports_and_stylizes(data_dir, tmp_path):
    from ml.style import cyclegan

    cyclegan.train(TINY_CYCLEGAN, data_dir, tmp_path, seed=0)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["kind"] == "cyclegan" and meta["name"] == "sketch"
    assert (tmp_path / "samples" / "epoch_001.png").is_file()
    content = np.full((20, 36, 3), 128, np.uint8)
    full = stylize.run(
        content, None, method="sketch", strength=1.0, size=36, model_dir=tmp_path
    ).image
    none = stylize.run(
        content, None, method="sketch", strength=0.0, size=36, model_dir=tmp_path
    ).image
    assert np.abs(none.astype(int) - 128).max() <= 1 and full.shape == none.shape


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strength": 1.5}, "strength"),
        ({"size": 8}, "size"),
        ({"style": None}, "style image"),
        ({"method": "adain"}, "model folder"),
    ],
)
def test_run_rejects_bad_arguments(kwargs, match):
    args = {
        "content": np.zeros((8, 8, 3), np.uint8),
        "style": np.zeros((8, 8, 3), np.uint8),
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        stylize.run(**args)


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    proc = subprocess.run(
        [sys.executable, "-m", "ml.stylize", str(bad), str(bad), "-o", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
