"""Train any model kind from a YAML config.

    python -m ml.train CONFIG.yaml --data DIR --out DIR [--epochs N] [--seed S] [--set key=value]

The config's ``kind`` (classifier when absent; face, adain, cyclegan) picks the trainer through
``ml.kinds``. A killed run resumes where it stopped: checkpoints live in ``OUT/checkpoints``
until the run ends.

The entry point over the per-package trainers of the same name and role, ``ml/classify/train.py``
and ``ml/faces/train.py``, which ``ml.kinds`` picks between.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from tqdm import tqdm

from ml import kinds
from ml.classify import classifier, data
from ml.common import modeldir
from ml.common.stoppable import Cancelled

__all__ = ["train", "main", "Cancelled"]


def read_kind(config) -> tuple[str, dict]:
    """Return (kind, config dict) of a config given as a dict or a YAML path."""
    if isinstance(config, (str, Path)):
        config = classifier.load_config(config)
    if not isinstance(config, dict):
        raise ValueError(f"A config must be a mapping or a YAML path. Received: config={config!r}")
    return config.get("kind", "classifier"), config


def train(
    config,
    data_dir,
    out_dir,
    *,
    progress=None,
    should_stop=None,
    seed: int = 0,
    **overrides,
) -> dict:
    """Train the model a config describes on ``data_dir``, write a model folder to ``out_dir``; return its summary.

    ``overrides``: config values to replace (``epochs=3``, ``feature_cache=DIR`` for classifiers
    of ``model.type: features``); kinds whose trainer takes none get them merged into the config.
    """
    kind, config = read_kind(config)
    entry = kinds.get(kind)
    trainer = entry.train()
    if not entry.takes_overrides:
        config, overrides = ({**config, **overrides} if overrides else config), {}
    return trainer(
        config,
        data_dir,
        out_dir,
        progress=progress,
        should_stop=should_stop,
        seed=seed,
        **overrides,
    )


class ConsoleProgress:
    """A tqdm bar for the CLI that also prints every message except per-batch ones."""

    bar = None

    def __enter__(self):
        return self

    def __call__(self, fraction: float, message: str):
        if self.bar is None:  # opened on the first report, so an early error stays one line
            self.bar = tqdm(
                total=1000, bar_format="{l_bar}{bar}| {elapsed}<{remaining}", file=sys.stderr
            )
        self.bar.n = int(1000 * fraction)
        self.bar.set_description_str(message.split(":")[0][:40], refresh=True)
        if " batch " not in message:
            self.bar.write(message, file=sys.stderr)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def parse_args(argv):
    """Parse the CLI arguments."""
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML config (ml/configs/*.yaml)")
    parser.add_argument(
        "--data", required=True, help="data folder (CelebA layout or DIR/<label>/*.jpg)"
    )
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--epochs", type=int, help="override training.epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. data.attribute=Smiling (repeatable)",
    )
    return parser.parse_args(argv)


def cli_overrides(args) -> dict:
    """Return the config overrides given on the command line."""
    overrides = {"epochs": args.epochs} if args.epochs is not None else {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE. Received: {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def main(argv=None) -> int:
    """Run the training CLI; returns the exit status (2 on a user error, with a one-line message)."""
    args = parse_args(argv)
    try:
        if not Path(args.config).is_file():
            raise ValueError(f"config file not found: {args.config}")

        data.detect_layout(args.data)
        with ConsoleProgress() as console:
            summary = train(
                args.config,
                args.data,
                args.out,
                progress=console,
                seed=args.seed,
                **cli_overrides(args),
            )
    except (ValueError, OSError, modeldir.ModelDirError) as exc:
        print(
            f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            file=sys.stderr,
        )
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("stopped: rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    held_out = summary.get("metrics", {}).get("summary", {})
    print(
        json.dumps(
            {
                "model_dir": summary.get("model_dir"),
                "epochs": summary.get("epochs"),
                "skipped": summary.get("skipped"),
                **held_out,
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
