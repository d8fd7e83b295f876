"""What every classifier answers for one image (a leaf module: the trainable and the face models share it)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One classification: the top label, its probability, all probabilities and the face box used.

    Face models answer every face found: ``faces`` holds one Prediction per face, largest first
    (``faces[0]`` is this one, the main face); it is empty when no face was found
    (``face_found=False``: the label and probabilities then read the whole picture and are no
    answer about a face). ``rotation`` is the angle in degrees by which the photo must be turned
    counter-clockwise for the face to stand upright (what ``PIL.Image.rotate(rotation,
    expand=True)`` takes); ``face_box`` is always in the photo's own pixels, as (x, y, w, h).
    """

    label: str
    probability: float
    probabilities: dict[str, float]
    face_box: tuple[int, int, int, int] | None
    face_found: bool | None = None  # face models: False when the whole picture stood in for a face
    age_years: float | None = None  # face models using the age network: its expected age
    rotation: int = 0  # face models: degrees counter-clockwise that make the face upright
    faces: tuple = ()  # face models: a Prediction per face found, largest first ([0] is the main one)

    def scaled(self, factor: float) -> Prediction:
        """This answer with every face box multiplied by ``factor`` (e.g. from a reduced decode
        back to the photo's own pixels: ``factor = photo width / decoded width``)."""

        def box(b):
            return None if b is None else tuple(int(round(v * factor)) for v in b)

        faces = tuple(f.scaled(factor) for f in self.faces)
        return dataclasses.replace(self, face_box=box(self.face_box), faces=faces)
