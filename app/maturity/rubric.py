"""Loads the rubric (rubric.yaml) once."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from app.maturity.scoring import Capability

RUBRIC_FILE = Path(__file__).with_name("rubric.yaml")


@dataclass(frozen=True)
class Rubric:
    version: str
    levels: dict[int, dict[str, str]]
    capabilities: tuple[Capability, ...]

    def keys(self) -> list[str]:
        return [c.key for c in self.capabilities]


@lru_cache(maxsize=1)
def load_rubric(path: Path = RUBRIC_FILE) -> Rubric:
    data = yaml.safe_load(path.read_text())
    caps = tuple(Capability(**c) for c in data["capabilities"])
    keys = [c.key for c in caps]
    if len(keys) != len(set(keys)):
        raise ValueError(f"{path}: capability keys must be unique")
    return Rubric(version=str(data["version"]), levels={int(k): v for k, v in data["levels"].items()},
                  capabilities=caps)
