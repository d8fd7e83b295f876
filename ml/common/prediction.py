"""What every classifier answers for one image (a leaf module: the trainable and the face models share it)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One classification: the top label, its probability, all probabilities and the face box used."""

    label: str
    probability: float
    probabilities: dict[str, float]
    face_box: tuple[int, int, int, int] | None
    face_found: bool | None = None  # face models: False when the whole picture stood in for a face
    age_years: float | None = None  # face models using the age network: its expected age
