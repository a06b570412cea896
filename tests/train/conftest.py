"""Fixtures for the trainer tests: a tiny synthetic dataset, toy-model configs and run folders."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toy import ToyRunConfig, write_toy_dataset  # noqa: E402
from train_helpers import toy_config_dict, write_config  # noqa: E402

from hrm.rundir import RunDir  # noqa: E402


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("toy") / "data")


@pytest.fixture
def make_config(toy_data) -> Callable[..., ToyRunConfig]:
    def make(**sections: dict[str, Any]) -> ToyRunConfig:
        return ToyRunConfig.model_validate(toy_config_dict(toy_data, **sections))

    return make


@pytest.fixture
def write_run(toy_data, tmp_path) -> Callable[..., RunDir]:
    """A run directory with config.yaml written, as `hrm train` prepares it."""

    def write(name: str = "run", **sections: dict[str, Any]) -> RunDir:
        cfg = ToyRunConfig.model_validate(toy_config_dict(toy_data, **sections))
        return write_config(RunDir(tmp_path / name), cfg)

    return write
