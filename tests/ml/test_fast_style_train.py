"""The pretrained fast networks through ml.stylize, their CLI, fine-tuning from rated pairs and the judge."""

import subprocess
import sys

import numpy as np
import pytest

from ml import stylize
from ml.common.stoppable import Cancelled
from ml.style.fast_style import ArbitraryStylizer
from ml.style.fast_style_train import finetune_arbitrary, judge_arbitrary

pytestmark = pytest.mark.slow  # fine-tunes the fast networks


@pytest.fixture(scope="module")
def pictures():
    """Two photos and two style pictures from scikit-image."""
    from skimage import data

    return data.astronaut(), data.chelsea(), data.coffee(), data.immunohistochemistry()


def test_run_arbitrary_and_preset(pretrained_dirs, pictures):
    photo, _, style, _ = pictures
    out = stylize.run(photo, style, "arbitrary", 1.0, 96, pretrained_dirs["arbitrary"])
    assert (
        out.image.shape == (96, 96, 3)
        and out.stats["method"] == "arbitrary"
        and out.stats["seconds"] < 60
    )
    fixed = stylize.run(
        photo[:, :300], None, "preset", 1.0, 96, pretrained_dirs["preset"], preset=5
    )
    assert fixed.image.shape == (96, 56, 3)
    assert (
        np.abs(fixed.image.astype(int) - out.image[:, :56].astype(int)).mean() > 5
    )  # different styles


@pytest.mark.parametrize(
    "method, kwargs, match",
    [
        ("arbitrary", {"style": None}, "style image"),
        ("preset", {"preset": None}, "preset id"),
        ("preset", {"preset": 99}, "preset"),
        ("arbitrary", {"kind": "preset"}, "'arbitrary' model folder"),
    ],
)
def test_run_rejects_bad_arguments(pretrained_dirs, pictures, method, kwargs, match):
    photo, _, style, _ = pictures
    args = {"style": style, "preset": 1, **kwargs}
    folder = pretrained_dirs[args.pop("kind", method)]
    with pytest.raises(ValueError, match=match):
        stylize.run(photo, args["style"], method, 1.0, 64, folder, preset=args["preset"])


def test_cli_presets_and_bad_preset(pretrained_dirs, tmp_path, pictures):
    from PIL import Image

    Image.fromarray(pictures[0]).save(tmp_path / "photo.png")
    cmd = [
        sys.executable,
        "-m",
        "ml.stylize",
        str(tmp_path / "photo.png"),
        "-o",
        str(tmp_path / "out.png"),
        "--method",
        "preset",
        "--size",
        "64",
        "--model-dir",
        str(pretrained_dirs["preset"]),
    ]
    ok = subprocess.run(cmd + ["--preset", "4"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert Image.open(tmp_path / "out.png").size == (64, 64)
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "preset id" in bad.stderr and "Traceback" not in bad.stderr


def test_finetune_writes_a_loadable_folder_and_judge_scores_it(pretrained_dirs, pictures, tmp_path):
    from ml.common.modeldir import read_meta

    photo, cat, coffee, ihc = pictures
    seen = []
    stats = finetune_arbitrary(
        pretrained_dirs["arbitrary"],
        [(photo, coffee, 1.0), (cat, ihc, 3.0)],
        tmp_path / "ft",
        steps=2,
        size=48,
        batch_size=1,
        progress=lambda f, m: seen.append(f),
    )
    assert seen[-1] == 1.0 and stats["steps"] == 2
    assert all(np.isfinite(v) and v > 0 for v in stats["final_losses"].values())
    meta = read_meta(tmp_path / "ft")
    assert (
        meta["kind"] == "arbitrary" and meta["steps"] == 2 and meta["base"]["name"] == "arbitrary"
    )
    tuned = ArbitraryStylizer.load(tmp_path / "ft").stylize(photo, coffee, size=64)
    assert tuned.shape == (64, 64, 3)
    pairs = [(photo, ihc)]
    scores = {
        name: judge_arbitrary(folder, pairs, size=96)
        for name, folder in (("base", pretrained_dirs["arbitrary"]), ("tuned", tmp_path / "ft"))
    }
    for s in scores.values():
        assert (
            s["n"] == 1 and 0 < s["style_ratio"] < 1 and 0 < s["content"] < 2
        )  # more styled than the photo
    # two small steps barely move the network
    assert abs(scores["tuned"]["style_ratio"] - scores["base"]["style_ratio"]) < 0.2


def test_finetune_stops_and_rejects_bad_pairs(pretrained_dirs, pictures, tmp_path):
    photo, _, coffee, _ = pictures
    with pytest.raises(Cancelled):
        finetune_arbitrary(
            pretrained_dirs["arbitrary"],
            [(photo, coffee, 1.0)],
            tmp_path / "x",
            steps=3,
            size=32,
            should_stop=lambda: True,
        )
    assert not (tmp_path / "x" / "meta.json").exists()
    with pytest.raises(ValueError, match="weights must be positive"):
        finetune_arbitrary(
            pretrained_dirs["arbitrary"], [(photo, coffee, 0.0)], tmp_path / "y", steps=1
        )
    with pytest.raises(ValueError, match="at least one"):
        judge_arbitrary(pretrained_dirs["arbitrary"], [])
