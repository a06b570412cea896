from __future__ import annotations

import pytest
from toy import ToyRunConfig

from hrm.config import ConfigError, load_config


def test_typo_wrong_type_and_out_of_range_reported_at_once_with_paths(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  max_step: 10\n  global_batch_size: lots\noptim:\n  lr: -1\nreliability:\n  rollback_after: 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(ToyRunConfig, path)
    text = str(info.value)
    assert "4 problem(s)" in text
    assert "train.max_step: unknown key; did you mean 'max_steps'?" in text
    assert "train.global_batch_size: Input should be a valid integer" in text and "'lots'" in text
    assert "optim.lr: Input should be greater than 0" in text
    assert "reliability.rollback_after: Input should be greater than or equal to 1" in text


def test_every_default_is_valid_and_keep_checkpoints_below_two_is_refused():
    cfg = ToyRunConfig()
    assert cfg.train.keep_checkpoints >= 2 and cfg.gate is None
    with pytest.raises(ValueError, match="keep_checkpoints"):
        ToyRunConfig.model_validate({"train": {"max_steps": 5, "keep_checkpoints": 1}})


def test_a_run_must_have_an_end_and_micro_batch_fits_global():
    with pytest.raises(ValueError, match="max_steps, max_minutes, epochs"):
        ToyRunConfig.model_validate({"train": {"max_steps": 0}})
    with pytest.raises(ValueError, match="exceeds global_batch_size"):
        ToyRunConfig.model_validate({"train": {"max_steps": 1, "global_batch_size": 4, "micro_batch_size": 8}})


def test_betas_and_gate_ranges():
    with pytest.raises(ValueError, match="betas"):
        ToyRunConfig.model_validate({"optim": {"betas": [0.9, 1.5]}})
    with pytest.raises(ValueError, match="gate.min"):
        ToyRunConfig.model_validate({"gate": {"step": 10, "min": 2}})
    assert ToyRunConfig.model_validate({"gate": {"step": 10, "min": 0.5}}).gate.metric == "exact_accuracy"
