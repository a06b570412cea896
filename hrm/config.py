"""Validated configuration: YAML presets in `configs/`, `key=value` overrides, one clear error.

Every section is a pydantic model with `extra="forbid"` and a default for every field, so a preset
only names what differs from the defaults, a typo is caught with its key path, and the resolved
config written into each run spells out every value that was used.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hrm.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-4` as a string (it wants `1.0e-4`); learning rates are written the short
    way, so floats in exponent form without a dot are resolved as floats here."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$|^[-+]?\d+\.\d*$|^[-+]?\.\d+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)


def yaml_load(text: str):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


class ConfigError(UserError, ValueError):
    """A config that cannot be used. The message lists every problem, one per line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the config:\n{lines}")


def resolve_config_path(name_or_path: str | Path) -> Path:
    """Accept a path, or a preset name from `configs/` with or without `.yaml`."""
    path = Path(name_or_path)
    candidates = [path, CONFIG_DIR / path, CONFIG_DIR / f"{path}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    presets = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise ConfigError(str(name_or_path), [f"no such config file or preset; presets: {presets}"])


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), [f"the top level must be a mapping, got {type(data).__name__}"])
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=value` -> (["a","b","c"], value) with the value parsed as YAML (so 3, 1e-4, true, [1,2])."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError("command line", [f"override '{text}' is not of the form key=value (e.g. train.lr=1e-3)"])
    try:
        value = yaml_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set each dotted key in a nested dict (creating sections as needed); returns the same dict."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError("command line", [f"override '{text}': '{part}' is a value, not a section"])
            node = child
        node[path[-1]] = value
    return data


def _allowed_keys(model_cls: type[BaseModel], loc: tuple) -> list[str]:
    """Walk the model class along an error location to list the fields allowed there."""
    cls: Any = model_cls
    for part in loc[:-1]:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return []
        field = cls.model_fields.get(str(part))
        if field is None:
            return []
        cls = field.annotation
        # Optional[X] / X | None: take the model member of the union.
        members = [a for a in getattr(cls, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        if members:
            cls = members[0]
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return list(cls.model_fields)
    return []


def format_validation_error(exc: ValidationError, model_cls: type[BaseModel]) -> list[str]:
    """One line per problem: the dotted key path, what is wrong, and what is allowed."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # Discriminated unions put the tag in the path (model.hrm_act.hidden_size); drop it.
        path = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model_cls, loc)
            unknown = str(loc[-1])
            guess = difflib.get_close_matches(unknown, allowed, n=1)
            hint = f"; did you mean '{guess[0]}'?" if guess else ""
            listing = f" Allowed keys here: {', '.join(allowed)}." if allowed else ""
            problems.append(f"{path}: unknown key{hint}{listing}")
        elif err["type"] == "literal_error" or err["type"] == "enum":
            problems.append(f"{path}: {err['msg']} (got {err.get('input')!r})")
        elif err["type"] == "union_tag_invalid":
            problems.append(f"{path}: {err['msg']}")
        else:
            got = err.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            problems.append(f"{path}: {err['msg']}{got_text}")
    return problems


def validate(model_cls: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    """Validate `data` against `model_cls`, raising one ConfigError with every problem."""
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, format_validation_error(exc, model_cls)) from None


def load_config(
    model_cls: type[BaseModel], name_or_path: str | Path | None, overrides: list[str] | None = None
) -> Any:
    """Read a preset (or start from defaults when None), apply overrides, validate."""
    if name_or_path is None:
        data, source = {}, "defaults"
    else:
        path = resolve_config_path(name_or_path)
        data, source = read_yaml(path), str(path)
    apply_overrides(data, list(overrides or []))
    if overrides:
        source += " + overrides"
    return validate(model_cls, data, source)


def dump_yaml(config: BaseModel) -> str:
    """The fully resolved config as YAML: every default written out, stable key order."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, default_flow_style=False)
