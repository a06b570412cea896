"""Sweep files: validation, expansion into cells, stable readable run ids, value round trips."""

from __future__ import annotations

import pytest

from hrm.config import ConfigError, parse_override
from hrm.sweep.spec import SweepSpec, base_config, config_id, expand, format_value, load_sweep, settings


def spec(**kw) -> SweepSpec:
    return SweepSpec.model_validate({"name": "s", "config": {"data": {"task": "sort"}}, **kw})


def test_grid_times_seeds():
    s = spec(grid={"model.controller": ["classical", "hrm"], "model.hrm_T": [2, 4]}, seeds=[0, 1])
    cells = expand(s)
    assert len(cells) == 8
    assert [c.run_id for c in cells[:3]] == ["s-controller-classical_hrm_T-2-s0", "s-controller-classical_hrm_T-2-s1",
                                             "s-controller-classical_hrm_T-4-s0"]
    assert cells[0].overrides() == ["model.controller=classical", "model.hrm_T=2"]
    assert len({c.run_id for c in cells}) == 8


def test_cells_crossed_with_grid_and_null_values():
    s = spec(cells=[{"model.arch": "hrm_act", "model.halting": "act"}, {"model.arch": "hrm_act", "model.halting": "fixed"}],
             grid={"model.routing.top_k": [None, 2]})
    found = settings(s)
    assert len(found) == 4
    assert found[0] == {"model.arch": "hrm_act", "model.halting": "act", "model.routing.top_k": None}
    cells = expand(s)
    assert cells[0].config_id == "arch-hrm_act_halting-act_top_k-none"
    assert "model.routing.top_k=null" in cells[0].overrides()


def test_no_grid_is_one_base_setting():
    cells = expand(spec(seeds=[3]))
    assert [(c.config_id, c.run_id) for c in cells] == [("base", "s-base-s3")]


@pytest.mark.parametrize("value", [None, 1e-4, 5e-05, 2, True, "hrm", [1, 2], "1e-3"])
def test_format_value_round_trips_through_overrides(value):
    _, parsed = parse_override(f"k={format_value(value)}")
    assert parsed == value


def test_colliding_last_parts_use_full_keys():
    ident = config_id({"optim.lr": 1e-4, "optim.groups.controller.lr": 5e-5},
                      {"optim.lr": "optim.lr", "optim.groups.controller.lr": "optim.groups.controller.lr"})
    assert ident == "optim.lr-0.0001_optim.groups.controller.lr-5.0e-05"


def test_long_ids_are_shortened_uniquely():
    a = expand(spec(grid={"k" * 50: ["x" * 60, "y" * 60]}))
    assert all(len(c.config_id) <= 80 for c in a)
    assert a[0].config_id != a[1].config_id


@pytest.mark.parametrize("bad, message", [
    ({"name": "a b", "config": {"x": 1}}, "name"),
    ({"name": "a"}, "base"),
    ({"name": "a", "config": {"x": 1}, "grid": {"k": []}}, "grid.k"),
    ({"name": "a", "config": {"x": 1}, "seeds": [1, 1]}, "repeat"),
    ({"name": "a", "config": {"x": 1}, "grid": {"k": [1]}, "cells": [{"k": 2}]}, "grid also varies"),
    ({"name": "a", "config": {"x": 1}, "grdi": {"k": [1]}}, "grid"),
])
def test_bad_specs_are_reported_with_their_field(tmp_path, bad, message):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError) as err:
        load_sweep(path)
    assert message in str(err.value)


def test_duplicate_setting_is_refused():
    with pytest.raises(ConfigError, match="twice"):
        expand(spec(cells=[{"a": 1}, {"a": 1}]))


def test_base_file_merged_with_inline_config(tmp_path):
    (tmp_path / "base.yaml").write_text("name: b\ntrain: {max_steps: 10, log_every: 5}\n")
    s = SweepSpec.model_validate({"name": "s", "base": "base.yaml", "config": {"train": {"max_steps": 3}}})
    merged = base_config(s, tmp_path / "sweep.yaml")
    assert merged == {"name": "b", "train": {"max_steps": 3, "log_every": 5}}


def test_shipped_sweeps_load_and_expand():
    from hrm.config import CONFIG_DIR

    files = sorted((CONFIG_DIR / "sweeps").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        s, _ = load_sweep(path)
        assert len(expand(s)) >= 2 * len(s.seeds)
