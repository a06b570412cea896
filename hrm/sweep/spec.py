"""What a sweep file says and the runs it expands to.

    name: controller_T                  # run ids start with it: <name>-<config id>-s<seed>
    base: sort_demo_cpu                 # a preset in configs/ or a YAML path (relative to this file)
    config: {train: {max_steps: 300}}   # optional: merged over the base (a whole config works too)
    overrides: [optim.lr=1e-3]          # optional: key=value for every run
    grid:                               # the cartesian product of these values...
      model.controller: [classical, hrm]
      model.hrm_T: [2, 4]
    cells:                              # ...and/or a list of explicit settings (crossed with the grid)
      - {model.arch: hrm_act, model.halting: act}
      - {model.arch: hrm_act, model.halting: fixed}
    seeds: [0, 1, 2]
    eval: {split: test, max_examples: 0}
    baseline: {model.controller: classical}   # optional: cells the advisor compares the others with

A value of null sets the key to None (e.g. `model.routing.top_k: [null, 1, 2]`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from hrm.config import ConfigError, StrictModel, read_yaml, resolve_config_path, validate, yaml_load

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ID = 80  # longer config ids are shortened and made unique with a hash


class SweepEval(StrictModel):
    split: str = Field("", description="split evaluated for the task metrics; empty = the run's data.eval_split")
    max_examples: int = Field(0, ge=0, description="0 = every puzzle of the split")
    batch_size: int = Field(256, ge=1)


class SweepSpec(StrictModel):
    name: str = Field(min_length=1)
    base: str = Field("", description="a preset name in configs/ or a run config YAML path")
    config: dict[str, Any] = Field(default_factory=dict, description="merged over the base")
    overrides: list[str] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    cells: list[dict[str, Any]] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    eval: SweepEval = SweepEval()
    baseline: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", v):
            raise ValueError(f"use letters, digits, '.', '-' and '_' only (got {v!r}); it starts every run id")
        return v

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if not self.base and not self.config:
            raise ValueError("give `base` (a preset or YAML path) or `config` (the run config itself)")
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid.{key}: give at least one value")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds {self.seeds} repeat a seed")
        for i, cell in enumerate(self.cells):
            both = set(cell) & set(self.grid)
            if both:
                raise ValueError(f"cells[{i}] sets {sorted(both)}, which the grid also varies")
        return self


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: a setting of the swept keys and a seed."""

    config_id: str
    seed: int
    values: dict[str, Any] = field(hash=False)
    run_id: str

    def overrides(self) -> list[str]:
        return [f"{key}={format_value(value)}" for key, value in self.values.items()]


def format_value(value: Any) -> str:
    """A value as YAML that `hrm train key=value` parses back to the same value (None -> null)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text[: -len("...")].strip() if text.endswith("...") else text
    if isinstance(value, str) and yaml_load(text) != value:  # e.g. "1e-3", which hrm reads as a float
        text = "'" + value.replace("'", "''") + "'"
    return text


def _short_names(keys: list[str]) -> dict[str, str]:
    """The last dotted part of each key, or the whole key where two keys share a last part."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last, strict=True)}


def config_id(values: dict[str, Any], short: dict[str, str]) -> str:
    """A readable, stable id for a setting: `controller-hrm_hrm_T-4`; `base` when nothing varies."""
    if not values:
        return "base"
    parts = []
    for key, value in values.items():
        text = "none" if value is None else format_value(value)
        parts.append(f"{short[key]}-{_SAFE.sub('-', text).strip('-')}")
    ident = "_".join(parts)
    if len(ident) > MAX_ID:
        digest = hashlib.sha1(ident.encode()).hexdigest()[:8]
        ident = f"{ident[: MAX_ID - 9]}-{digest}"
    return ident


def settings(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every setting of the swept keys: explicit cells x grid product, in file order."""
    grid_keys = list(spec.grid)
    product = [dict(zip(grid_keys, combo, strict=True)) for combo in itertools.product(*spec.grid.values())]
    cells = spec.cells or [{}]
    return [{**cell, **combo} for cell in cells for combo in product]


def swept_keys(spec: SweepSpec) -> list[str]:
    keys: list[str] = []
    for setting in settings(spec):
        keys += [k for k in setting if k not in keys]
    return keys


def expand(spec: SweepSpec) -> list[Cell]:
    """The runs of a sweep, settings outermost, seeds innermost."""
    all_settings = settings(spec)
    short = _short_names(swept_keys(spec))
    out, seen = [], {}
    for values in all_settings:
        ident = config_id(values, short)
        if ident in seen and seen[ident] != values:
            raise ConfigError("sweep", [f"settings {seen[ident]} and {values} get the same config id {ident}"])
        if ident in seen:
            raise ConfigError("sweep", [f"setting {values} appears twice"])
        seen[ident] = values
        for seed in spec.seeds:
            out.append(Cell(ident, seed, dict(values), f"{spec.name}-{ident}-s{seed}"))
    return out


def load_sweep(path: str | Path) -> tuple[SweepSpec, Path]:
    """A sweep file (a path, or a name in configs/sweeps/) validated; returns it and its path."""
    path = Path(path)
    if not path.is_file():
        path = resolve_config_path(Path("sweeps") / path)
    spec = validate(SweepSpec, read_yaml(path), str(path))
    return spec, path


def base_config(spec: SweepSpec, spec_path: Path) -> dict[str, Any]:
    """The run config every cell starts from: the base file merged with `config`."""
    data: dict[str, Any] = {}
    if spec.base:
        candidate = (spec_path.parent / spec.base) if not Path(spec.base).is_absolute() else Path(spec.base)
        data = read_yaml(candidate if candidate.is_file() else resolve_config_path(spec.base))
    return _merge(data, spec.config)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
