"""The baseline presets load, and the parameter-matched GPT-2 matches the CPU demo HRM."""

from __future__ import annotations

import pytest

from hrm.models import build_model, count_parameters
from hrm.models.base import TaskShape
from hrm.train.config import load_run_config

SUDOKU = TaskShape(11, 81, 1)


@pytest.mark.parametrize("preset", ["sudoku_gpt2_matched", "sudoku_gpt2_124m", "sudoku_transformer"])
def test_baseline_presets_load(preset):
    cfg = load_run_config(preset)
    assert cfg.model.arch in ("gpt2", "transformer") and cfg.data.path == "data/sudoku-demo"


def test_gpt2_124m_preset_is_gpt2_small():
    cfg = load_run_config("sudoku_gpt2_124m").model
    assert (cfg.n_layer, cfg.n_head, cfg.d_model, cfg.d_mlp) == (12, 12, 768, 3072)


def test_matched_baselines_train_like_the_demo_and_have_its_size():
    demo = load_run_config("sudoku_demo_cpu")
    hrm_params = count_parameters(build_model(demo.model, SUDOKU))
    for preset in ("sudoku_gpt2_matched", "sudoku_transformer"):
        cfg = load_run_config(preset)
        params = count_parameters(build_model(cfg.model, SUDOKU))
        assert abs(params - hrm_params) / hrm_params < 0.10, (preset, params, hrm_params)
        assert cfg.data.model_dump() == demo.data.model_dump()
        assert cfg.model.loss_on == demo.model.loss_on
        assert getattr(cfg.model, "norm", "pre") == demo.model.norm == "pre"  # GPT-2 blocks are pre-LN
        assert cfg.train.global_batch_size == demo.train.global_batch_size
        assert cfg.optim.model_dump() == demo.optim.model_dump()
