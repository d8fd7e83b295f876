"""CelebVision's machine-learning code: Keras models, training, evaluation and style transfer.

This package takes local paths and NumPy arrays. It never imports Flask, the database or S3:
the web side downloads inputs, calls into `ml`, and uploads what comes back.
Importing `ml` itself is cheap; TensorFlow is imported by the submodules that need it.

Imports sit at the top of each module. A function imports something itself only when the
import must wait, and its line says why with a `# lazy: <why>` comment. Two reasons qualify:
TensorFlow, Keras or ONNX in a module the web app (or `flask data`) imports without running a
model (`ml.style.methods`, `ml.style.fast_style`, `ml.kinds`, `ml.common`'s light modules,
`ml.classify.data` and `ml.classify.evaluate`), so that a web worker that serves no model never
loads TensorFlow; and an optional or slow backend only one function needs (matplotlib for
plots). No function is longer than 60 lines. `tests/architecture/test_ml_code_shape.py` checks all three.
"""
