"""Restore: a table restored as of an instant ``t`` holds what the history allows at ``t``.

A point-in-time restore (:meth:`ddbsim.service.object_store.ObjectStore.restore`)
must bring back every write acknowledged before ``t`` and none invoked after
it.  :func:`check_restore` checks one restored table against the client
history (:class:`~ddbsim.lab.history.Op`), key by key.

**The writes of a key.**  A put, conditional put or delete is a write of its
key, of its value (None for a delete), with an interval ``[invoke, ack]``:

* *acknowledged* -- outcome ``ok`` (a conditional put: and applied); ``ack``
  is its completion time;
* *failed* -- outcome ``fail``, or a conditional put ``ok`` but not applied
  in a single attempt: it never took effect and is ignored;
* *unknown* -- outcome ``info`` or none (a timeout, a client that died), or a
  conditional put ``ok`` but not applied after more than one attempt (an
  earlier, timed-out attempt may have applied it): it may take effect at any
  time after its invocation, or never; ``ack`` is infinite.

Before any write, a key is absent: an implicit write of None acknowledged at
minus infinity.

**The rule.**  Let ``v`` be the key's value in the restored table (None if
absent or deleted).  The *candidates* are the non-failed writes of value
``v`` invoked at or before ``t`` (and, if ``v`` is None, the initial
absence).  The restored value is allowed at ``t`` iff

1. there is a candidate -- else, if a write of ``v`` was invoked after
   ``t``, the restore holds a write **invoked after t** (it must hold none);
   if not, ``v`` is a **phantom** (a value no write that may have taken
   effect ever wrote);
2. no write acknowledged at or before ``t`` was invoked after the latest
   ``ack`` of the candidates -- such a write certainly followed every write
   of ``v`` and had taken effect by ``t``, so ``v`` cannot be the value at
   ``t``: the acknowledged write is **missing**.

So the value of the last write acknowledged before ``t`` is allowed, and
so is that of any write whose interval contains ``t`` or that was invoked
later but at or before ``t`` and is not certainly overtaken; a write
invoked after ``t`` never is; unknown writes may or may not appear.  Values
are unique per put (the workload writes ``client:seq``), so a value names
its write; deletes are told apart only by time, which the rule allows for
by taking the latest ``ack`` of the candidates.

The figures: ``keys_checked`` (every key written in the history or present
in the restore), ``acked_before_t`` (writes acknowledged at or before ``t``)
and ``acked_found`` (those not missing: the restored value is theirs or a
write not known to precede them), ``latest_acked_exact`` (keys whose restored
value is exactly the last acknowledged write's), ``invoked_after_t_found``
(keys holding a write invoked after ``t``), ``missing_acked`` (writes),
``phantoms`` (keys) and ``mismatches`` (keys breaking the rule; 0 for
``valid``).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ddbsim.lab.history import Op
from ddbsim.service.messages import COND_PUT, DELETE, PUT

MAX_EXAMPLES = 10


class _Write(NamedTuple):
    value: Any
    invoke_s: float
    ack_s: float  # completion of an acknowledged write; inf if unknown
    acked: bool


def writes_by_key(ops: Iterable[Op]) -> dict[str, list[_Write]]:
    """The writes of the history that may have taken effect, by key."""
    out: dict[str, list[_Write]] = {}
    for op in ops:
        if op.kind not in (PUT, COND_PUT, DELETE):
            continue
        value = None if op.kind == DELETE else op.value
        if op.outcome == "ok":
            if op.kind == COND_PUT and not op.result:
                if op.attempts <= 1:
                    continue  # its condition failed: it never took effect
                w = _Write(value, op.invoke_s, math.inf, False)
            else:
                assert op.complete_s is not None
                w = _Write(value, op.invoke_s, op.complete_s, True)
        elif op.outcome == "fail":
            continue
        else:  # info, or never completed
            w = _Write(value, op.invoke_s, math.inf, False)
        out.setdefault(op.key, []).append(w)
    return out


def check_restore(ops: Iterable[Op] | Mapping[str, list[_Write]], restored: Mapping[str, Any],
                  t_s: float) -> dict[str, Any]:
    """Check ``restored`` (key -> value, None for a tombstone; an absent key
    is absent) as the table at ``t_s`` against the history ``ops`` (or its
    :func:`writes_by_key`, to check several instants at the cost of one pass)."""
    by_key = ops if isinstance(ops, Mapping) else writes_by_key(ops)
    keys = set(by_key)
    keys.update(restored)
    acked_before = missing_total = exact = after_t = phantoms = mismatches = 0
    examples: list[dict[str, Any]] = []
    for key in sorted(keys):
        writes = by_key.get(key, [])
        v = restored.get(key)
        acked = [w for w in writes if w.acked and w.ack_s <= t_s]
        acked_before += len(acked)
        if acked and max(acked, key=lambda w: w.ack_s).value == v:
            exact += 1
        candidates = [w.ack_s for w in writes if w.value == v and w.invoke_s <= t_s]
        if v is None:
            candidates.append(-math.inf)  # the initial absence
        if not candidates:
            mismatches += 1
            if any(w.value == v for w in writes):
                after_t += 1
                first = min(w.invoke_s for w in writes if w.value == v)
                problem = f"holds a write invoked after t (at {first:.6f} s)"
            else:
                phantoms += 1
                problem = "holds a value no write that may have taken effect wrote"
            if len(examples) < MAX_EXAMPLES:
                examples.append({"key": key, "restored": v, "problem": problem})
            continue
        best = max(candidates)
        missing = [w for w in acked if w.invoke_s > best]
        if missing:
            mismatches += 1
            missing_total += len(missing)
            if len(examples) < MAX_EXAMPLES:
                latest = max(missing, key=lambda w: w.ack_s)
                examples.append({"key": key, "restored": v, "problem": "misses an acknowledged "
                                 "write", "missing_value": latest.value,
                                 "missing_acked_at_s": round(latest.ack_s, 6)})
    return {"valid": mismatches == 0, "t_s": t_s, "keys_checked": len(keys),
            "acked_before_t": acked_before, "acked_found": acked_before - missing_total,
            "latest_acked_exact": exact, "invoked_after_t_found": after_t,
            "missing_acked": missing_total, "phantoms": phantoms, "mismatches": mismatches,
            "examples": examples}
