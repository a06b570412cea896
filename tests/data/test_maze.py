from __future__ import annotations

import numpy as np
import pytest

from hrm.data import maze
from hrm.data.format import load_split, read_task
from hrm.data.maze_build import MazeOptions, build_maze
from hrm.data.progress import QuietReporter
from hrm.data.tasks import get_task
from hrm.errors import UserError

PUZZLE = ["S    ", " ##  ", "     ", "  #  ", "    G"]


def grid(lines):
    return maze.from_text("\n".join(lines))[None]


def check(answer):
    return bool(maze.verify(grid(PUZZLE), grid(answer))[0])


def test_any_shortest_path_is_accepted():
    across_then_down = ["Soooo", " ## o", "    o", "  # o", "    G"]
    down_then_across = ["S    ", "o##  ", "o    ", "o #  ", "ooooG"]
    zigzag = ["S    ", "o##  ", "ooooo", "  # o", "    G"]
    around = ["Sooo ", " ##o ", "   oo", "  # o", "    G"]
    for answer in (across_then_down, down_then_across, zigzag, around):
        assert check(answer), answer


@pytest.mark.parametrize(
    "answer",
    [
        ["S    ", "o##  ", "ooo  ", "o #o ", "   oG"],  # right count, but a diagonal step
        ["Soooo", " ## o", "   oo", "  #o ", "   oG"],  # connected, but a detour: longer than shortest
        ["Soooo", " ## o", "    o", "  # o", "   oG"],  # an extra o beside the path
        ["Soooo", " ## o", "    o", "  #  ", "    G"],  # path stops short
        ["S    ", "ooo  ", "o    ", "o #  ", "ooooG"],  # paints over a wall
        [" oooo", "S## o", "    o", "  # o", "    G"],  # start moved
        ["S    ", " ##  ", "     ", "  #  ", "    G"],  # no path at all
    ],
)
def test_wrong_paths_are_rejected(answer):
    assert not check(answer)


def test_unreachable_goal_and_malformed_inputs():
    walled = ["S #  ", "  #  ", "  #  ", "  #  ", "  # G"]
    assert not maze.verify(grid(walled), grid(walled))[0]
    two_starts = ["S   S", " ##  ", "     ", "  #  ", "    G"]
    assert not maze.verify(grid(two_starts), grid(two_starts))[0]
    with pytest.raises(ValueError, match="not a square"):
        maze.verify(np.ones((1, 24)), np.ones((1, 24)))
    with pytest.raises(ValueError):
        maze.verify(np.ones((1, 25)), np.ones((2, 25)))


def test_bfs_steps_counts_moves():
    free = np.ones((2, 4, 4), dtype=bool)
    start = np.zeros_like(free)
    goal = np.zeros_like(free)
    start[:, 0, 0] = True
    goal[0, 3, 3] = True
    goal[1, 0, 0] = True
    assert maze.bfs_steps(free, start, goal).tolist() == [6, 0]


def test_text_round_trip():
    tokens = grid(PUZZLE)[0]
    assert maze.to_text(tokens) == "\n".join(PUZZLE)
    assert tokens.max() <= maze.GOAL and tokens.min() >= maze.WALL


def test_generated_mazes_meet_the_path_filter():
    made = [maze.generate_maze(f"g:{i}", min_path=111) for i in range(12)]
    kept = [m for m in made if m is not None]
    assert len(kept) >= 3
    inputs, labels = np.stack([m[0] for m in kept]), np.stack([m[1] for m in kept])
    assert inputs.shape[1] == 900 and maze.verify(inputs, labels).all()
    assert all(m[2] >= 111 for m in kept)
    steps = maze.bfs_steps(inputs.reshape(-1, 30, 30) != maze.WALL, inputs.reshape(-1, 30, 30) == maze.START,
                           inputs.reshape(-1, 30, 30) == maze.GOAL)
    assert steps.tolist() == [m[2] for m in kept]
    assert (labels == maze.PATH).sum(axis=1).tolist() == [m[2] - 1 for m in kept]
    assert maze.generate_maze("g:0", min_path=maze.SEQ_LEN) is None  # nothing that far


def test_symmetries_invert_and_keep_validity():
    made = [m for m in (maze.generate_maze(f"s:{i}", min_path=60) for i in range(6)) if m]
    inputs, labels = np.stack([m[0] for m in made]), np.stack([m[1] for m in made])
    task = get_task("maze")
    assert task.grid_shape == (30, 30) and task.name == "maze"
    sym = task.sample_symmetries(np.random.default_rng(0), len(inputs))
    aug_in, aug_lab = sym.apply(inputs), sym.apply(labels)
    assert task.verify(aug_in, aug_lab).all()
    assert (sym.invert(aug_in) == inputs).all() and (sym.invert(aug_lab) == labels).all()
    keys = maze.canonical_keys(inputs)
    assert maze.canonical_keys(aug_in) == keys and len(set(keys)) == len(keys)


def test_built_dataset(maze_dataset, examples):
    root, summary = maze_dataset
    assert read_task(root) == "maze"
    train = load_split(root, "train")
    assert train.metadata.seq_len == 900 and train.metadata.vocab_size == 6
    assert train.num_examples == 6 * 8 and (np.diff(train.sets["all"].group_indices) == 8).all()
    inputs, labels = examples(root, "train")
    assert maze.verify(inputs, labels).all()
    test_in, test_lab = examples(root, "test")
    assert len(test_in) == 4 and maze.verify(test_in, test_lab).all()
    assert not set(maze.canonical_keys(inputs)) & set(maze.canonical_keys(test_in))
    assert summary["stats"]["path_length"]["train"]["min"] >= 40


def test_maze_build_is_deterministic_and_checks_options(tmp_path, maze_dataset, examples):
    root, _ = maze_dataset
    again = tmp_path / "again"
    build_maze(MazeOptions(out=again, num_train=6, num_test=4, min_path=40, aug=True, seed=3), QuietReporter())
    assert (examples(root, "test")[1] == examples(again, "test")[1]).all()
    with pytest.raises(UserError, match="--min-path"):
        build_maze(MazeOptions(out=tmp_path / "x", min_path=0), QuietReporter())
    with pytest.raises(UserError, match="--openings"):
        build_maze(MazeOptions(out=tmp_path / "x", openings=2.0), QuietReporter())
    with pytest.raises(UserError, match="--num-train"):
        build_maze(MazeOptions(out=tmp_path / "x", num_train=0), QuietReporter())
    with pytest.raises(UserError, match="reach --min-path 400"):
        build_maze(MazeOptions(out=tmp_path / "x", num_train=1, num_test=1, min_path=400, openings=1.0), QuietReporter())
    assert not (tmp_path / "x").exists()
