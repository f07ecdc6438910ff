"""What every rule of the check is handed: the environment, its inventory, and the declared side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from envkernels.inspect.declared import Declarations
from envkernels.inspect.inventory import Inventory
from envkernels.inspect.problems import InputProblem
from envkernels.model import Environment

if TYPE_CHECKING:
    from envkernels.inspect.advice import LocalAdvisories


@dataclass
class CheckContext:
    """Inputs of one check run; rules append the files they read to ``inputs`` (the cache stamps them)."""

    env: Environment
    inventory: Inventory
    markers: dict[str, str]
    project: str | None = None
    declarations: Declarations | None = None
    lock: str | None = None
    notebook: str | None = None
    imports: tuple[str, ...] = ()
    # Directories where the kernel finds the user's own modules (its sys.path, less the environment).
    search_path: tuple[str, ...] = ()
    use_cache: bool = True
    # Advisories on this machine the advice avoids vulnerable releases with (None: none known).
    advisories: LocalAdvisories | None = None
    problems: list[InputProblem] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
