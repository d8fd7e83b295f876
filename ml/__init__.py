"""CelebVision's machine-learning code: Keras models, training, evaluation and style transfer.

This package takes local paths and NumPy arrays. It never imports Flask, the database or S3:
the web side downloads inputs, calls into `ml`, and uploads what comes back.
Importing `ml` itself is cheap; TensorFlow is imported by the submodules that need it.
"""
