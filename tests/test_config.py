from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field

from hrm.config import (
    ConfigError,
    StrictModel,
    apply_overrides,
    dump_yaml,
    load_config,
    parse_override,
    resolve_config_path,
)


class Optim(StrictModel):
    lr: float = Field(1e-3, gt=0)
    betas: tuple[float, float] = (0.9, 0.95)


class Train(StrictModel):
    batch_size: int = Field(32, ge=1)
    device: str = "auto"
    optim: Optim = Optim()
    schedule: Literal["cosine", "constant"] = "cosine"


class Root(StrictModel):
    name: str = "run"
    train: Train = Train()
    gate: Optim | None = None


def test_parse_override_types_values_as_yaml():
    assert parse_override("train.batch_size=64") == (["train", "batch_size"], 64)
    assert parse_override("train.optim.lr=1e-4") == (["train", "optim", "lr"], 1e-4)
    assert parse_override("flag=true") == (["flag"], True)
    assert parse_override("xs=[1, 2]") == (["xs"], [1, 2])
    assert parse_override("name=") == (["name"], "")


def test_parse_override_rejects_missing_equals():
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("train.batch_size")


def test_apply_overrides_creates_sections_and_refuses_value_as_section():
    data = apply_overrides({}, ["train.optim.lr=0.5", "name=x"])
    assert data == {"train": {"optim": {"lr": 0.5}}, "name": "x"}
    with pytest.raises(ConfigError, match="'name' is a value"):
        apply_overrides({"name": "x"}, ["name.sub=1"])


def test_every_problem_reported_at_once_with_key_paths(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  batch_sise: 8\n  device: 3\n  optim:\n    lr: -1\n  schedule: linear\n")
    with pytest.raises(ConfigError) as info:
        load_config(Root, path, ["train.batch_size=abc"])
    problems = info.value.problems
    text = str(info.value)
    assert len(problems) == 5, problems
    assert "train.batch_sise: unknown key; did you mean 'batch_size'?" in text
    assert "Allowed keys here: batch_size, device, optim, schedule" in text
    assert "train.device: Input should be a valid string (got 3)" in text
    assert "train.optim.lr: Input should be greater than 0 (got -1)" in text
    assert "train.batch_size: Input should be a valid integer" in text and "'abc'" in text
    assert "train.schedule: Input should be 'cosine' or 'constant' (got 'linear')" in text
    assert str(path) in text


def test_unknown_key_inside_optional_section_lists_allowed_keys():
    with pytest.raises(ConfigError) as info:
        load_config(Root, None, ["gate.lrr=1"])
    assert "gate.lrr: unknown key; did you mean 'lr'?" in str(info.value)


def test_defaults_and_dump_round_trip(tmp_path):
    cfg = load_config(Root, None, ["train.optim.lr=0.01"])
    text = dump_yaml(cfg)
    assert "batch_size: 32" in text and "lr: 0.01" in text  # every default written out
    path = tmp_path / "resolved.yaml"
    path.write_text(text)
    assert load_config(Root, path) == cfg


def test_bad_yaml_and_non_mapping_are_config_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Root, broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping, got list"):
        load_config(Root, listing)


def test_resolve_config_path_names_the_presets(tmp_path, monkeypatch):
    monkeypatch.setattr("hrm.config.CONFIG_DIR", tmp_path)
    (tmp_path / "demo.yaml").write_text("name: demo\n")
    assert resolve_config_path("demo") == tmp_path / "demo.yaml"
    assert resolve_config_path("demo.yaml") == tmp_path / "demo.yaml"
    with pytest.raises(ConfigError, match="presets: demo"):
        resolve_config_path("nope")
