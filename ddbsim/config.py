"""Every knob of the simulator: typed, frozen, validated, with provenance.

Each default carries a short provenance comment:

* ``[paper §N]`` -- the DynamoDB USENIX ATC 2022 paper, section N;
* ``[docs]`` -- the public DynamoDB developer guide;
* ``[sdk]`` -- the AWS SDKs' "standard" retry mode;
* ``[chosen]`` -- nothing is public; we picked a plausible value.

A :class:`Config` is a tree of frozen dataclasses, one per section.  It is
validated when it is built, so an impossible region (fewer than three AZs, a
quorum larger than the replica set, a negative rate) never starts.  Overrides
are dotted keys (``replication.lease_s=3``); an unknown key is an error that
names the key and suggests the closest valid one.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


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


@dataclass(frozen=True)
class TopologyConfig:
    az_count: int = 3  # [paper §3] a region has three AZs
    racks_per_az: int = 2  # [chosen]
    hosts_per_rack: int = 3  # [chosen] storage hosts; each is a power domain
    routers_per_az: int = 1  # [chosen] request-router hosts per AZ

    def __post_init__(self) -> None:
        if self.az_count < 3:
            raise ConfigError(
                f"topology.az_count must be at least 3 (replicas live in three AZs), got {self.az_count}"
            )
        _positive("topology", racks_per_az=self.racks_per_az, hosts_per_rack=self.hosts_per_rack,
                  routers_per_az=self.routers_per_az)


@dataclass(frozen=True)
class NetworkConfig:
    # One-way latency is log-normal with this median and shape, by locality.
    same_host_latency_s: float = 0.00002  # [chosen]
    same_az_latency_s: float = 0.00025  # [chosen]
    cross_az_latency_s: float = 0.0008  # [chosen] AZs are "single-digit ms" apart at most
    latency_sigma: float = 0.25  # [chosen] log-normal shape

    def __post_init__(self) -> None:
        _positive("network", same_host_latency_s=self.same_host_latency_s,
                  same_az_latency_s=self.same_az_latency_s,
                  cross_az_latency_s=self.cross_az_latency_s)
        _non_negative("network", latency_sigma=self.latency_sigma)


@dataclass(frozen=True)
class StorageConfig:
    service_time_s: float = 0.0003  # [chosen] mean of an exponential, per request
    servers_per_node: int = 4  # [chosen] requests a storage node serves at once
    wal_persist_s: float = 0.0005  # [chosen] median time to persist one WAL record
    boot_s: float = 20.0  # [chosen] from power-on to serving, before WAL replay
    replay_per_record_s: float = 0.000002  # [chosen] WAL replay cost per record

    def __post_init__(self) -> None:
        _positive("storage", service_time_s=self.service_time_s,
                  servers_per_node=self.servers_per_node, wal_persist_s=self.wal_persist_s)
        _non_negative("storage", boot_s=self.boot_s, replay_per_record_s=self.replay_per_record_s)


@dataclass(frozen=True)
class ReplicationConfig:
    replicas: int = 3  # [paper §3] three replicas in three AZs
    write_quorum: int = 2  # [paper §3] two of three
    heartbeat_interval_s: float = 0.5  # [chosen] coalesced per host pair
    leader_timeout_s: float = 1.5  # [chosen] silence before a follower suspects the leader
    lease_s: float = 2.0  # [paper §6.2] a new leader waits "a couple of seconds"
    election_timeout_s: float = 0.5  # [chosen] a candidate's wait for promises
    election_backoff_s: float = 0.3  # [chosen] mean random back-off after a failed election
    catchup_batch: int = 2000  # [chosen] log entries per catch-up message

    def __post_init__(self) -> None:
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


@dataclass(frozen=True)
class HealingConfig:
    log_replicas: bool = True  # [paper §5.1] heal with a log replica first
    detection_s: float = 5.0  # [chosen] unhealthy this long before the leader heals
    unarchived_wal_bytes: float = 300e6  # [paper §5.1] "a few hundred MB"
    partition_size_bytes: float = 10e9  # [docs] a partition holds up to ~10 GB
    log_copy_bytes_per_s: float = 100e6  # [chosen] -> a log replica in ~3 s ("seconds")
    rebuild_bytes_per_s: float = 40e6  # [chosen] -> a storage replica in ~4 min ("minutes")
    retry_s: float = 10.0  # [chosen] wait before retrying when no host can take a replica

    def __post_init__(self) -> None:
        _positive("healing", detection_s=self.detection_s,
                  unarchived_wal_bytes=self.unarchived_wal_bytes,
                  partition_size_bytes=self.partition_size_bytes,
                  log_copy_bytes_per_s=self.log_copy_bytes_per_s,
                  rebuild_bytes_per_s=self.rebuild_bytes_per_s, retry_s=self.retry_s)


@dataclass(frozen=True)
class TableConfig:
    name: str = "orders"  # [chosen]
    partitions: int = 16  # [chosen]

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("table.name must not be empty")
        _positive("table", partitions=self.partitions)


@dataclass(frozen=True)
class RouterConfig:
    service_time_s: float = 0.0001  # [chosen] mean, exponential
    servers_per_router: int = 8  # [chosen]
    request_timeout_s: float = 0.3  # [chosen] router's wait for a storage node
    max_redirects: int = 2  # [chosen] "not the leader" answers followed per request
    suspect_s: float = 30.0  # [chosen] how long a router avoids a storage host that timed out

    def __post_init__(self) -> None:
        _positive("router", service_time_s=self.service_time_s,
                  servers_per_router=self.servers_per_router,
                  request_timeout_s=self.request_timeout_s)
        _non_negative("router", max_redirects=self.max_redirects, suspect_s=self.suspect_s)


@dataclass(frozen=True)
class ClientConfig:
    max_attempts: int = 3  # [sdk] standard mode
    base_backoff_s: float = 0.1  # [sdk] full-jitter exponential back-off base
    throttled_base_backoff_s: float = 0.5  # [sdk]
    max_backoff_s: float = 20.0  # [sdk]
    retry_quota: int = 500  # [sdk] tokens
    retry_cost: int = 5  # [sdk] tokens per retry
    timeout_retry_cost: int = 10  # [sdk] tokens per retry after a timeout
    attempt_timeout_s: float = 1.0  # [chosen] client's wait for one attempt
    router_suspect_s: float = 30.0  # [chosen] a client avoids a router that timed out (its LB)

    def __post_init__(self) -> None:
        _positive("client", max_attempts=self.max_attempts, base_backoff_s=self.base_backoff_s,
                  throttled_base_backoff_s=self.throttled_base_backoff_s,
                  max_backoff_s=self.max_backoff_s, attempt_timeout_s=self.attempt_timeout_s)
        _non_negative("client", router_suspect_s=self.router_suspect_s,
                      retry_quota=self.retry_quota, retry_cost=self.retry_cost,
                      timeout_retry_cost=self.timeout_retry_cost)


KEY_DISTRIBUTIONS = ("uniform", "zipf")


@dataclass(frozen=True)
class WorkloadConfig:
    rate_per_s: float = 100.0  # [chosen] open-loop Poisson, whole region
    clients_per_az: int = 2  # [chosen]
    get_strong: float = 0.25  # [chosen] fractions of the operation mix
    get_eventual: float = 0.25  # [chosen]
    put: float = 0.40  # [chosen]
    cond_put: float = 0.05  # [chosen]
    delete: float = 0.05  # [chosen]
    key_count: int = 10_000  # [chosen]
    key_distribution: str = "uniform"  # uniform | zipf
    zipf_exponent: float = 1.1  # [chosen]
    item_size_bytes: float = 1000.0  # [chosen] mean, exponential
    canary_rate_per_s: float = 1.0  # [chosen] per AZ, strong reads and puts alternately

    def __post_init__(self) -> None:
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


@dataclass(frozen=True)
class MetricsConfig:
    window_s: float = 300.0  # [paper §6.3] availability per 5-minute window
    alarm_error_rate: float = 0.01  # [chosen] a window above this error rate raises an alarm
    history: bool = False  # record every client operation (invoke/ok/fail/info)

    def __post_init__(self) -> None:
        _positive("metrics", window_s=self.window_s)
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

    def __post_init__(self) -> None:
        _non_negative("run", quiesce_s=self.quiesce_s)
        _positive("run", liveness_bound_s=self.liveness_bound_s)


#: The kinds of fault the nemesis can draw (see ddbsim.lab.nemesis).
NEMESIS_KINDS = ("host_power", "rack_power", "az_power", "router_power", "az_cut", "host_cut",
                 "slow_host", "loss", "delay")


@dataclass(frozen=True)
class NemesisConfig:
    """The random fault schedule of ``ddbsim.lab.nemesis`` (game_day, chaos)."""

    # Keep every moment's hard faults (power, cuts, slow hosts) in one AZ:
    # the design promises to survive one AZ's worth of replicas down.
    bounded: bool = True
    kinds: str = "all"  # comma-separated subset of NEMESIS_KINDS the swarm draws from
    enable_p: float = 0.5  # [chosen] chance that the swarm enables each kind
    start_s: float = 10.0  # [chosen] quiet warm-up before the first fault
    end_s: float = 150.0  # [chosen] no fault starts after this

    def __post_init__(self) -> None:
        _non_negative("nemesis", start_s=self.start_s)
        if not self.end_s > self.start_s:
            raise ConfigError(f"nemesis.end_s ({self.end_s}) must be after nemesis.start_s "
                              f"({self.start_s})")
        if not 0.0 < self.enable_p <= 1.0:
            raise ConfigError(f"nemesis.enable_p must be in (0, 1], got {self.enable_p}")
        unknown = [k for k in self.kind_list() if k not in NEMESIS_KINDS]
        if unknown or not self.kind_list():
            raise ConfigError(f"nemesis.kinds: unknown {', '.join(unknown) or 'empty list'}; use "
                              f"'all' or a comma-separated list of {', '.join(NEMESIS_KINDS)}")

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
        _positive("churn", mtbf_s=self.mtbf_s, off_s=self.off_s)


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
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    run: RunConfig = field(default_factory=RunConfig)
    nemesis: NemesisConfig = field(default_factory=NemesisConfig)
    churn: ChurnConfig = field(default_factory=ChurnConfig)

    def __post_init__(self) -> None:
        if self.replication.replicas > self.topology.az_count:
            raise ConfigError(
                f"replication.replicas ({self.replication.replicas}) cannot exceed "
                f"topology.az_count ({self.topology.az_count}): replicas live in different AZs"
            )

    # -- views -----------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    @staticmethod
    def keys() -> list[str]:
        """Every valid dotted key, in declaration order."""
        out = []
        for section in fields(Config):
            for f in fields(section.default_factory()):  # type: ignore[misc]
                out.append(f"{section.name}.{f.name}")
        return out

    # -- overrides -------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """A new Config with dotted-key overrides applied and validated.

        Values may be given as strings (from the command line); they are
        parsed to the field's type.
        """
        sections: dict[str, dict[str, Any]] = {}
        valid = self.keys()
        for key, raw in overrides.items():
            if key not in valid:
                raise ConfigError(_unknown_key_message(key, valid))
            section_name, field_name = key.split(".", 1)
            section = getattr(self, section_name)
            current = getattr(section, field_name)
            sections.setdefault(section_name, {})[field_name] = _coerce(key, raw, current)
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


def _coerce(key: str, raw: Any, current: Any) -> Any:
    kind = type(current)
    article = "an" if kind.__name__[0] in "aeiou" else "a"
    wrong = ConfigError(f"{key} takes {article} {kind.__name__}, got {raw!r}")
    if not isinstance(raw, str):
        if isinstance(raw, bool) != (kind is bool):
            raise wrong
        if kind is float and isinstance(raw, int):
            return float(raw)
        if isinstance(raw, kind):
            return raw
        raise wrong
    text = raw.strip()
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
    except ValueError:
        raise wrong from None
    return text


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parse ``["a.b=1", ...]`` from the command line into a dict."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out
