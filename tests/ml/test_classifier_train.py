"""Training CLI and function: both model families, resume after a kill, cancel, evaluation, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml import evaluate, train
from ml.common import modeldir
from tests.ml.conftest import CONFIGS

REPO = Path(__file__).resolve().parents[2]
TINY_VGG = {
    "epochs": 2,
    "frozen_epochs": 1,
    "image_size": [32, 32],
    "output_layer": "block3_pool",
    "fine_tune_layers": 1,
    "max_per_class": None,
    "batch_size": 32,
    "face_crop": False,
}


@pytest.mark.slow
def test_cli_trains_default_config_into_a_self_describing_folder(trained_default):
    names = {p.name for p in trained_default.iterdir()}
    assert {
        "model.keras",
        "meta.json",
        "config.yaml",
        "metrics.json",
        "training_curve.png",
    } <= names
    assert "checkpoints" not in names
    meta = modeldir.read_meta(trained_default)
    assert meta["kind"] == "classifier" and meta["labels"] == ["not_male", "male"]
    assert (
        meta["preprocessing"]["image_size"] == [64, 64]
        and meta["preprocessing"]["face_crop"] is True
    )
    assert meta["epochs"] == 3 and meta["data"]["skipped"] == 2
    assert meta["metrics"]["summary"]["split"] == "test"


@pytest.mark.slow
def test_evaluate_cli_beats_chance_on_held_out_images_and_writes_report(
    trained_default, celeba_dir, tmp_path, capsys
):
    assert (
        evaluate.main([str(trained_default), "--data", str(celeba_dir), "--out", str(tmp_path)])
        == 0
    )
    assert "accuracy" in capsys.readouterr().out
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["n"] == 80 and report["accuracy"] >= 0.75 and report["roc_auc"] >= 0.8
    assert (tmp_path / "roc.png").stat().st_size > 1000
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000


@pytest.mark.slow
def test_vgg16_transfer_trains_frozen_then_fine_tunes(celeba_dir, tmp_path):
    reports = []
    summary = train.train(
        CONFIGS / "vgg16_transfer.yaml",
        celeba_dir,
        tmp_path,
        progress=lambda f, m: reports.append(f),
        **TINY_VGG,
    )
    assert summary["epochs"] == 2 and summary["labels"] == ["female", "male"]
    assert reports[-1] == 1.0 and reports == sorted(reports)
    metrics = evaluate.evaluate(tmp_path, celeba_dir)
    assert metrics["accuracy"] >= 0.75


def test_should_stop_cancels_and_leaves_no_model(celeba_dir, tmp_path):
    with pytest.raises(train.Cancelled):
        train.train(
            CONFIGS / "default.yaml",
            celeba_dir,
            tmp_path,
            should_stop=lambda: True,
            attribute="Male",
            image_size=[32, 32],
            face_crop=False,
        )
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.slow
def test_killed_cli_run_resumes_from_its_checkpoint(celeba_dir, tmp_path):
    out = tmp_path / "model"
    cmd = [
        sys.executable,
        "-m",
        "ml.train",
        str(CONFIGS / "small_cnn.yaml"),
        "--data",
        str(celeba_dir),
        "--out",
        str(out),
        "--epochs",
        "4",
        "--set",
        "data.attribute=Male",
        "--set",
        "preprocessing.image_size=[32,32]",
        "--set",  # resuming does not depend on it; each run's face crops cost ~10 s on 2 cores
        "preprocessing.face_crop=false",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    marker = out / "checkpoints" / "train" / "training_metadata.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, "the first run ended before it could be killed"
    done_before = json.loads(marker.read_text())["epoch"]
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "epoch 1/4:" not in second.stderr and "epoch 4/4:" in second.stderr and done_before >= 1
    assert modeldir.read_meta(out)["epochs"] == 4


@pytest.mark.parametrize("case", ["missing_config", "bad_yaml", "empty_data", "missing_data"])
def test_cli_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    config, data_dir = CONFIGS / "default.yaml", tmp_path / "data"
    data_dir.mkdir()
    if case == "missing_config":
        config = tmp_path / "nope.yaml"
    elif case == "bad_yaml":
        config = tmp_path / "bad.yaml"
        config.write_text("model: [unclosed")
    elif case == "missing_data":
        data_dir = tmp_path / "absent"
    assert train.main([str(config), "--data", str(data_dir), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


def test_evaluate_cli_rejects_a_folder_without_a_model(tmp_path, capsys):
    assert evaluate.main([str(tmp_path), "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
