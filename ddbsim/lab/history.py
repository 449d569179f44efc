"""The history of client operations: invoke, then ok, fail or info.

Jepsen's convention: every operation is *invoked*, then completes as
``ok`` (it took effect, with this result), ``fail`` (it certainly did not
take effect) or ``info`` (unknown: a timeout, which may or may not have
taken effect).  Recording is off by default (``metrics.history``); the
durability ledger the checkers need is kept either way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class Op:
    index: int
    process: str
    kind: str
    key: str
    value: Any
    invoke_s: float
    expected_version: int | None = None
    outcome: str | None = None  # ok | fail | info
    complete_s: float | None = None
    result: Any = None
    version: int = 0
    attempts: int = 0


class History:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def invoke(self, process: str, kind: str, key: str, value: Any, invoke_s: float,
               expected_version: int | None = None) -> Op:
        op = Op(len(self.ops), process, kind, key, value, invoke_s, expected_version)
        self.ops.append(op)
        return op

    @staticmethod
    def complete(op: Op, outcome: str, complete_s: float | None, result: Any = None, version: int = 0,
                 attempts: int = 0) -> None:
        op.outcome = outcome
        op.complete_s = complete_s
        op.result = result
        op.version = version
        op.attempts = attempts

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(op) for op in self.ops]
