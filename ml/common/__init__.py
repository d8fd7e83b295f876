"""What every part of ml/ shares: errors, the model-folder contract, images, backbones,
ONNX weights, statistics, calibration and the model cache."""
