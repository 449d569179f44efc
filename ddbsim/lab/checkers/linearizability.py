"""Linearizability of strong reads and writes, and what eventual reads promise.

The model is the register each key is in a storage replica's B-tree
(:meth:`ddbsim.service.storage.replica.ReplicaState.apply` and ``read``): a state
``(value, version)``, initially ``(None, 0)``.

* ``put(v)`` makes it ``(v, version + 1)``; ``delete`` makes it
  ``(None, version + 1)`` -- a tombstone, so versions keep counting;
* ``cond_put(v, e)`` applies, like a put, only when ``e`` equals the current
  version (0 for an absent or deleted item); otherwise it changes nothing and
  reports the current version;
* a read returns ``(value, version)``.

**Strong reads and writes** (:func:`check_linearizable`) must be
linearizable: there is one total order of them, consistent with real time
(an op that completed before another was invoked comes first), in which
every result is what the register would give.  Ops follow Jepsen's
conventions (as in Knossos and Porcupine): an ``ok`` op takes effect at one
instant between its invocation and its completion; a ``fail`` op never took
effect and is dropped; an ``info`` op (a timeout), or one that never
completed (``outcome`` None: its client died), may take effect at any
instant after its invocation, or never -- a read of that kind tells nothing
and is dropped.  A ``cond_put`` that is ``ok`` but not applied is a read: it
saw a state in which its condition failed.  If it took more than one attempt,
an earlier, timed-out attempt may have applied it (the workload records the
retry's answer), so it also counts as a write that may have taken effect.
Ops that touch -- one completes at the very instant another is invoked --
count as concurrent.  A retried write is assumed to take effect at most once.

The search is Wing & Gong's ("Testing and verifying concurrent objects",
1993) with Lowe's refinements ("Testing for linearizability", 2017): walk
the invocations and completions in time order, linearize an invoked op
whenever the model allows it, backtrack when an op reaches its completion
unlinearized, and remember every (set of linearized ops, state) already
explored so that no configuration is searched twice.  It is iterative, with
the events in an array-backed doubly linked list.  A register is
P-compositional, so each key is checked on its own; a key whose ops never
overlap is checked by replaying them in order.  Optional writes with the
same effect (deletes, or puts whose values no read returned) are
interchangeable, so each such class is only tried in invoke order: without
that, k pending timeouts on a hot key cost 2**k configurations.  A key whose search explores
more than ``max_states`` configurations is ``"unknown"`` rather than a hang.

**Eventual reads** (:func:`check_eventual_reads`).  Like DynamoDB, an
eventual read may be served by any storage replica, including one cut off
from its leader, so there is NO read-your-writes, monotonic-read or time
bound.  What IS promised and checked: every ok ``get_eventual`` returns a
state some write actually produced -- value None with version 0 (never
written), or a value written by a put/cond_put to that key that was invoked
before the read completed and is not known to have failed (not outcome
fail, not ok-with-applied=False); and the version matches: if the writing op
is ok its recorded version must equal the read's version; a None value with
version > 0 must correspond to a delete invoked before the read completed
that is not failed (if that delete is ok its version must match).  (A
not-applied cond_put that took more than one attempt is not known to have
failed, as above.)  Staleness and read-your-writes misses are measured and
reported, never counted as failures.

Both return plain, JSON-safe dicts with ``valid`` True, False or
``"unknown"``; floats are rounded to 6 decimals so the JSON is stable.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any, NamedTuple

from ddbsim.lab.history import Op
from ddbsim.service.messages import COND_PUT, DELETE, GET_EVENTUAL, GET_STRONG, OPERATIONS, PUT

MAX_STATES = 250_000  # explored configurations per key before giving up
MAX_FAILURES = 5
MAX_OPS_SHOWN = 20
OUTCOMES = ("ok", "fail", "info", None)

# What an op does to the register when linearized.
_WRITE = 0  # put / delete: (value, version + 1)
_COND = 1  # cond_put that applies if its condition holds
_READ = 2  # get_strong: must see (value, version)
_COND_MISS = 3  # cond_put ok, not applied: must see a state failing its condition

State = tuple[Any, int]


class _Entry(NamedTuple):
    call_s: float
    ret_s: float  # inf for an op that may take effect or not
    code: int
    value: Any
    expected: int | None
    version: int | None  # the version the model must show; None: not checked
    mandatory: bool
    op: Op


# -- strong reads and writes -------------------------------------------------------


def check_linearizable(ops: Iterable[Op], *, versions: bool = True,
                       max_states: int = MAX_STATES) -> dict[str, Any]:
    """Check the strong reads and the writes of ``ops`` for linearizability,
    key by key.  ``versions=False`` compares values only (the recorded
    versions of reads and writes are ignored).

    Returns ``valid`` (False if any key fails, else "unknown" if any key's
    search exceeded ``max_states``, else True), ``keys`` and ``ops`` checked,
    ``failed_keys`` (a count), ``unknown_keys`` (the first 20, sorted) and
    ``unknown_count``, and ``failures``: up to 5 of ``{"key", "reason",
    "ops"}``, ``ops`` being up to 20 of the key's ops in invoke order around
    the one that could not be linearized."""
    by_key = _entries_by_key(ops, versions)
    failures: list[dict[str, Any]] = []
    unknown: list[Any] = []
    n_failed = n_ops = 0
    for key in sorted(by_key, key=str):
        entries = by_key[key]
        n_ops += len({id(e.op) for e in entries})
        if _sequential_ok(entries):
            continue
        verdict, detail = _check_key(entries, max_states)
        if verdict == "unknown":
            unknown.append(key)
        elif verdict == "fail":
            n_failed += 1
            if len(failures) < MAX_FAILURES:
                culprit, reason = detail
                failures.append({"key": key, "reason": reason, "ops": _shown(entries, culprit)})
    valid: bool | str = True
    if n_failed:
        valid = False
    elif unknown:
        valid = "unknown"
    return {"valid": valid, "keys": len(by_key), "ops": n_ops, "failed_keys": n_failed,
            "unknown_keys": unknown[:MAX_OPS_SHOWN], "unknown_count": len(unknown),
            "failures": failures}


def _entries_by_key(ops: Iterable[Op], versions: bool) -> dict[Any, list[_Entry]]:
    by_key: dict[Any, list[_Entry]] = {}
    for op in ops:
        kind, outcome = op.kind, op.outcome
        if kind not in OPERATIONS:
            raise ValueError(f"history op #{op.index}: unknown kind {kind!r}; "
                             f"expected one of {', '.join(OPERATIONS)}")
        if outcome not in OUTCOMES:
            raise ValueError(f"history op #{op.index}: unknown outcome {outcome!r}; "
                             "expected 'ok', 'fail', 'info' or None")
        if kind == GET_EVENTUAL or outcome == "fail" or (kind == GET_STRONG and outcome != "ok"):
            continue
        ok = outcome == "ok"
        ret_s = (math.inf if op.complete_s is None else op.complete_s) if ok else math.inf
        version = op.version if ok and versions else None
        value = op.value if kind != DELETE else None
        new: list[_Entry] = []
        if kind == GET_STRONG:
            new.append(_Entry(op.invoke_s, ret_s, _READ, op.result, None, version, True, op))
        elif kind == COND_PUT:
            if not ok or op.result:
                new.append(_Entry(op.invoke_s, ret_s, _COND, value, op.expected_version, version, ok, op))
            else:
                new.append(_Entry(op.invoke_s, ret_s, _COND_MISS, value, op.expected_version, version,
                                  True, op))
                if op.attempts > 1:  # an earlier, timed-out attempt may have applied it
                    new.append(_Entry(op.invoke_s, math.inf, _COND, value, op.expected_version, None,
                                      False, op))
        else:
            new.append(_Entry(op.invoke_s, ret_s, _WRITE, value, None, version, ok, op))
        by_key.setdefault(op.key, []).extend(new)
    for entries in by_key.values():
        entries.sort(key=lambda e: (e.call_s, e.op.index, e.code))
    return by_key


def _step(state: State, e: _Entry) -> State | None:
    """The state after linearizing ``e`` in ``state``, or None if it cannot be."""
    value, version = state
    code = e.code
    if code == _READ:
        if value == e.value and (e.version is None or e.version == version):
            return state
        return None
    current = version if value is not None else 0
    holds = e.expected is None or e.expected == current
    if code == _COND_MISS:
        if not holds and (e.version is None or e.version == version):
            return state
        return None
    if code == _COND and not holds:
        return None  # an optional cond_put that does not apply is one that never happened
    if e.version is not None and e.version != version + 1:
        return None
    return (e.value, version + 1)


def _sequential_ok(entries: list[_Entry]) -> bool:
    """True if no two ops overlap, all are ok, and replaying them in order works."""
    prev_ret = -math.inf
    for e in entries:
        if not e.mandatory or e.call_s <= prev_ret:
            return False
        prev_ret = e.ret_s
    state: State | None = (None, 0)
    for e in entries:
        state = _step(state, e)  # type: ignore[arg-type]
        if state is None:
            return False
    return True


def _check_key(entries: list[_Entry], max_states: int) -> tuple[str, Any]:
    """Returns ("ok", None), ("unknown", None) or ("fail", (culprit entry, reason))."""
    phantom = _phantom_read(entries)
    if phantom is not None:
        return "fail", phantom
    verdict, detail = _wgl(*_interchangeable(entries), max_states)
    if verdict != "fail":
        return verdict, None
    culprit, state, depth = detail
    reason = (f"{_what(entries[culprit].op)}, but could not be linearized: the register then held "
              f"{_state(state)} ({depth} of {len(entries)} ops ordered)")
    return "fail", (entries[culprit], reason)


def _phantom_read(entries: list[_Entry]) -> tuple[_Entry, str] | None:
    """A strong read of a value no write that may have taken effect wrote."""
    written = {e.value for e in entries if e.code in (_WRITE, _COND)}
    for e in entries:
        if e.code == _READ and e.value is not None and e.value not in written:
            return e, f"{_what(e.op)}, a value no write to this key that may have taken effect wrote"
    return None


class _Unread:
    """The value of an optional write that no read returned: which one it was
    can never be told apart, only that something non-null is there."""

    def __repr__(self) -> str:
        return "<an unread value>"


_UNREAD = _Unread()


def _interchangeable(entries: list[_Entry]) -> tuple[list[_Entry], list[int]]:
    """Symmetry reduction for optional writes.  Two optional ops with the same
    effect -- deletes; puts whose values no read returned; such cond_puts with
    the same expected version -- can swap places in any linearization, so the
    members of each such class need only be tried in invoke order: ``gate[i]``
    is the previous member of entry ``i``'s class (it must be linearized first),
    or -1.  (If a linearization uses k members of a class, the k earliest
    invoked fit its k slots: the i-th slot follows i invocations.)  Without
    this, k pending info writes cost 2**k configurations."""
    read = {e.value for e in entries if e.code == _READ}
    last: dict[tuple[int, Any, Any], int] = {}
    gate = [-1] * len(entries)
    out = list(entries)
    for i, e in enumerate(entries):
        if e.mandatory or e.code not in (_WRITE, _COND):
            continue
        cls: tuple[int, Any, Any]
        if e.value is None:
            cls = (e.code, None, e.expected)
        elif e.value not in read:
            cls = (e.code, _UNREAD, e.expected)
            out[i] = e._replace(value=_UNREAD)
        else:
            continue
        gate[i] = last.get(cls, -1)
        last[cls] = i
    return out, gate


def _wgl(entries: list[_Entry], gate: list[int], max_states: int) -> tuple[str, Any]:
    """Wing & Gong's search with Lowe's memoisation.  Node ``i`` is the call of
    entry ``i``, node ``n + i`` its return (mandatory entries only), node
    ``2n`` the list head; -1 ends the list.  An entry whose ``gate`` entry is
    not yet linearized is skipped (see :func:`_interchangeable`)."""
    n = len(entries)
    events = [(e.call_s, 0, i) for i, e in enumerate(entries)]
    events += [(e.ret_s, 1, i) for i, e in enumerate(entries) if e.mandatory]
    events.sort()  # at one instant calls come first: ops that touch are concurrent
    head = 2 * n
    nxt = [-1] * (2 * n + 1)
    prv = [-1] * (2 * n + 1)
    last = head
    for _, is_ret, i in events:
        node = n + i if is_ret else i
        nxt[last] = node
        prv[node] = last
        last = node
    mandatory = [e.mandatory for e in entries]
    left = sum(mandatory)
    state: State = (None, 0)
    bits = 0
    stack: list[tuple[int, State]] = []
    seen: set[tuple[int, State]] = set()
    explored = 0
    best: tuple[int, State, int] | None = None
    node = nxt[head]
    while left:
        if node < n:  # a call: try to linearize it now
            g = gate[node]
            if g >= 0 and not (bits >> g) & 1:
                node = nxt[node]
                continue
            new = _step(state, entries[node])
            if new is not None:
                config = (bits | (1 << node), new)
                if config not in seen:
                    explored += 1
                    if explored > max_states:
                        return "unknown", None
                    seen.add(config)
                    stack.append((node, state))
                    state, bits = new, config[0]
                    p, q = prv[node], nxt[node]  # lift the call ...
                    nxt[p] = q
                    if q >= 0:
                        prv[q] = p
                    if mandatory[node]:  # ... and its return
                        r = n + node
                        p, q = prv[r], nxt[r]
                        nxt[p] = q
                        if q >= 0:
                            prv[q] = p
                        left -= 1
                    node = nxt[head]
                    continue
            node = nxt[node]
        else:  # a return reached before its op was linearized: backtrack
            if best is None or len(stack) > best[2]:
                best = (node - n, state, len(stack))
            if not stack:
                return "fail", best
            i, state = stack.pop()
            bits ^= 1 << i
            if mandatory[i]:  # unlift in the reverse order
                r = n + i
                nxt[prv[r]] = r
                if nxt[r] >= 0:
                    prv[nxt[r]] = r
                left += 1
            nxt[prv[i]] = i
            if nxt[i] >= 0:
                prv[nxt[i]] = i
            node = nxt[i]
    return "ok", None


def _shown(entries: list[_Entry], culprit: _Entry) -> list[str]:
    """The key's ops in invoke order, at most MAX_OPS_SHOWN around the culprit."""
    ops: list[Op] = []
    for e in entries:
        if not ops or ops[-1] is not e.op:
            ops.append(e.op)
    at = next(i for i, op in enumerate(ops) if op is culprit.op)
    start = max(0, min(at - MAX_OPS_SHOWN * 3 // 4, len(ops) - MAX_OPS_SHOWN))
    return [_desc(op) for op in ops[start:start + MAX_OPS_SHOWN]]


# -- eventual reads ----------------------------------------------------------------


def check_eventual_reads(ops: Iterable[Op]) -> dict[str, Any]:
    """Check that every ok eventual read returns a state some write produced;
    report staleness and read-your-writes misses (see the module docstring).

    Returns ``valid``, ``reads`` (ok eventual reads), ``violations`` (up to 5
    of ``{"key", "read", "problem"}``) and ``violation_count``,
    ``read_your_writes_misses`` and ``staleness``: ``{"reads", "stale",
    "stale_fraction", "versions_behind": {"p50", "p90", "p99", "max"},
    "seconds_stale": {...the same}}``.  A read is stale when a write with a
    higher version was acknowledged before it was invoked; ``versions_behind``
    counts from the highest such version, ``seconds_stale`` from the
    acknowledgement of the earliest such write.  The percentiles (nearest rank)
    are over the stale reads only, and None when there are none."""
    ops = list(ops)
    puts: dict[tuple[Any, Any], list[Op]] = {}  # (key, value) -> put/cond_put ops
    deletes: dict[Any, list[Op]] = {}
    acked: dict[Any, list[tuple[float, int, str]]] = {}  # key -> (complete_s, version, process)
    reads: list[Op] = []
    for op in ops:
        kind = op.kind
        if kind == GET_EVENTUAL:
            if op.outcome == "ok":
                reads.append(op)
        elif kind in (PUT, COND_PUT):
            puts.setdefault((op.key, op.value), []).append(op)
        elif kind == DELETE:
            deletes.setdefault(op.key, []).append(op)
        if kind in (PUT, COND_PUT, DELETE) and _status(op) == "acked" and op.complete_s is not None:
            acked.setdefault(op.key, []).append((op.complete_s, op.version, op.process))

    index = {key: _AckedIndex(ws) for key, ws in acked.items()}
    violations: list[dict[str, Any]] = []
    n_violations = 0
    behind: list[int] = []
    stale_s: list[float] = []
    ryw_misses = 0
    for r in reads:
        problem = _eventual_problem(r, puts, deletes)
        if problem is not None:
            n_violations += 1
            if len(violations) < MAX_FAILURES:
                violations.append({"key": r.key, "read": _desc(r), "problem": problem})
        idx = index.get(r.key)
        if idx is None:
            continue
        lag = idx.staleness(r.invoke_s, r.version)
        if lag is not None:
            behind.append(lag[0])
            stale_s.append(lag[1])
        if idx.own_newer(r.process, r.invoke_s, r.version):
            ryw_misses += 1

    n = len(reads)
    staleness = {"reads": n, "stale": len(behind),
                 "stale_fraction": round(len(behind) / n, 6) if n else 0.0,
                 "versions_behind": _percentiles(behind), "seconds_stale": _percentiles(stale_s)}
    return {"valid": n_violations == 0, "reads": n, "violations": violations,
            "violation_count": n_violations, "staleness": staleness,
            "read_your_writes_misses": ryw_misses}


def _status(op: Op) -> str:
    """acked (took effect, version known), maybe, or failed."""
    if op.outcome == "fail":
        return "failed"
    if op.outcome != "ok":
        return "maybe"
    if op.kind == COND_PUT and not op.result:
        return "maybe" if op.attempts > 1 else "failed"
    return "acked"


def _eventual_problem(r: Op, puts: dict[tuple[Any, Any], list[Op]],
                      deletes: dict[Any, list[Op]]) -> str | None:
    value, version = r.result, r.version
    if value is None:
        if version == 0:
            return None
        writes = deletes.get(r.key, [])
        what = f"a tombstone v{version}"
    else:
        writes = puts.get((r.key, value), [])
        what = f"{_value(value)} v{version}"
        if not writes:
            return f"returned {what}, a value never written to this key"
    if not writes:
        return f"returned {what}, but no delete of this key could have produced it"
    live = [w for w in writes if _status(w) != "failed"]
    if not live:
        return f"returned {what}, written only by {_what(writes[0])}, which did not take effect"
    done_s = math.inf if r.complete_s is None else r.complete_s
    early = [w for w in live if w.invoke_s <= done_s]
    if not early:
        return f"returned {what}, written only by {_what(live[0])}, invoked after the read completed"
    if version < 1:
        return f"returned {what}: a written state has version 1 or more"
    if any(_status(w) == "maybe" or w.version == version for w in early):
        return None
    return f"returned {what}, but {_what(early[0])} (the version must match)"


class _AckedIndex:
    """One key's acknowledged writes by completion time, overall and per process."""

    __slots__ = ("done_s", "top", "by_process")

    def __init__(self, writes: list[tuple[float, int, str]]) -> None:
        writes.sort()
        self.done_s, self.top = self._prefix_max(writes)
        groups: dict[str, list[tuple[float, int, str]]] = {}
        for w in writes:
            groups.setdefault(w[2], []).append(w)
        self.by_process = {p: self._prefix_max(ws) for p, ws in groups.items()}

    @staticmethod
    def _prefix_max(writes: list[tuple[float, int, str]]) -> tuple[list[float], list[int]]:
        done_s, top, high = [], [], 0
        for complete_s, version, _ in writes:
            high = max(high, version)
            done_s.append(complete_s)
            top.append(high)
        return done_s, top

    def staleness(self, invoke_s: float, version: int) -> tuple[int, float] | None:
        """(versions behind, seconds stale) for a stale read, else None."""
        i = bisect_left(self.done_s, invoke_s)  # writes acknowledged before the read
        if i == 0 or self.top[i - 1] <= version:
            return None
        first = bisect_right(self.top, version, 0, i)  # the earliest acked newer write
        return self.top[i - 1] - version, invoke_s - self.done_s[first]

    def own_newer(self, process: str, invoke_s: float, version: int) -> bool:
        mine = self.by_process.get(process)
        if mine is None:
            return False
        i = bisect_left(mine[0], invoke_s)
        return i > 0 and mine[1][i - 1] > version


def _percentiles(xs: list[Any]) -> dict[str, Any]:
    if not xs:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    xs = sorted(xs)
    n = len(xs)

    def rank(p: float) -> Any:
        x = xs[max(0, math.ceil(p * n) - 1)]
        return round(x, 6) if isinstance(x, float) else x

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": rank(1.0)}


# -- descriptions ----------------------------------------------------------------


def _t(x: float | None) -> str:
    if x is None or x == math.inf:
        return "?"
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _value(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _state(state: State) -> str:
    value, version = state
    return f"{'nothing' if value is None else _value(value)} v{version}"


def _args(op: Op) -> str:
    if op.kind == PUT:
        return f" {_value(op.value)}"
    if op.kind == COND_PUT:
        return f" {_value(op.value)} if v{op.expected_version}"
    return ""


def _outcome(op: Op) -> str:
    if op.outcome is None:
        return "never completed"
    if op.outcome != "ok":
        return op.outcome
    if op.kind in (GET_STRONG, GET_EVENTUAL):
        return f"returned {'nothing' if op.result is None else _value(op.result)} v{op.version}"
    if op.kind == COND_PUT:
        return f"applied v{op.version}" if op.result else f"not applied, saw v{op.version}"
    return f"ok v{op.version}"


def _what(op: Op) -> str:
    """For reasons: 'get_strong #17 at 12.3-12.4s returned 'c1:5' v3'."""
    return f"{op.kind} #{op.index}{_args(op)} at {_t(op.invoke_s)}-{_t(op.complete_s)}s {_outcome(op)}"


def _desc(op: Op) -> str:
    """For op lists: '#17 c1 get_strong 12.3-12.4s returned 'c1:5' v3'."""
    return (f"#{op.index} {op.process} {op.kind}{_args(op)} {_t(op.invoke_s)}-{_t(op.complete_s)}s "
            f"{_outcome(op)}")
