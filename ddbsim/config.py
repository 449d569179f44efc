"""Every knob of the simulator: typed, frozen, validated, with provenance.

Each default carries a short provenance comment:

* ``[paper §N]`` -- the DynamoDB USENIX ATC 2022 paper, section N;
* ``[docs]`` -- the public DynamoDB developer guide;
* ``[sdk]`` -- the AWS SDKs' "standard" retry mode;
* ``[chosen]`` -- nothing is public; we picked a plausible value;
* a published measurement by name (:data:`LITERATURE`): ``[Ford et al.
  OSDI'10]`` (node and rack failure rates, failure bursts), ``[Schroeder &
  Gibson FAST'07; Backblaze]`` (disk failure rates).

A :class:`Config` is a tree of frozen dataclasses, one per section.  It is
validated when it is built, so an impossible region (fewer than three AZs, a
quorum larger than the replica set, a negative rate) never starts.  Overrides
are dotted keys (``replication.lease_s=3``); an unknown key is an error that
names the key and suggests the closest valid one.

Every field is type-checked from its declared type (:func:`_check_types`,
called first by each section's ``__post_init__``): an ``int`` field takes an
int (not a bool, and not a float -- even an int-valued one like ``4.0``,
which is more likely a slip than a count); a ``float`` field takes an int or
a float and stores a float; a ``bool`` field takes only a bool; a ``str``
field only a str; a :data:`Range` field (``tuple[float, float]``, a range
lo..hi) a pair of numbers, stored as a tuple of floats, finite, with
``0 <= lo <= hi``.  From the command line (``--set``) values are text and
are parsed first: ``"1e3"`` is a fine int, ``"yes"``/``"off"`` are bools, and
a range is written ``lo,hi`` or ``lo:hi`` (``--set nemesis.host_power_s=1,60``;
in a sweep's ``--grid``, whose values are comma-separated, use ``1:60``).
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import io
import math
import numbers
import re
import textwrap
import tokenize
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

#: The declared type of a range field: a pair ``(lo, hi)`` of floats.
Range = tuple[float, float]


class ConfigError(ValueError):
    """A user mistake in configuration: one clear line, no traceback."""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive(section: str, **values: float) -> None:
    for name, value in values.items():
        if not (_is_number(value) and value > 0 and math.isfinite(value)):
            raise ConfigError(f"{section}.{name} must be a positive number, got {value!r}")


def _non_negative(section: str, **values: float) -> None:
    for name, value in values.items():
        if not (_is_number(value) and value >= 0 and math.isfinite(value)):
            raise ConfigError(f"{section}.{name} must be zero or more, got {value!r}")


# -- types ---------------------------------------------------------------
# A field's kind, from its declared type: int, float, bool, str, Range, or a
# section class (the fields of Config).
_RANGE = "range"
_KIND_NAMES: dict[Any, str] = {
    int: "an int", float: "a float", bool: "a bool", str: "a str",
    _RANGE: "a range lo,hi of two numbers (e.g. 1,60 or 1:60)",
}


@functools.cache
def _field_kinds(cls: type) -> dict[str, Any]:
    """Each field of a config dataclass with its kind, from its declared type."""
    hints = typing.get_type_hints(cls)
    kinds: dict[str, Any] = {}
    for f in fields(cls):
        hint = hints[f.name]
        if hint in (int, float, bool, str):
            kinds[f.name] = hint
        elif typing.get_origin(hint) is tuple and typing.get_args(hint) == (float, float):
            kinds[f.name] = _RANGE
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kinds[f.name] = hint
        else:  # a programming error, not a user's: say so loudly
            raise TypeError(f"{cls.__name__}.{f.name}: config fields are int, float, bool, str, "
                            f"Range or a section, not {hint!r}")
    return kinds


def _kind_name(kind: Any) -> str:
    return _KIND_NAMES.get(kind) or f"a {kind.__name__}"


def _typed(key: str, value: Any, kind: Any) -> Any:
    """``value`` as a field of this kind holds it (an int as a float for a
    float field, a pair as a tuple of floats for a range), or a ConfigError
    naming ``key``."""
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        value = int(value) if ok else value
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is str:
        ok = isinstance(value, str)
    elif kind == _RANGE:
        ok = (isinstance(value, (tuple, list)) and len(value) == 2
              and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value))
        if ok:
            value = (float(value[0]), float(value[1]))
            lo, hi = value
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
                raise ConfigError(f"{key} must be a range lo,hi of finite numbers with "
                                  f"0 <= lo <= hi, got {format_value(value)}")
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ConfigError(f"{key} takes {_kind_name(kind)}, got {value!r}")
    return value


def _check_types(section: str, obj: Any) -> None:
    """Check every field of a config dataclass against its declared type (see
    the module docstring), naming the dotted key ``section.field`` of a wrong
    one, and store the normalised value (a float field's int as a float, a
    range as a tuple of floats).  Each section's ``__post_init__`` calls this
    first, before its range checks."""
    cls: type = type(obj)
    for name, kind in _field_kinds(cls).items():
        value = getattr(obj, name)
        typed = _typed(f"{section}.{name}" if section else name, value, kind)
        if typed is not value:
            object.__setattr__(obj, name, typed)


def format_value(value: Any) -> str:
    """A field's value as ``ddbsim keys`` shows it: a range as ``lo,hi`` (what
    ``--set`` takes), anything else as its repr."""
    if isinstance(value, tuple):
        return ",".join(repr(v) for v in value)
    return repr(value)


@dataclass(frozen=True)
class TopologyConfig:
    az_count: int = 3  # [paper §3] availability zones in the region (a region has three)
    racks_per_az: int = 2  # [chosen] racks of storage hosts per AZ
    hosts_per_rack: int = 3  # [chosen] storage hosts per rack; each is a power domain
    routers_per_az: int = 1  # [chosen] request-router hosts per AZ
    # [chosen] request routers per AZ built out of service, for an
    # ``add_routers`` fault to bring in with cold caches (paper §6.6: adding
    # router capacity alone made metadata traffic spike by up to 75%)
    standby_routers_per_az: int = 0
    metadata_per_az: int = 1  # [chosen] metadata-table server hosts per AZ (paper §6.6)
    memds_per_az: int = 1  # [chosen] MemDS hosts per AZ, each with the whole map (paper §6.6)
    # [chosen] hosts of the global admission control fleet per AZ (paper §4.2:
    # GAC servers are hosts of their own); idle unless admission.policy is gac
    gac_servers_per_az: int = 1

    def __post_init__(self) -> None:
        _check_types("topology", self)
        if self.az_count < 3:
            raise ConfigError(
                f"topology.az_count must be at least 3 (replicas live in three AZs), got {self.az_count}"
            )
        _positive("topology", racks_per_az=self.racks_per_az, hosts_per_rack=self.hosts_per_rack,
                  routers_per_az=self.routers_per_az, metadata_per_az=self.metadata_per_az,
                  memds_per_az=self.memds_per_az)
        _non_negative("topology", gac_servers_per_az=self.gac_servers_per_az,
                      standby_routers_per_az=self.standby_routers_per_az)


@dataclass(frozen=True)
class NetworkConfig:
    # One-way latency is log-normal with this median and shape, by locality.
    same_host_latency_s: float = 0.00002  # [chosen] median one-way latency within a host
    same_az_latency_s: float = 0.00025  # [chosen] median one-way latency within an AZ
    cross_az_latency_s: float = 0.0008  # [chosen] median one-way latency between AZs ("single-digit ms")
    latency_sigma: float = 0.25  # [chosen] log-normal shape of one-way latency
    impair_delay_sigma: float = 0.5  # [chosen] log-normal shape of an impaired link's extra delay

    def __post_init__(self) -> None:
        _check_types("network", self)
        _positive("network", same_host_latency_s=self.same_host_latency_s,
                  same_az_latency_s=self.same_az_latency_s,
                  cross_az_latency_s=self.cross_az_latency_s)
        _non_negative("network", latency_sigma=self.latency_sigma,
                      impair_delay_sigma=self.impair_delay_sigma)


@dataclass(frozen=True)
class StorageConfig:
    service_time_s: float = 0.0003  # [chosen] a storage node's mean time per request (exponential)
    servers_per_node: int = 4  # [chosen] requests a storage node serves at once
    wal_persist_s: float = 0.0005  # [chosen] median time to persist one WAL record
    boot_s: float = 20.0  # [chosen] from power-on to serving, before WAL replay
    replay_per_record_s: float = 0.000002  # [chosen] WAL replay cost per record
    wal_persist_sigma: float = 0.3  # [chosen] log-normal shape of a WAL write's latency
    checkpoint_every_records: int = 1000  # [chosen] B-tree checkpoint interval, in applied records

    def __post_init__(self) -> None:
        _check_types("storage", self)
        _positive("storage", service_time_s=self.service_time_s,
                  servers_per_node=self.servers_per_node, wal_persist_s=self.wal_persist_s,
                  checkpoint_every_records=self.checkpoint_every_records)
        _non_negative("storage", boot_s=self.boot_s, replay_per_record_s=self.replay_per_record_s,
                      wal_persist_sigma=self.wal_persist_sigma)


@dataclass(frozen=True)
class ReplicationConfig:
    replicas: int = 3  # [paper §3] replicas per partition, one per AZ
    write_quorum: int = 2  # [paper §3] replicas that must accept a write (two of three)
    heartbeat_interval_s: float = 0.5  # [chosen] leader heartbeats, coalesced per host pair
    leader_timeout_s: float = 1.5  # [chosen] silence before a follower suspects the leader
    lease_s: float = 2.0  # [paper §6.2] a new leader waits "a couple of seconds"
    election_timeout_s: float = 0.5  # [chosen] a candidate's wait for promises
    election_backoff_s: float = 0.3  # [chosen] mean random back-off after a failed election
    catchup_batch: int = 2000  # [chosen] log entries per catch-up message

    def __post_init__(self) -> None:
        _check_types("replication", self)
        _positive("replication", replicas=self.replicas, write_quorum=self.write_quorum,
                  heartbeat_interval_s=self.heartbeat_interval_s,
                  leader_timeout_s=self.leader_timeout_s, lease_s=self.lease_s,
                  election_timeout_s=self.election_timeout_s,
                  election_backoff_s=self.election_backoff_s, catchup_batch=self.catchup_batch)
        if self.write_quorum > self.replicas:
            raise ConfigError(
                f"replication.write_quorum ({self.write_quorum}) cannot exceed "
                f"replication.replicas ({self.replicas})"
            )
        if 2 * self.write_quorum <= self.replicas:
            raise ConfigError(
                f"replication.write_quorum ({self.write_quorum}) must be a majority of "
                f"replication.replicas ({self.replicas}) so that any two quorums intersect"
            )
        if self.leader_timeout_s <= self.heartbeat_interval_s:
            raise ConfigError(
                "replication.leader_timeout_s must exceed replication.heartbeat_interval_s"
            )
        if self.lease_s <= self.heartbeat_interval_s:
            # a leader renews its lease with each heartbeat round: a shorter
            # lease runs out between two rounds and strong reads fail meanwhile
            raise ConfigError(
                f"replication.lease_s ({self.lease_s:g}) must exceed "
                f"replication.heartbeat_interval_s ({self.heartbeat_interval_s:g})"
            )


@dataclass(frozen=True)
class HealingConfig:
    log_replicas: bool = True  # [paper §5.1] heal with a log replica first
    detection_s: float = 5.0  # [chosen] unhealthy this long before the leader heals
    unarchived_wal_bytes: float = 300e6  # [paper §5.1] WAL a log replica copies ("a few hundred MB")
    partition_size_bytes: float = 10e9  # [docs] a partition holds up to ~10 GB
    log_copy_bytes_per_s: float = 100e6  # [chosen] WAL copy to a log replica: one in ~3 s ("seconds")
    rebuild_bytes_per_s: float = 40e6  # [chosen] B-tree copy to a storage replica: one in ~4 min
    retry_s: float = 10.0  # [chosen] wait before retrying when no host can take a replica
    bootstrap_timeout_s: float = 5.0  # [chosen] a leader's wait for a new replica to confirm its copy
    # [chosen] slack the healing check allows a log replica beyond detection + log copy +
    # rebuild (the copy's confirmation, a membership change's commit, a retry or two)
    check_margin_s: float = 30.0

    def __post_init__(self) -> None:
        _check_types("healing", self)
        _positive("healing", detection_s=self.detection_s,
                  unarchived_wal_bytes=self.unarchived_wal_bytes,
                  partition_size_bytes=self.partition_size_bytes,
                  log_copy_bytes_per_s=self.log_copy_bytes_per_s,
                  rebuild_bytes_per_s=self.rebuild_bytes_per_s, retry_s=self.retry_s,
                  bootstrap_timeout_s=self.bootstrap_timeout_s)
        _non_negative("healing", check_margin_s=self.check_margin_s)

    @property
    def log_copy_s(self) -> float:
        """How long copying the unarchived WAL to a log replica takes."""
        return self.unarchived_wal_bytes / self.log_copy_bytes_per_s

    @property
    def rebuild_s(self) -> float:
        """How long rebuilding a storage replica (copying the B-tree) takes."""
        return self.partition_size_bytes / self.rebuild_bytes_per_s


#: A table's capacity modes (paper §4, §4.5).
TABLE_MODES = ("provisioned", "on_demand")


@dataclass(frozen=True)
class TableConfig:
    name: str = "orders"  # [chosen] the table's name
    # [chosen] partitions of the table, each a replication group (as if split
    # for size: ~10 GB each); with admission control on, more when the
    # provisioned throughput needs more (doubling, paper §4)
    partitions: int = 16
    # [paper §4.5] provisioned (the rates below) or on_demand (twice the
    # previous peak, see admission.on_demand_*); matters with admission control on
    mode: str = "provisioned"
    provisioned_rcu: float = 3000.0  # [chosen] provisioned reads: 4 KB strong reads per second
    provisioned_wcu: float = 1000.0  # [chosen] provisioned writes: 1 KB writes per second

    def __post_init__(self) -> None:
        _check_types("table", self)
        if not self.name:
            raise ConfigError("table.name must not be empty")
        _positive("table", partitions=self.partitions, provisioned_rcu=self.provisioned_rcu,
                  provisioned_wcu=self.provisioned_wcu)
        if self.mode not in TABLE_MODES:
            raise ConfigError(f"table.mode must be one of {', '.join(TABLE_MODES)}, "
                              f"got {self.mode!r}")


@dataclass(frozen=True)
class RouterConfig:
    service_time_s: float = 0.0001  # [chosen] a router's mean time per request (exponential)
    servers_per_router: int = 8  # [chosen] requests a router serves at once
    request_timeout_s: float = 0.3  # [chosen] router's wait for a storage node
    max_redirects: int = 2  # [chosen] "not the leader" answers followed per request
    suspect_s: float = 30.0  # [chosen] how long a router avoids a storage host that timed out

    def __post_init__(self) -> None:
        _check_types("router", self)
        _positive("router", service_time_s=self.service_time_s,
                  servers_per_router=self.servers_per_router,
                  request_timeout_s=self.request_timeout_s)
        _non_negative("router", max_redirects=self.max_redirects, suspect_s=self.suspect_s)


#: The SDK retry modes a client can use (see ddbsim.lab.retry_modes).
RETRY_MODES = ("none", "standard", "standard_2026", "legacy", "adaptive")


@dataclass(frozen=True)
class ClientConfig:
    max_attempts: int = 3  # [sdk] attempts per operation, the first included (standard mode)
    base_backoff_s: float = 0.1  # [sdk] base of the full-jitter exponential back-off
    throttled_base_backoff_s: float = 0.5  # [sdk] back-off base after a throttled attempt
    max_backoff_s: float = 20.0  # [sdk] longest back-off between attempts
    retry_quota: int = 500  # [sdk] a client's retry token bucket
    retry_cost: int = 5  # [sdk] tokens per retry
    timeout_retry_cost: int = 10  # [sdk] tokens per retry after a timeout
    attempt_timeout_s: float = 1.0  # [chosen] client's wait for one attempt
    router_suspect_s: float = 30.0  # [chosen] a client avoids a router that timed out (its LB)
    # [sdk] the SDK retry mode (ddbsim.lab.retry_modes): none, standard (the
    # numbers above), standard_2026, legacy or adaptive
    retry_mode: str = "standard"

    def __post_init__(self) -> None:
        _check_types("client", self)
        _positive("client", max_attempts=self.max_attempts, base_backoff_s=self.base_backoff_s,
                  throttled_base_backoff_s=self.throttled_base_backoff_s,
                  max_backoff_s=self.max_backoff_s, attempt_timeout_s=self.attempt_timeout_s)
        _non_negative("client", router_suspect_s=self.router_suspect_s,
                      retry_quota=self.retry_quota, retry_cost=self.retry_cost,
                      timeout_retry_cost=self.timeout_retry_cost)
        if self.retry_mode not in RETRY_MODES:
            raise ConfigError(f"client.retry_mode must be one of {', '.join(RETRY_MODES)}, "
                              f"got {self.retry_mode!r}")


KEY_DISTRIBUTIONS = ("uniform", "zipf")
ITEM_SIZE_DISTRIBUTIONS = ("exponential", "fixed")


@dataclass(frozen=True)
class WorkloadConfig:
    rate_per_s: float = 100.0  # [chosen] client operations, open-loop Poisson, whole region
    clients_per_az: int = 2  # [chosen] client hosts per AZ sharing the rate
    get_strong: float = 0.25  # [chosen] share of strongly consistent reads in the mix
    get_eventual: float = 0.25  # [chosen] share of eventually consistent reads
    put: float = 0.40  # [chosen] share of puts
    cond_put: float = 0.05  # [chosen] share of conditional puts
    delete: float = 0.05  # [chosen] share of deletes
    key_count: int = 10_000  # [chosen] distinct keys the clients use
    key_distribution: str = "uniform"  # [chosen] how keys are picked: uniform or zipf
    zipf_exponent: float = 1.1  # [chosen] skew of the zipf key distribution
    item_size_bytes: float = 1000.0  # [chosen] mean item size (see item_size_distribution)
    # [chosen] item sizes: exponential with mean item_size_bytes, or fixed at it
    item_size_distribution: str = "exponential"
    canary_rate_per_s: float = 1.0  # [chosen] per AZ, strong reads and puts alternately

    def __post_init__(self) -> None:
        _check_types("workload", self)
        _non_negative("workload", rate_per_s=self.rate_per_s,
                      canary_rate_per_s=self.canary_rate_per_s, get_strong=self.get_strong,
                      get_eventual=self.get_eventual, put=self.put, cond_put=self.cond_put,
                      delete=self.delete)
        _positive("workload", clients_per_az=self.clients_per_az, key_count=self.key_count,
                  zipf_exponent=self.zipf_exponent, item_size_bytes=self.item_size_bytes)
        total = self.get_strong + self.get_eventual + self.put + self.cond_put + self.delete
        if abs(total - 1.0) > 1e-9:
            raise ConfigError(
                "workload.get_strong + get_eventual + put + cond_put + delete must sum to 1, "
                f"got {total:g}"
            )
        if self.key_distribution not in KEY_DISTRIBUTIONS:
            raise ConfigError(
                f"workload.key_distribution must be one of {', '.join(KEY_DISTRIBUTIONS)}, "
                f"got {self.key_distribution!r}"
            )
        if self.item_size_distribution not in ITEM_SIZE_DISTRIBUTIONS:
            raise ConfigError(
                "workload.item_size_distribution must be one of "
                f"{', '.join(ITEM_SIZE_DISTRIBUTIONS)}, got {self.item_size_distribution!r}"
            )


#: Admission control policies, each adding to the one before (paper §4):
#: none (nothing throttles), static (a table's provisioned rate divided evenly
#: over its partitions), bursting (+ burst and node buckets, §4.1.1), adaptive
#: (+ boosts for throttled partitions, §4.1.2), gac (global admission control
#: at the routers, partition buckets capped at the partition maximum, §4.2).
ADMISSION_POLICIES = ("none", "static", "bursting", "adaptive", "gac")


@dataclass(frozen=True)
class AdmissionConfig:
    """Admission control (``ddbsim.service.admission``): who may spend a
    table's capacity, and when a request is throttled."""

    policy: str = "none"  # [chosen] none, static, bursting, adaptive or gac (see ADMISSION_POLICIES)
    partition_max_rcu: float = 3000.0  # [docs] most reads a partition can serve per second
    partition_max_wcu: float = 1000.0  # [docs] most writes a partition can serve per second
    allocated_bucket_s: float = 1.0  # [chosen] a partition's allocated bucket holds this much of its rate
    burst_s: float = 300.0  # [paper §4.1.1] the burst bucket keeps up to 300 s of unused capacity
    node_rcu_per_s: float = 12000.0  # [chosen] a storage node's read bucket (all its partitions)
    node_wcu_per_s: float = 4000.0  # [chosen] a storage node's write bucket (all its partitions)
    node_bucket_s: float = 1.0  # [chosen] a node bucket holds this much of its rate
    adaptive_interval_s: float = 15.0  # [chosen] adaptive capacity's control period, per table
    adaptive_gain: float = 0.5  # [chosen] share of a throttled partition's shortfall boosted per period
    adaptive_headroom: float = 0.1  # [chosen] boost towards demand x (1 + this)
    adaptive_decrease_gain: float = 0.5  # [chosen] share of the table's excess taken back per period
    # [docs] an on-demand table starts as if its previous peak were this: it
    # serves twice as much at once (12,000 RCU, 4,000 WCU for a new table)
    on_demand_peak_rcu: float = 6000.0
    on_demand_peak_wcu: float = 2000.0  # [docs] (see on_demand_peak_rcu)
    on_demand_interval_s: float = 5.0  # [chosen] how often an on-demand table's peak is measured
    # [paper §4.4] split partitions for consumption (service/autoadmin/split.py):
    # one that stays hot is split at a point chosen from its key distribution
    split: bool = False
    # [chosen] hot: consumed + throttled above this share of the partition maximum
    split_threshold: float = 0.8
    split_hot_s: float = 30.0  # [chosen] a partition hot this long is split
    split_interval_s: float = 10.0  # [chosen] how often autoadmin looks at the partitions' load
    split_copy_s: float = 120.0  # [paper §4.4] a split takes "the order of minutes"
    split_single_key_share: float = 0.5  # [chosen] no split when one key has this share of the load
    # [chosen] no split when a period's keys share less of its load with the period before
    split_sequential_overlap: float = 0.1
    gac_refresh_s: float = 2.0  # [paper §4.2] a router asks GAC for tokens "every few seconds"
    gac_token_lifetime_s: float = 4.0  # [chosen] a router's tokens expire this long after their grant
    gac_bucket_s: float = 5.0  # [chosen] a GAC table bucket holds this much of the provisioned rate
    gac_low_water: float = 0.2  # [chosen] a router asks early below this share of its last grant
    gac_min_ask_s: float = 0.1  # [chosen] a router that ran out asks GAC at most this often
    gac_timeout_s: float = 0.25  # [chosen] a router's wait for a GAC server before the next one
    gac_suspect_s: float = 10.0  # [chosen] how long a router avoids a GAC server that timed out
    gac_demand_ttl_s: float = 10.0  # [chosen] a GAC server forgets a router silent this long

    def __post_init__(self) -> None:
        _check_types("admission", self)
        if self.policy not in ADMISSION_POLICIES:
            raise ConfigError(f"admission.policy must be one of {', '.join(ADMISSION_POLICIES)}, "
                              f"got {self.policy!r}")
        _positive("admission", partition_max_rcu=self.partition_max_rcu,
                  partition_max_wcu=self.partition_max_wcu,
                  allocated_bucket_s=self.allocated_bucket_s, node_rcu_per_s=self.node_rcu_per_s,
                  node_wcu_per_s=self.node_wcu_per_s, node_bucket_s=self.node_bucket_s,
                  adaptive_interval_s=self.adaptive_interval_s,
                  on_demand_peak_rcu=self.on_demand_peak_rcu,
                  on_demand_peak_wcu=self.on_demand_peak_wcu,
                  on_demand_interval_s=self.on_demand_interval_s,
                  split_threshold=self.split_threshold, split_interval_s=self.split_interval_s,
                  gac_refresh_s=self.gac_refresh_s, gac_token_lifetime_s=self.gac_token_lifetime_s,
                  gac_bucket_s=self.gac_bucket_s, gac_timeout_s=self.gac_timeout_s,
                  gac_min_ask_s=self.gac_min_ask_s,
                  gac_demand_ttl_s=self.gac_demand_ttl_s)
        _non_negative("admission", burst_s=self.burst_s, adaptive_gain=self.adaptive_gain,
                      adaptive_headroom=self.adaptive_headroom,
                      adaptive_decrease_gain=self.adaptive_decrease_gain,
                      gac_suspect_s=self.gac_suspect_s, split_hot_s=self.split_hot_s,
                      split_copy_s=self.split_copy_s)
        for name in ("adaptive_gain", "adaptive_decrease_gain", "gac_low_water",
                     "split_single_key_share", "split_sequential_overlap"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"admission.{name} must be between 0 and 1, "
                                  f"got {getattr(self, name)}")
        if self.gac_token_lifetime_s < self.gac_refresh_s:
            raise ConfigError(f"admission.gac_token_lifetime_s ({self.gac_token_lifetime_s:g}) "
                              f"must be at least admission.gac_refresh_s ({self.gac_refresh_s:g}): "
                              "tokens would expire before the next refresh")


@dataclass(frozen=True)
class MetricsConfig:
    # [chosen] collect the performance figures: client outcomes and latency per
    # window, partition error spans, canaries, server-side counts.  Off, the
    # result's requests, availability, latency_ms, partition_errors, canaries,
    # server and alarms are null; what the checks need (leaders, leases,
    # healing, the write ledger, the history) is observed either way.
    enabled: bool = True
    window_s: float = 300.0  # [paper §6.3] availability per 5-minute window
    # [chosen] with admission control on, throttling, consumed capacity and
    # bucket levels are sampled this often (the admission time series)
    series_s: float = 5.0
    alarm_error_rate: float = 0.01  # [chosen] a window above this error rate raises an alarm
    history: bool = False  # [chosen] record every client operation (invoke/ok/fail/info)
    # [chosen] width of the buckets of the result's traffic time series (client
    # attempts and goodput, load on the metadata table and on MemDS, router
    # cache misses, per second); 0 records none
    traffic_series_s: float = 0.0

    def __post_init__(self) -> None:
        _check_types("metrics", self)
        _positive("metrics", window_s=self.window_s, series_s=self.series_s)
        _non_negative("metrics", traffic_series_s=self.traffic_series_s)
        if not 0 <= self.alarm_error_rate <= 1:
            raise ConfigError(
                f"metrics.alarm_error_rate must be between 0 and 1, got {self.alarm_error_rate}"
            )


@dataclass(frozen=True)
class RunConfig:
    quiesce_s: float = 30.0  # [chosen] after healing, before the final reads
    # [chosen] after healing, every partition must elect a leader and serve a
    # strong read within this: boot (storage.boot_s, 20 s) + WAL replay + the
    # lease a rebooted acceptor waits out (2 s) + a few election rounds.
    liveness_bound_s: float = 40.0
    liveness_retry_s: float = 0.5  # [chosen] the liveness probe's wait before re-reading a partition
    final_read_timeout_s: float = 120.0  # [chosen] how long the final reads of every key may take
    final_read_window: int = 64  # [chosen] strong reads in flight at once (final reads, liveness probe)
    final_read_retry_s: float = 0.5  # [chosen] wait before retrying a failed final read
    # [chosen] after the final reads, let the last commit points reach every
    # follower before the convergence check: 4 heartbeats at the default
    # replication.heartbeat_interval_s (0.5 s); raise it with the heartbeat.
    commit_settle_s: float = 2.0
    # [chosen] TigerBeetle's liveness phase: the heal leaves a minority of
    # storage hosts down (as much of one AZ as every group can spare: at most
    # one member of each group, never a group's last storage replica) until
    # the liveness probe is done; then they come back for the final reads.
    liveness_minority_down: bool = False

    def __post_init__(self) -> None:
        _check_types("run", self)
        _non_negative("run", quiesce_s=self.quiesce_s, commit_settle_s=self.commit_settle_s)
        _positive("run", liveness_bound_s=self.liveness_bound_s,
                  liveness_retry_s=self.liveness_retry_s,
                  final_read_timeout_s=self.final_read_timeout_s,
                  final_read_window=self.final_read_window,
                  final_read_retry_s=self.final_read_retry_s)


#: The kinds of fault the nemesis can draw (see ddbsim.lab.nemesis).
NEMESIS_KINDS = ("host_power", "rack_power", "az_power", "router_power", "az_cut", "host_cut",
                 "slow_host", "loss", "delay",
                 # correlated power, crash-restart blips and message faults
                 # (drawn from a stream of their own: see ddbsim.lab.nemesis)
                 "group_power", "row_power", "region_power", "blip", "duplicate", "reorder",
                 "stale")


@dataclass(frozen=True)
class NemesisConfig:
    """The random fault schedule of ``ddbsim.lab.nemesis`` (game_day, chaos)."""

    # Keep every moment's hard faults (power, cuts, slow hosts) in one AZ:
    # the design promises to survive one AZ's worth of replicas down.
    bounded: bool = True  # [chosen] at most one AZ's worth of hard faults at a time
    kinds: str = "all"  # [chosen] the fault kinds the swarm draws from: all, or a comma list
    enable_p: float = 0.5  # [chosen] chance that the swarm enables each kind
    start_s: float = 10.0  # [chosen] quiet warm-up before the first fault
    end_s: float = 150.0  # [chosen] no fault starts after this
    # Ranges lo,hi (``--set nemesis.host_power_s=1,60``).  How long a fault of
    # each kind lasts, ``<kind>_s``: uniform between lo and hi, in s.  Host and
    # rack outages straddle the failure-detection time (healing.detection_s,
    # 5 s), so some are healed by a reboot and some by a replacement replica.
    host_power_s: Range = (1.0, 60.0)  # [chosen] how long a host power-off lasts
    rack_power_s: Range = (2.0, 60.0)  # [chosen] how long a rack power-off lasts
    az_power_s: Range = (5.0, 60.0)  # [chosen] how long an AZ power-off lasts
    router_power_s: Range = (2.0, 60.0)  # [chosen] how long a router power-off lasts
    az_cut_s: Range = (1.0, 40.0)  # [chosen] how long an AZ network cut lasts
    host_cut_s: Range = (1.0, 40.0)  # [chosen] how long a host network cut lasts
    slow_host_s: Range = (5.0, 60.0)  # [chosen] how long a host stays slow
    loss_s: Range = (2.0, 40.0)  # [chosen] how long a message-loss fault lasts
    delay_s: Range = (2.0, 40.0)  # [chosen] how long a delay fault lasts (see extra_delay_s)
    mean_gap_s: Range = (15.0, 90.0)  # [chosen] mean time between faults of a kind, log-uniform
    # [chosen] the same for the newer kinds (group_power ... stale): a whole
    # region powered off every 20 s would leave little else to see
    chaos_mean_gap_s: Range = (30.0, 180.0)
    slowdown: Range = (5.0, 200.0)  # [chosen] how many times slower a slow host runs, log-uniform
    loss: Range = (0.01, 0.30)  # [chosen] probability a lossy link loses a message, uniform
    extra_delay_s: Range = (0.005, 0.200)  # [chosen] median extra delay of a delay fault, log-uniform
    # Correlated power: every replica of one group, a rack row across the AZs,
    # or the whole region loses power at once; the hosts come back one by one,
    # in a random order, over ``power_back_s`` after the outage's length.
    group_power_s: Range = (1.0, 30.0)  # [chosen] how long a replication group's power-off lasts
    row_power_s: Range = (1.0, 30.0)  # [chosen] how long a rack row's power-off lasts
    region_power_s: Range = (1.0, 30.0)  # [chosen] how long a region-wide power-off lasts
    power_back_s: Range = (0.0, 30.0)  # [chosen] a host's power returns this late after the outage, uniform
    # A crash-restart blip: the next storage host to pass a protocol step
    # (promised, accepted, acknowledged a write...) after the blip is armed
    # loses power at once, for this long (log-uniform).
    blip_s: Range = (0.001, 3.0)  # [chosen] how long a blip's power-off lasts, log-uniform
    duplicate_s: Range = (2.0, 40.0)  # [chosen] how long a duplicating fault lasts
    reorder_s: Range = (2.0, 40.0)  # [chosen] how long a reordering fault lasts
    stale_s: Range = (2.0, 40.0)  # [chosen] how long a stale-message fault lasts
    duplicate: Range = (0.01, 0.30)  # [chosen] probability a message is delivered twice, uniform
    reorder_window_s: Range = (0.005, 0.500)  # [chosen] extra delay uniform in [0, window]; log-uniform
    stale: Range = (0.001, 0.05)  # [chosen] probability a message is held back, uniform
    stale_hold_s: Range = (2.0, 20.0)  # [chosen] how long a held message waits (past an election), uniform
    # Buggify (FoundationDB): each seed enables each fault point inside the
    # service (ddbsim.service.fault_points) with this chance; an enabled point
    # fires with a probability drawn from buggify_fire_p and delays its step by
    # up to a length drawn from buggify_delay_s (both log-uniform).
    buggify_enable_p: float = 0.25  # [chosen] chance that a seed enables each fault point
    buggify_fire_p: Range = (0.01, 0.2)  # [chosen] how often an enabled point fires, log-uniform
    buggify_delay_s: Range = (0.001, 2.0)  # [chosen] the most an enabled point delays, log-uniform
    # [chosen] silent corruptions (bit rot) in the schedule, at uniform random
    # times between start_s and end_s; bounded, all on hosts of one AZ (so at
    # most one replica of any partition is ever corrupt)
    bit_rot: int = 0
    bit_rot_what: str = "item,wal"  # [chosen] what bit rot hits: item, wal, or item,wal

    def __post_init__(self) -> None:
        _check_types("nemesis", self)
        _non_negative("nemesis", start_s=self.start_s)
        if not math.isfinite(self.end_s):
            raise ConfigError(f"nemesis.end_s must be finite, got {self.end_s}")
        for kind in NEMESIS_KINDS:
            if not self.duration_range(kind)[0] > 0:
                raise ConfigError(f"nemesis.{kind}_s must be above 0 s, got "
                                  f"{format_value(self.duration_range(kind))}")
        # Drawn mean gaps are rounded to the ms: a zero one would never end.
        if not self.chaos_mean_gap_s[0] >= 0.001:
            raise ConfigError(f"nemesis.chaos_mean_gap_s must be at least 0.001 s, got "
                              f"{format_value(self.chaos_mean_gap_s)}")
        if not self.mean_gap_s[0] >= 0.001:
            raise ConfigError(f"nemesis.mean_gap_s must be at least 0.001 s, got "
                              f"{format_value(self.mean_gap_s)}")
        if not self.slowdown[0] >= 1.0:
            raise ConfigError(f"nemesis.slowdown must be at least 1 (times slower), got "
                              f"{format_value(self.slowdown)}")
        if not self.loss[1] <= 1.0:
            raise ConfigError(f"nemesis.loss is a probability, at most 1, got "
                              f"{format_value(self.loss)}")
        for name in ("duplicate", "stale"):
            if not (0.0 <= getattr(self, name)[0] and getattr(self, name)[1] <= 1.0):
                raise ConfigError(f"nemesis.{name} is a probability, between 0 and 1, got "
                                  f"{format_value(getattr(self, name))}")
        _non_negative("nemesis", power_back_s=self.power_back_s[0],
                      stale_hold_s=self.stale_hold_s[0])
        if not (self.reorder_window_s[0] > 0 and self.blip_s[0] > 0):
            raise ConfigError(f"nemesis.reorder_window_s and nemesis.blip_s must be above 0 s "
                              f"(drawn log-uniform), got {format_value(self.reorder_window_s)} and "
                              f"{format_value(self.blip_s)}")
        if not self.extra_delay_s[0] > 0:
            raise ConfigError(f"nemesis.extra_delay_s must be above 0 s (it is drawn "
                              f"log-uniform), got {format_value(self.extra_delay_s)}")
        if not self.end_s > self.start_s:
            raise ConfigError(f"nemesis.end_s ({self.end_s}) must be after nemesis.start_s "
                              f"({self.start_s})")
        if not 0.0 <= self.buggify_enable_p <= 1.0:
            raise ConfigError(f"nemesis.buggify_enable_p is a probability, got "
                              f"{self.buggify_enable_p}")
        if not (0.0 < self.buggify_fire_p[0] and self.buggify_fire_p[1] <= 1.0
                and self.buggify_delay_s[0] > 0):
            raise ConfigError(f"nemesis.buggify_fire_p must be in (0, 1] and "
                              f"nemesis.buggify_delay_s above 0 s, got "
                              f"{format_value(self.buggify_fire_p)} and "
                              f"{format_value(self.buggify_delay_s)}")
        if not 0.0 < self.enable_p <= 1.0:
            raise ConfigError(f"nemesis.enable_p must be in (0, 1], got {self.enable_p}")
        _non_negative("nemesis", bit_rot=self.bit_rot)
        whats = [w.strip() for w in self.bit_rot_what.split(",") if w.strip()]
        if not whats or any(w not in ("item", "wal") for w in whats):
            raise ConfigError(f"nemesis.bit_rot_what: use item, wal or item,wal; "
                              f"got {self.bit_rot_what!r}")
        unknown = [k for k in self.kind_list() if k not in NEMESIS_KINDS]
        if unknown or not self.kind_list():
            raise ConfigError(f"nemesis.kinds: unknown {', '.join(unknown) or 'empty list'}; use "
                              f"'all' or a comma-separated list of {', '.join(NEMESIS_KINDS)}")

    def duration_range(self, kind: str) -> Range:
        """How long a fault of this kind lasts: the field ``<kind>_s``."""
        value: Range = getattr(self, f"{kind}_s")
        return value

    def kind_list(self) -> tuple[str, ...]:
        if self.kinds.strip() == "all":
            return NEMESIS_KINDS
        return tuple(k.strip() for k in self.kinds.split(",") if k.strip())


@dataclass(frozen=True)
class ChurnConfig:
    """Every storage host fails and returns on its own, as a Poisson process
    (``ddbsim.lab.churn``, ``scenarios/host_churn.py``)."""

    # [chosen] mean up time between power losses, per host: with 18 storage
    # hosts, a loss every ~100 s somewhere, so an hour shows the effect in
    # minutes of wall time
    mtbf_s: float = 1800.0
    off_s: float = 120.0  # [chosen] mean time a host stays off (longer than healing.detection_s)

    def __post_init__(self) -> None:
        _check_types("churn", self)
        _positive("churn", mtbf_s=self.mtbf_s, off_s=self.off_s)


#: Seconds in a (Julian) year, the fast failure model's unit of time for rates.
YEAR_S = 365.25 * 86400.0
#: How the fast failure model draws its outage and repair durations.
NINES_DURATIONS = ("calibrated", "derived")
NINES_DISTRIBUTIONS = ("fixed", "exponential")
NINES_PLACEMENTS = ("az", "random")


@dataclass(frozen=True)
class NinesConfig:
    """The fast failure-level model of a region-year (``ddbsim.lab.nines``):
    component failure rates, the durations it draws, what it measures."""

    # [chosen] the fast model's own horizon: one region-year
    horizon_s: float = YEAR_S
    # [Ford et al. OSDI'10] node failures: a node MTTF of ~4.3 months (12 / 4.3 a year)
    host_failures_per_year: float = 2.79
    # [chosen] mean time a failed host stays down (Ford et al. OSDI'10: most node
    # unavailability events are short restarts, under ~15 min)
    host_off_s: float = 600.0
    # [Ford et al. OSDI'10] the share of node failures that come in bursts (37%)
    burst_fraction: float = 0.37
    burst_window_s: float = 120.0  # [Ford et al. OSDI'10] a burst's failures fall within 2 minutes
    # [chosen] mean hosts per burst (at least 2; geometric above 1)
    burst_mean_hosts: float = 8.0
    # [chosen] share of bursts confined to one rack (Ford et al.: bursts are often
    # rack-correlated); the others hit hosts anywhere in the region
    burst_rack_share: float = 0.5
    # [Ford et al. OSDI'10] rack failures: a rack MTTF of ~10 years
    rack_failures_per_year: float = 0.1
    rack_off_s: float = 3600.0  # [chosen] mean time a failed rack stays down
    # [Schroeder & Gibson FAST'07; Backblaze] disk annual failure rate, 1.5-4%: the
    # host's data is lost
    disk_afr: float = 0.02
    host_replace_s: float = 86400.0  # [chosen] a host whose disk failed returns empty after this
    # [chosen] AZ-wide power events per region-year (nothing public: a plausible rate)
    az_events_per_year: float = 0.2
    az_off_s: float = 3600.0  # [chosen] mean length of an AZ power event
    # [chosen] age of the newest write the WAL archive holds (until the archiver lands);
    # writes younger than this exist only on the replicas
    archive_lag_s: float = 300.0
    archive: bool = True  # [chosen] a lost B-tree is restored from the archive plus a WAL copy
    # [chosen] calibrated (measured by short detailed runs, cached) or derived (from
    # the detailed model's config, no runs)
    durations: str = "calibrated"
    # [chosen] outage and repair durations: fixed at their means, or exponential with
    # those means (the Markov model's assumption; cross-check a)
    distribution: str = "fixed"
    placement: str = "az"  # [paper §3] one replica per AZ (az), or any distinct hosts (random)
    calibration_seed: int = 1  # [chosen] the seed of the detailed calibration runs
    # [chosen] simulated seconds of each detailed calibration run
    calibration_duration_s: float = 1800.0
    # [chosen] host MTBF of the calibration runs: accelerated so that a short run
    # holds many failures, but not so much that failures overlap often (at 600 s
    # the mean failover doubles, from 2.2 s to 4.1 s: elections during other outages)
    calibration_mtbf_s: float = 1800.0

    def __post_init__(self) -> None:
        _check_types("nines", self)
        _positive("nines", horizon_s=self.horizon_s, host_off_s=self.host_off_s,
                  burst_window_s=self.burst_window_s, rack_off_s=self.rack_off_s,
                  host_replace_s=self.host_replace_s, az_off_s=self.az_off_s,
                  calibration_duration_s=self.calibration_duration_s,
                  calibration_mtbf_s=self.calibration_mtbf_s)
        _non_negative("nines", host_failures_per_year=self.host_failures_per_year,
                      rack_failures_per_year=self.rack_failures_per_year,
                      disk_afr=self.disk_afr, az_events_per_year=self.az_events_per_year,
                      archive_lag_s=self.archive_lag_s,
                      calibration_seed=self.calibration_seed)
        if not 0 <= self.burst_fraction < 1:
            raise ConfigError(f"nines.burst_fraction must be at least 0 and below 1, got "
                              f"{self.burst_fraction}")
        if not 0 <= self.burst_rack_share <= 1:
            raise ConfigError(f"nines.burst_rack_share must be between 0 and 1, got "
                              f"{self.burst_rack_share}")
        if not self.burst_mean_hosts >= 2:
            raise ConfigError(f"nines.burst_mean_hosts must be at least 2 (a burst is two or "
                              f"more failures), got {self.burst_mean_hosts}")
        for name, choices in (("durations", NINES_DURATIONS),
                              ("distribution", NINES_DISTRIBUTIONS),
                              ("placement", NINES_PLACEMENTS)):
            if getattr(self, name) not in choices:
                raise ConfigError(f"nines.{name} must be one of {', '.join(choices)}, "
                                  f"got {getattr(self, name)!r}")


@dataclass(frozen=True)
class DurabilityConfig:
    """Checksummed WAL archived to the object store, and the scrub
    (``ddbsim.service.storage.archiver``, ``ddbsim.service.storage.scrub``,
    ``ddbsim.service.object_store``)."""

    # [paper §5.1] archive every replica's WAL to the object store and trim
    # what is archived (a log replica then holds only the unarchived tail)
    archive: bool = True
    archive_interval_s: float = 10.0  # [chosen] how often a host archives its replicas' WAL
    segment_max_records: int = 5000  # [chosen] most records one archived segment holds
    # [chosen] archived records kept on a replica below the archive's head (recent
    # history for catch-up), beyond what the B-tree checkpoint needs
    keep_archived_records: int = 200
    object_store_latency_s: float = 0.02  # [chosen] median time the object store takes per request
    object_store_sigma: float = 0.3  # [chosen] log-normal shape of the object store's time
    # [chosen] archived records per partition the store keeps as segments before
    # folding them into its reference replica (a snapshot)
    store_segment_records: int = 2000
    # [docs] point-in-time recovery (PITR): the archive keeps snapshots and
    # records so that a table can be restored as of any instant of the
    # window; off by default, as DynamoDB's is enabled per table
    pitr: bool = False
    # [chosen] how far back a restore may go.  DynamoDB keeps 35 days [docs];
    # a simulated run lasts minutes to an hour, so 35 days would keep every
    # record of any run.  30 simulated minutes covers the scenarios' runs and,
    # beyond it, the store keeps a window's records whatever the run's length
    pitr_window_s: float = 1800.0
    # [chosen] the store snapshots a partition (its reference B-tree) every this
    # many archived records: a restore replays at most this many records on
    # top of a snapshot, and records below the oldest snapshot kept are dropped
    snapshot_every_records: int = 1000
    scrub: bool = True  # [paper §5] continuously verify the data at rest
    scrub_interval_s: float = 60.0  # [chosen] how often a host scrubs each partition it leads
    # [chosen] the most scrubs a host starts per second: the scrub is background
    # work bounded so it never competes with traffic, so a host that leads more
    # partitions than this allows in an interval scrubs them in turn, less often
    scrub_partitions_per_s: float = 0.2
    scrub_per_item_s: float = 0.00001  # [chosen] disk time the scrub spends reading one item
    scrub_ranges: int = 8  # [chosen] key ranges a scrub compares (and reports) separately

    def __post_init__(self) -> None:
        _check_types("durability", self)
        _positive("durability", archive_interval_s=self.archive_interval_s,
                  segment_max_records=self.segment_max_records,
                  object_store_latency_s=self.object_store_latency_s,
                  store_segment_records=self.store_segment_records,
                  pitr_window_s=self.pitr_window_s,
                  snapshot_every_records=self.snapshot_every_records,
                  scrub_interval_s=self.scrub_interval_s, scrub_ranges=self.scrub_ranges,
                  scrub_partitions_per_s=self.scrub_partitions_per_s)
        _non_negative("durability", keep_archived_records=self.keep_archived_records,
                      object_store_sigma=self.object_store_sigma,
                      scrub_per_item_s=self.scrub_per_item_s)
ROUTE_CACHES = ("direct", "bimodal", "constant_work")


@dataclass(frozen=True)
class RoutingConfig:
    """How request routers learn where a key lives (paper §6.6): the
    router cache and the routing metadata servers behind it
    (:mod:`ddbsim.service.routing.route_cache`,
    :mod:`ddbsim.service.metadata.metadata_table`,
    :mod:`ddbsim.service.metadata.memds`)."""

    # [chosen] the router cache: direct (the authoritative map read in zero
    # time, the idealised router of the earlier model), bimodal (paper §6.6,
    # the original design: whole-table downloads from the metadata table on a
    # miss) or constant_work (paper §6.6, MemDS: an asynchronous MemDS lookup
    # on every request).  direct stays the default until constant_work has
    # been through the chaos seeds; choose the others to study routing.
    cache: str = "direct"
    # [chosen] how long a bimodal router trusts a downloaded table before its
    # next request misses; tuned so the steady hit rate is about 99.75%
    # (paper §6.6): each expiry costs the requests that arrive during one
    # download (0.32 s for the default 16 partitions, plus the network), so
    # the hit rate is about 1 - 0.4 s / ttl_s, whatever the request rate
    bimodal_ttl_s: float = 160.0
    # [chosen] a bimodal router gives up on a download (the request waiting
    # for it is answered unavailable; a late answer is discarded)
    lookup_timeout_s: float = 0.5
    # [chosen] a constant-work router sends its MemDS lookups every this
    # often, as one batch (the model keeps MemDS load per lookup: see
    # ddbsim.service.routing.cache_constant_work)
    memds_batch_s: float = 0.02
    # [chosen] a constant-work router waits this long for MemDS before it
    # sends a missed lookup to another MemDS server
    memds_timeout_s: float = 0.1
    metadata_servers: int = 4  # [chosen] request handlers per metadata-table host (the table's capacity)
    # [chosen] time a metadata-table handler spends per partition row of a
    # whole-table download (a download of 16 partitions: 0.32 s)
    metadata_row_s: float = 0.02
    memds_servers: int = 4  # [chosen] lookups a MemDS host serves at once
    memds_lookup_s: float = 0.00005  # [chosen] a MemDS host's mean time per floor lookup (exponential)
    # [chosen] a membership or leader change reaches every MemDS host this
    # long after the storage node pushes it ("eventually", within ~100 ms)
    memds_propagation_s: float = 0.1
    # [chosen] every this often each MemDS host re-reads the whole map from the
    # metadata table (anti-entropy: a push it missed -- a cut, a reboot --
    # is mended within this)
    memds_refresh_s: float = 10.0

    def __post_init__(self) -> None:
        _check_types("routing", self)
        if self.cache not in ROUTE_CACHES:
            raise ConfigError(f"routing.cache must be one of {', '.join(ROUTE_CACHES)}, "
                              f"got {self.cache!r}")
        _positive("routing", bimodal_ttl_s=self.bimodal_ttl_s,
                  lookup_timeout_s=self.lookup_timeout_s, memds_batch_s=self.memds_batch_s,
                  memds_timeout_s=self.memds_timeout_s, metadata_servers=self.metadata_servers,
                  metadata_row_s=self.metadata_row_s, memds_servers=self.memds_servers,
                  memds_lookup_s=self.memds_lookup_s, memds_refresh_s=self.memds_refresh_s)
        _non_negative("routing", memds_propagation_s=self.memds_propagation_s)


@dataclass(frozen=True)
class Config:
    topology: TopologyConfig = field(default_factory=TopologyConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    replication: ReplicationConfig = field(default_factory=ReplicationConfig)
    healing: HealingConfig = field(default_factory=HealingConfig)
    table: TableConfig = field(default_factory=TableConfig)
    router: RouterConfig = field(default_factory=RouterConfig)
    client: ClientConfig = field(default_factory=ClientConfig)
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    run: RunConfig = field(default_factory=RunConfig)
    nemesis: NemesisConfig = field(default_factory=NemesisConfig)
    churn: ChurnConfig = field(default_factory=ChurnConfig)
    nines: NinesConfig = field(default_factory=NinesConfig)
    durability: DurabilityConfig = field(default_factory=DurabilityConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)

    def __post_init__(self) -> None:
        _check_types("", self)
        if self.replication.replicas > self.topology.az_count:
            raise ConfigError(
                f"replication.replicas ({self.replication.replicas}) cannot exceed "
                f"topology.az_count ({self.topology.az_count}): replicas live in different AZs"
            )
        if self.admission.split and self.admission.policy == "none":
            raise ConfigError("admission.split needs admission control: set admission.policy "
                              "(gac splits best: its partitions are capped at the maximum, "
                              "not at a share)")
        if self.admission.policy == "gac" and self.topology.gac_servers_per_az < 1:
            raise ConfigError("admission.policy=gac needs GAC servers: set "
                              "topology.gac_servers_per_az to 1 or more")

    # -- views -----------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    @staticmethod
    def keys() -> list[str]:
        """Every valid dotted key, in declaration order."""
        out = []
        for section in fields(Config):
            for f in fields(section.default_factory()):  # type: ignore[misc,operator]
                out.append(f"{section.name}.{f.name}")
        return out

    # -- overrides -------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """A new Config with dotted-key overrides applied and validated.

        Values may be given as strings (from the command line); they are
        parsed to the field's type.  Other values are type-checked by the
        section (see the module docstring).
        """
        sections: dict[str, dict[str, Any]] = {}
        valid = self.keys()
        for key, raw in overrides.items():
            if key not in valid:
                raise ConfigError(_unknown_key_message(key, valid))
            section_name, field_name = key.split(".", 1)
            section_cls: type = type(getattr(self, section_name))
            kind = _field_kinds(section_cls)[field_name]
            sections.setdefault(section_name, {})[field_name] = _coerce(key, raw, kind)
        replaced = {name: dataclasses.replace(getattr(self, name), **changes)
                    for name, changes in sections.items()}
        return dataclasses.replace(self, **replaced)


def _unknown_key_message(key: str, valid: list[str]) -> str:
    leaf = {k.split(".", 1)[1]: k for k in valid}
    close: list[str] = []
    if "." not in key:
        # The section was left off: "lease_s" -> "replication.lease_s".
        near = difflib.get_close_matches(key, list(leaf), n=1, cutoff=0.6)
        close = [leaf[near[0]]] if near else []
    if not close:
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    if not close:
        near = difflib.get_close_matches(key.split(".")[-1], list(leaf), n=1, cutoff=0.6)
        close = [leaf[near[0]]] if near else []
    hint = f"; did you mean '{close[0]}'?" if close else "; see 'ddbsim keys' for the list"
    return f"unknown config key '{key}'{hint}"


def _coerce(key: str, raw: Any, kind: Any) -> Any:
    """Parse command-line text to a field of this kind; other values pass
    through, to be type-checked by their section."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    wrong = ConfigError(f"{key} takes {_kind_name(kind)}, got {raw!r}")
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            return float(text)
        if kind == _RANGE:
            return _parse_range(text)
    except ValueError:
        raise wrong from None
    return text


def parse_text(name: str, text: str, kind: type) -> Any:
    """Command-line text as a value of ``kind`` (int, float, bool or str), as
    ``--set`` parses it; a ConfigError naming ``name`` if it is not one."""
    return _coerce(name, text, kind)


def _parse_range(text: str) -> tuple[float, float]:
    """``"1,60"``, ``"1:60"``, ``"(1, 60)"`` or ``"[1, 60]"`` -> ``(1.0, 60.0)``;
    ValueError if it is not two numbers."""
    if text[:1] + text[-1:] in ("()", "[]"):
        text = text[1:-1]
    sep = "," if "," in text else ":"
    parts = text.split(sep)
    if len(parts) != 2:
        raise ValueError(text)
    lo, hi = (float(part) for part in parts)  # float() takes surrounding spaces
    return lo, hi


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parse ``["a.b=1", ...]`` from the command line into a dict."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


# -- what each key means: for ``ddbsim keys`` -----------------------------
@dataclass(frozen=True)
class KeyDoc:
    """A config key as ``ddbsim keys`` shows it: its default, unit, provenance
    tag (``[paper §N]``, ``[docs]``, ``[sdk]``, ``[chosen]``) and meaning, the
    last two read from the comment on (or just above) its field."""

    key: str
    default: Any
    unit: str
    provenance: str
    meaning: str


#: Units of keys whose name has no unit suffix (``-``: a pure number).
_UNITS: dict[str, str] = {
    "network.latency_sigma": "-", "network.impair_delay_sigma": "-",
    "storage.wal_persist_sigma": "-", "replication.catchup_batch": "entries",
    "client.retry_quota": "tokens", "client.retry_cost": "tokens",
    "client.timeout_retry_cost": "tokens",
    "workload.get_strong": "fraction", "workload.get_eventual": "fraction",
    "workload.put": "fraction", "workload.cond_put": "fraction", "workload.delete": "fraction",
    "workload.key_count": "keys", "workload.zipf_exponent": "-",
    "metrics.alarm_error_rate": "fraction", "run.final_read_window": "requests",
    "table.provisioned_rcu": "RCU (4 KB strong reads/s)",
    "table.provisioned_wcu": "WCU (1 KB writes/s)",
    "admission.partition_max_rcu": "RCU (4 KB strong reads/s)",
    "admission.partition_max_wcu": "WCU (1 KB writes/s)",
    "admission.node_rcu_per_s": "RCU (4 KB strong reads/s)",
    "admission.node_wcu_per_s": "WCU (1 KB writes/s)",
    "admission.on_demand_peak_rcu": "RCU (4 KB strong reads/s)",
    "admission.on_demand_peak_wcu": "WCU (1 KB writes/s)",
    "admission.adaptive_gain": "fraction", "admission.adaptive_headroom": "fraction",
    "admission.adaptive_decrease_gain": "fraction", "admission.gac_low_water": "fraction",
    "admission.split_threshold": "fraction", "admission.split_single_key_share": "fraction",
    "admission.split_sequential_overlap": "fraction",
    "nemesis.slowdown": "x slower", "nemesis.loss": "probability",
    "nines.host_failures_per_year": "/year", "nines.rack_failures_per_year": "/year",
    "nines.az_events_per_year": "/year", "nines.disk_afr": "/year",
    "nines.burst_fraction": "fraction", "nines.burst_rack_share": "fraction",
    "nines.burst_mean_hosts": "hosts",
    "durability.object_store_sigma": "-", "durability.segment_max_records": "records",
    "durability.store_segment_records": "records", "durability.keep_archived_records": "records",
    "durability.scrub_ranges": "ranges", "nemesis.bit_rot": "corruptions",
    "nemesis.duplicate": "probability", "nemesis.stale": "probability",
    "nemesis.buggify_fire_p": "probability",
}
#: Unit suffixes of key names, longest first.
_UNIT_SUFFIXES = (("_bytes_per_s", "bytes/s"), ("_per_s", "/s"), ("_bytes", "bytes"),
                  ("_records", "records"), ("_s", "s"), ("_p", "probability"))
#: Published measurements a default may cite by name (the fast failure model's rates).
LITERATURE = ("Ford et al. OSDI'10", "Schroeder & Gibson FAST'07; Backblaze")
_TAG = re.compile(r"^\[(paper §[\d.]+|docs|sdk|chosen|"
                  + "|".join(re.escape(x) for x in LITERATURE) + r")\]\s*")


def unit_of(key: str) -> str:
    """A key's unit: explicit, else from its name's suffix, else from its type
    (an int is a count; a bool is on/off; a str is text)."""
    if key in _UNITS:
        return _UNITS[key]
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            return unit
    section, name = key.split(".", 1)
    section_cls: type = type(getattr(Config(), section))
    kind = _field_kinds(section_cls)[name]
    return {int: "count", bool: "on/off", str: "text"}.get(kind, "")


def _field_comments(cls: type) -> dict[str, tuple[str, str]]:
    """Each field of a section class -> (its trailing comment, the comment
    block just above it), from the source; empty when there is no source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # pragma: no cover - no source (a frozen build)
        return {}
    comments = {tok.start[0]: (tok.string.lstrip("#").strip(), tok.line.lstrip().startswith("#"))
                for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    out = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            trailing = comments.get(node.lineno, ("", False))
            block: list[str] = []
            line = node.lineno - 1
            while line in comments and comments[line][1]:
                block.insert(0, comments[line][0])
                line -= 1
            out[node.target.id] = ("" if trailing[1] else trailing[0], " ".join(block))
    return out


def key_docs() -> list[KeyDoc]:
    """Every config key, in declaration order, with its default, unit,
    provenance and meaning."""
    cfg = Config()
    out = []
    for section in fields(Config):
        obj = getattr(cfg, section.name)
        comments = _field_comments(type(obj))
        for f in fields(obj):
            key = f"{section.name}.{f.name}"
            trailing, block = comments.get(f.name, ("", ""))
            tag = _TAG.match(trailing) or _TAG.match(block)
            meaning = _TAG.sub("", trailing) or _TAG.sub("", block)
            out.append(KeyDoc(key, getattr(obj, f.name), unit_of(key),
                              f"[{tag.group(1)}]" if tag else "", meaning))
    return out
