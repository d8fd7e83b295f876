"""Fast Gatys style transfer and the judge, on tiny images."""

import numpy as np
import pytest

from ml.common import images
from ml.common.stoppable import Cancelled
from ml.style import judge, nst

pytestmark = pytest.mark.slow  # optimises pictures with TensorFlow, seconds each

SIZE = 48


@pytest.fixture(autouse=True, scope="module")
def at_their_own_size():
    """Tiny pictures are optimised at their own size here (the product paints at MIN_SIDE)."""
    saved, nst.MIN_SIDE = nst.MIN_SIDE, 0
    yield
    nst.MIN_SIDE = saved


@pytest.fixture(scope="module")
def pair():
    """A photo and a painting-like style image from scikit-image's bundled data."""
    from skimage import data

    return data.astronaut(), data.rocket()


@pytest.fixture(scope="module")
def results(pair, pretrained_dirs):
    """Stylized images at strength 0, 0.5 (the default) and 1, started from the arbitrary network."""
    content, style = pair
    return {
        s: nst.stylize(
            content,
            style,
            strength=s,
            size=SIZE,
            init="arbitrary",
            init_model_dir=pretrained_dirs["arbitrary"],
            pyramid=((1.0, 20),),
        )
        for s in (0.0, 0.5, 1.0)
    }


def test_stylize_moves_toward_the_style(pair, results):
    content, style = pair
    image, stats = results[0.5]
    assert image.dtype == np.uint8 and max(image.shape[:2]) == SIZE and image.shape[2] == 3
    photo = images.to_uint8(images.resize_long_side(content, SIZE))
    assert judge.style_distance(image, style) < 0.5 * judge.style_distance(photo, style)
    assert {"steps", "seconds", "style_loss", "content_loss", "tv_loss", "init"} <= set(stats)
    assert stats["init"].startswith("arbitrary")


def test_strength_zero_gives_back_the_photo(pair, results):
    photo = images.to_uint8(images.resize_long_side(pair[0], SIZE))
    image, stats = results[0.0]
    assert np.abs(image.astype(int) - photo).mean() < 3 and stats["init"] == "content"


def test_higher_strength_gives_lower_style_distance(pair, results):
    content, style = pair
    dists = [judge.style_distance(results[s][0], style) for s in (0.0, 0.5, 1.0)]
    assert dists[0] > dists[1] > dists[2]
    contents = [judge.content_distance(results[s][0], content) for s in (0.0, 1.0)]
    assert contents[0] < contents[1]


def test_arbitrary_start_needs_fewer_evaluations_for_the_same_style(pair, pretrained_dirs):
    """Within the same ten evaluations the arbitrary network's start gets nearer the style than
    the photo (at 96 px: 1.10 against 1.29; by twenty both are at about 1.09). Not at 48 px,
    where the picture is hardly more than its reflected border."""
    content, style = pair
    few = {"strength": 0.5, "size": 96, "pyramid": ((1.0, 10),), "max_evals": 10}
    start = {"init": "arbitrary", "init_model_dir": pretrained_dirs["arbitrary"]}
    from_network, _ = nst.stylize(content, style, **few, **start)
    from_photo, _ = nst.stylize(content, style, **few, init="content")
    assert judge.style_distance(from_network, style) < judge.style_distance(from_photo, style)


def test_missing_arbitrary_model_falls_back_to_the_photo_with_a_note(pair, tmp_path):
    start = {"size": 32, "pyramid": ((1.0, 2),), "init": "arbitrary"}
    image, stats = nst.stylize(*pair, **start, init_model_dir=None)
    assert stats["init"].startswith("content") and "not available" in stats["init"]
    _, stats = nst.stylize(*pair, **start, init_model_dir=tmp_path)
    assert stats["init"].startswith("content") and "could not be used" in stats["init"]
    with pytest.raises(ValueError, match="init"):
        nst.stylize(*pair, size=32, init="noise")


def test_run_passes_the_arbitrary_folder_to_nst(pair, pretrained_dirs):
    from ml import stylize

    result = stylize.run(
        *pair, "nst", 1.0, 32, init="arbitrary", init_model_dir=pretrained_dirs["arbitrary"]
    )
    assert result.stats["method"] == "nst" and result.stats["init"] == "arbitrary x1"
    assert stylize.run(*pair, "nst", 1.0, 32).stats["init"] == "content"  # the default start


def test_small_results_are_painted_larger_and_scaled_down(pair, monkeypatch):
    """Gram textures are as big in pixels at any size: below MIN_SIDE nst paints at MIN_SIDE."""
    monkeypatch.setattr(nst, "MIN_SIDE", 40)
    image, stats = nst.stylize(*pair, strength=0.5, size=32, pyramid=((1.0, 3),))
    assert max(image.shape[:2]) == 32 and stats["painted_at"] == 40


def test_an_evaluation_cap_bounds_what_a_picture_costs(pair):
    """NST_MAX_EVALS: an operator caps the evaluations one picture may spend, pyramid included."""
    _, capped = nst.stylize(*pair, strength=1.0, size=SIZE, max_evals=3)
    _, full = nst.stylize(*pair, strength=1.0, size=SIZE, pyramid=((0.5, 10), (1.0, 10)))
    assert capped["steps"] <= 3 + nst.PATIENCE < full["steps"], (capped, full)
    _, two_levels = nst.stylize(*pair, size=SIZE, pyramid=((0.5, 10), (1.0, 10)), max_evals=4)
    assert two_levels["steps"] <= 4 + 2 * nst.PATIENCE, two_levels


def test_no_seam_along_the_reflected_border():
    """The picture is seen through a 16 px reflected border; the border's pixels once counted twice
    in the Gram matrices, and the result had a line 16 px above its bottom edge (1.7x the median
    step between neighbouring rows, astronaut in chelsea's style at 128 px). No edge or line
    16 px in from an edge steps more than any row or column does typically."""
    from skimage import data

    image, _ = nst.stylize(
        data.astronaut(), data.chelsea(), strength=1.0, size=128, min_side=128, max_evals=30
    )
    grey = image.astype(float).mean(2)
    rows, cols = np.abs(np.diff(grey, axis=0)).mean(1), np.abs(np.diff(grey, axis=1)).mean(0)
    pad, typical = nst.BORDER_PAD, np.median(np.r_[rows, cols])
    steps = np.array([rows[pad - 1], rows[-pad], cols[pad - 1], cols[-pad]]) / typical
    assert np.all(steps < 1.4), steps
    edges = [grey[:2].mean(), grey[-2:].mean(), grey[:, :2].mean(), grey[:, -2:].mean()]
    inside = [grey[2:6].mean(), grey[-6:-2].mean(), grey[:, 2:6].mean(), grey[:, -6:-2].mean()]
    assert np.all(np.array(edges) > np.array(inside) - 12), (edges, inside)  # no dark edge


def test_progress_fractions_increase(pair):
    seen = []
    nst.stylize(*pair, size=64, progress=lambda f, m: seen.append(f), pyramid=((0.5, 5), (1.0, 5)))
    assert seen and seen == sorted(seen) and seen[-1] == 1.0


def test_should_stop_cancels(pair):
    calls = []
    with pytest.raises(Cancelled):
        nst.stylize(*pair, size=32, should_stop=lambda: calls.append(1) or len(calls) > 3)


def test_a_cancel_does_not_wait_for_a_slow_evaluation(pair, monkeypatch):
    """One evaluation at 1024 px is 5-15 s on a busy CPU, and a running nst stopped
    only after it (39 s). Each evaluation here takes 3 s; the cancel must not wait for one."""
    import time

    from ml.common import stoppable

    extractor, fn = nst._fast_objective("hed")
    evaluations = []

    def slow(*args):
        time.sleep(3.0)
        evaluations.append(1)
        return fn(*args)

    monkeypatch.setattr(nst, "_fast_objective", lambda weights: (extractor, slow))
    start = time.monotonic()
    with pytest.raises(Cancelled):
        nst.stylize(*pair, size=SIZE, should_stop=lambda: time.monotonic() - start > 1.0)
    assert time.monotonic() - start < 2.5  # not the 3 s evaluation under way
    stoppable.settle()  # the abandoned evaluation ends, and no other one starts after it
    assert len(evaluations) <= 1


def test_strength_maps_log_linearly_and_rejects_out_of_range():
    assert nst.strength_to_style_weight(0.0) == 0.0
    weights = [nst.strength_to_style_weight(s) for s in (0.25, 0.5, 0.75, 1.0)]
    ratios = np.diff(np.log10(weights))
    np.testing.assert_allclose(ratios, ratios[0])
    assert ratios[0] > 0
    with pytest.raises(ValueError, match="strength"):
        nst.strength_to_style_weight(1.5)


def test_tutorial_runs_and_reports_stats(pair):
    image, stats = nst.tutorial_nst(*pair, size=32, steps=2)
    assert image.shape[2] == 3 and stats["steps"] == 2


def test_strength_asks_for_an_outcome_and_weight_rises_until_it_is_reached(pair, pretrained_dirs):
    targets = [nst.own_style_target(s) for s in (0.0, 0.25, 0.5, 1.0)]
    assert targets[0] == 1.0 and targets == sorted(targets, reverse=True)
    # A style weight far too low for strength 1's target: the refinement goes on with more weight.
    image, stats = nst.stylize(
        *pair,
        strength=1.0,
        size=SIZE,
        init_model_dir=pretrained_dirs["arbitrary"],
        style_weight=1e-3,
        pyramid=((1.0, 5),),
        max_evals=35,
    )
    assert stats["rounds"] > 1 and stats["style_weight"] > 1e-3
    assert stats["own_style_ratio"] <= stats["own_style_target"] or stats["steps"] >= 35
    assert stats["steps"] <= 35 + nst.PATIENCE


def test_judge_is_zero_for_identical_pictures_and_grows_with_difference(pair):
    content, style = pair
    photo = images.to_uint8(images.resize_long_side(content, SIZE))
    assert judge.content_distance(photo, content) < 1e-3
    assert judge.style_distance(images.to_uint8(images.resize_long_side(style, SIZE)), style) < 1e-3
    assert judge.style_distance(photo, style) > 0.1
    assert judge.content_distance(np.zeros_like(photo) + 128, content) > 0.5


def test_the_eyes_check_sees_white_blotches_and_glowing_eyes():
    """Classic at 256 px gave a white blotch and glowing eyes; the subject check (face
    found, content distance) passed them. The eyes check, which no method optimises, does not."""
    from PIL import Image
    from skimage import data

    from ml.common.lbp_faces import detect_face

    content = data.astronaut()
    photo = np.asarray(Image.fromarray(content).resize((256, 256), Image.LANCZOS))
    assert judge.eyes_check(photo, content) == {"glare": 0.0, "glints": 0.0, "kept": True}
    x, y, w, h = detect_face(photo)
    rows, cols = np.mgrid[:256, :256]
    for colour, measure in (((255, 255, 255), "glare"), ((40, 230, 60), "glints")):
        painted = photo.copy()
        for eye in (x + w / 3, x + 2 * w / 3):
            painted[(rows - (y + 0.4 * h)) ** 2 + (cols - eye) ** 2 < 16] = colour
        check = judge.eyes_check(painted, content)
        assert not check["kept"] and check[measure] > 2 * judge.EYES_BOUND, (colour, check)
    assert (
        judge.eyes_check(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)) is None
    )
