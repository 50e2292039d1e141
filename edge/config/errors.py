"""SiteConfigInvalid: a site configuration that cannot run, with every problem it has."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: where (file, section and document) and which field, and what is wrong.

    `table` and `doc_id` name the document the problem belongs to, when it belongs to one
    (not for a whole section or the auth material), so a bad document can be set aside alone.
    """

    where: str
    field: str
    message: str
    table: str = ""
    doc_id: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


@dataclass(frozen=True)
class RejectedRecord:
    """A document the node set aside because it cannot be applied, and why.

    `table` and `id` name it (`id` is empty for a problem of a whole section or of the auth
    material); `reason` is every problem found, one per clause. The rest of the configuration
    runs without it (`edge.config.isolation`).
    """

    table: str
    id: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"table": self.table, "id": self.id, "reason": self.reason}


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
