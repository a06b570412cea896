"""Can the models learn at all? A tiny model must fit a handful of Sudoku puzzles exactly, on the
CPU, within the test budget, trained through the same protocol the trainer uses."""

from __future__ import annotations

import pytest
import torch

from hrm.models import HRMActConfig, RoutedConfig, TaskShape, build_model

from .helpers import train_until_exact
from .sudoku import PUZZLES, SEQ_LEN, VOCAB, sudoku_batch

SUDOKU = TaskShape(VOCAB, SEQ_LEN, 1)


def test_fixture_puzzles_are_valid_sudokus():
    for puzzle, solution in PUZZLES:
        grid = [[int(solution[9 * r + c]) for c in range(9)] for r in range(9)]
        digits = set(range(1, 10))
        assert all(set(row) == digits for row in grid)
        assert all({grid[r][c] for r in range(9)} == digits for c in range(9))
        assert all(
            {grid[r][c] for r in range(br, br + 3) for c in range(bc, bc + 3)} == digits
            for br in (0, 3, 6)
            for bc in (0, 3, 6)
        )
        assert all(p in (".", s) for p, s in zip(puzzle, solution, strict=True))
    batch = sudoku_batch()
    assert batch["inputs"].min() == 1 and batch["labels"].min() == 2 and batch["labels"].max() == 10


def tiny_hrm(**overrides) -> HRMActConfig:
    base = dict(
        hidden_size=64, num_heads=4, expansion=2, H_layers=1, L_layers=1, H_cycles=2, L_cycles=2,
        puzzle_emb_ndim=0, halt_max_steps=2, loss="softmax",
    )
    return HRMActConfig(**{**base, **overrides})


def test_hrm_act_fits_a_handful_of_sudokus():
    # Grid positions and the loss on blanks: the measured plateau-breakers; ACT halts by Q at eval.
    torch.manual_seed(0)
    model = build_model(tiny_hrm(pos_encodings="grid", loss_on="changed"), SUDOKU)
    step, exact = train_until_exact(model, sudoku_batch(), max_steps=400, eval_act=True)
    assert step is not None, f"exact accuracy {exact} after 400 steps"


def test_routed_hrm_act_controller_fits_a_handful_of_sudokus():
    torch.manual_seed(0)
    cfg = RoutedConfig(
        controller="hrm_act", hidden_size=64, num_heads=4, expansion=2, controller_size=64, inner_steps=8,
        pos_encodings="grid", loss_on="changed",
    )
    model = build_model(cfg, SUDOKU)
    step, exact = train_until_exact(model, sudoku_batch(), max_steps=300)
    assert step is not None, f"exact accuracy {exact} after 300 steps"


@pytest.mark.slow
def test_hrm_act_fits_with_the_paper_choices():
    # RoPE, loss on every cell, stablemax: slower to fit, but it must.
    torch.manual_seed(0)
    model = build_model(tiny_hrm(loss="stablemax", halt_max_steps=2), SUDOKU)
    step, exact = train_until_exact(model, sudoku_batch(), max_steps=1500, eval_act=True)
    assert step is not None, f"exact accuracy {exact} after 1500 steps"


@pytest.mark.slow
def test_routed_controllers_fit_with_cached_heads():
    for controller in ("classical", "hrm"):
        torch.manual_seed(0)
        cfg = RoutedConfig(
            controller=controller, hidden_size=64, num_heads=4, expansion=2, controller_size=64, inner_steps=8,
            pos_encodings="grid", loss_on="changed", cache_heads=True,
        )
        step, exact = train_until_exact(build_model(cfg, SUDOKU), sudoku_batch(), max_steps=600)
        assert step is not None, f"{controller}: exact accuracy {exact} after 600 steps"
