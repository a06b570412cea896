"""How an evaluation is run: shared by `hrm eval` and `hrm compare`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hrm.errors import UserError


@dataclass(frozen=True)
class EvalSettings:
    split: str = "test"
    max_puzzles: int = 0  # 0 = every puzzle of the split
    n_samples: int = 8
    temperature: float = 1.0  # autoregressive models (GPT-2) sample at this temperature
    aug_temperature: float = 0.0  # models that answer all cells at once (HRM): 0 = argmax
    augment: str = "auto"  # auto: augment models that are not autoregressive; on; off
    halt_max_steps: int | None = None
    eval_act: bool = False
    vote: bool = False
    device: str = "auto"
    batch_size: int = 256
    seed: int = 0
    threads: int = 0  # CPU threads for torch; 0 = torch's default

    def __post_init__(self) -> None:
        if self.augment not in ("auto", "on", "off"):
            raise UserError(f"--augment {self.augment!r}: choose auto, on or off")

    def augments(self, autoregressive: bool) -> bool:
        return self.augment == "on" or (self.augment == "auto" and not autoregressive)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_ks(text: str) -> list[int]:
    """'1,2,5' -> [1, 2, 5]; a clear error for anything else."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise UserError(f"--k {text!r}: expected comma-separated whole numbers such as 1,2,5") from None
    if not ks or ks[0] < 1:
        raise UserError(f"--k {text!r}: every k must be >= 1")
    return ks
