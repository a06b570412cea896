"""Every shipped preset validates, and the CPU presets build their model for their task's shape."""

from __future__ import annotations

import pytest

from hrm.config import CONFIG_DIR
from hrm.data.format import DatasetMetadata
from hrm.train.config import load_run_config

PRESETS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
SHAPES = {"sudoku": (11, 81), "maze": (6, 900), "arc": (12, 900), "sort": (65, 12)}


def test_the_presets_the_dashboard_and_readme_name_exist():
    assert {"sudoku_demo_cpu", "sudoku_paper"} <= set(PRESETS)
    assert {"maze", "arc", "sort"} <= {load_run_config(p).data.task for p in PRESETS}


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_validates_and_names_its_dataset_builder(preset):
    cfg = load_run_config(preset)
    assert cfg.preset == preset
    assert cfg.data.build.split()[0] == cfg.data.task, "data.build must be `hrm build-data` arguments for its task"
    assert "--out" not in cfg.data.build or cfg.data.path in cfg.data.build


@pytest.mark.parametrize("preset", [p for p in PRESETS if "cpu" in p])
def test_cpu_presets_build_their_model(preset):
    from hrm.models import build_model

    cfg = load_run_config(preset)
    vocab, seq = SHAPES[cfg.data.task]
    meta = DatasetMetadata(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=vocab, seq_len=seq,
                           num_puzzle_identifiers=1, total_groups=1, mean_puzzle_examples=1.0, sets=["all"])
    model = build_model(cfg.model, meta)
    assert sum(p.numel() for p in model.parameters()) < 5_000_000  # a CPU preset stays small


def test_paper_preset_is_the_paper_recipe():
    cfg = load_run_config("sudoku_paper")
    m, o, t = cfg.model, cfg.optim, cfg.train
    assert (m.hidden_size, m.num_heads, m.H_layers, m.L_layers, m.H_cycles, m.L_cycles) == (512, 8, 4, 4, 2, 2)
    assert (m.halt_max_steps, m.halt_exploration_prob, m.puzzle_emb_ndim, m.loss, m.loss_on) == (16, 0.1, 512, "stablemax", "all")
    assert (o.name, o.lr, o.betas, o.weight_decay, o.warmup_steps) == ("adamatan2", 7e-5, (0.9, 0.95), 1.0, 2000)
    assert (o.puzzle_emb.lr, o.puzzle_emb.weight_decay, t.global_batch_size, t.epochs) == (7e-5, 1.0, 384, 20000)
