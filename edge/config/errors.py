"""SiteConfigInvalid: a site configuration that cannot run, with every problem it has."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: where (file, section and document) and which field, and what is wrong."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


class SiteConfigInvalid(ValueError):
    """Raised when a site configuration cannot be read or does not validate.

    `problems` lists every problem found (not only the first), each naming the file, the
    document (`modules[2] (mod-abc)`) and the field. Not raised for a configuration that is
    valid but whose devices are unreachable: that shows up as module state.
    """

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"site configuration is invalid ({len(problems)} problem(s)):\n{lines}")
