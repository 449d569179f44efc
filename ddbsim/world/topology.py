"""The region's physical layout: region -> AZs -> racks -> hosts.

A :class:`Host` is one power domain.  Powering it off drops every message to
or from it and loses its volatile state; what it persisted survives a
reboot.  A host can also go *slow* (a gray failure: a failing disk or a
noisy neighbour): ``slowdown`` multiplies the time its disk and CPU take,
while it stays up and reachable.  ``world`` only flips the power and tells whoever registered a
listener; a service component decides what "volatile" means for it.

Hosts come in seven kinds: ``storage`` (storage nodes), ``router`` (request
routers), ``metadata`` (the metadata table's servers), ``memds`` (MemDS
servers), ``gac`` (global admission control servers, idle unless admission
control uses them), ``client`` (the customers' machines, which live in an
AZ too, so that an AZ outage takes its clients with it; each AZ also has one
``canary`` client host) and one ``object_store`` host, ``region/object-store``,
in no AZ (the S3-like archive is regional: AZ faults never reach it).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ddbsim.config import TopologyConfig

PowerListener = Callable[["Host"], None]


@dataclass(eq=False)
class Host:
    id: str
    az: str
    rack: str
    kind: str
    powered: bool = True
    #: Incremented at every power-off: work scheduled under an older epoch is void.
    epoch: int = 0
    powered_off_at_s: float | None = None
    #: Gray failure: the host's disk and CPU take this many times longer
    #: (1.0 = healthy).  It still answers, heartbeats and holds leases.
    slowdown: float = 1.0
    _on_off: list[PowerListener] = field(default_factory=list, repr=False)
    _on_on: list[PowerListener] = field(default_factory=list, repr=False)

    def listen(self, on_off: PowerListener | None = None, on_on: PowerListener | None = None) -> None:
        if on_off is not None:
            self._on_off.append(on_off)
        if on_on is not None:
            self._on_on.append(on_on)

    def power_off(self, now_s: float) -> bool:
        """Cut the power.  Returns False if it was already off."""
        if not self.powered:
            return False
        self.powered = False
        self.epoch += 1
        self.powered_off_at_s = now_s
        for fn in self._on_off:
            fn(self)
        return True

    def power_on(self) -> bool:
        """Restore the power.  Returns False if it was already on."""
        if self.powered:
            return False
        self.powered = True
        self.powered_off_at_s = None
        for fn in self._on_on:
            fn(self)
        return True


class Topology:
    """All hosts of a region, with look-ups by AZ, rack and kind."""

    def __init__(self, cfg: TopologyConfig, clients_per_az: int = 1) -> None:
        self.azs: list[str] = [f"az-{i + 1}" for i in range(cfg.az_count)]
        self.hosts: dict[str, Host] = {}
        self.racks: dict[str, list[Host]] = {}
        for az in self.azs:
            for r in range(cfg.racks_per_az):
                rack = f"{az}/r{r + 1}"
                for h in range(cfg.hosts_per_rack):
                    self._add(Host(f"{rack}/h{h + 1}", az, rack, "storage"))
            for r in range(cfg.routers_per_az):
                self._add(Host(f"{az}/router-{r + 1}", az, f"{az}/edge", "router"))
            for g in range(cfg.gac_servers_per_az):
                self._add(Host(f"{az}/gac-{g + 1}", az, f"{az}/gac", "gac"))
            for c in range(clients_per_az):
                self._add(Host(f"{az}/client-{c + 1}", az, f"{az}/clients", "client"))
            self._add(Host(f"{az}/canary", az, f"{az}/clients", "client"))
        self._add(Host("region/object-store", "region", "region/object-store", "object_store"))
        # The routing metadata servers come last, so that adding them moved
        # nothing in the order of the hosts above.
        for az in self.azs:
            for m in range(cfg.metadata_per_az):
                self._add(Host(f"{az}/metadata-{m + 1}", az, f"{az}/meta", "metadata"))
            for m in range(cfg.memds_per_az):
                self._add(Host(f"{az}/memds-{m + 1}", az, f"{az}/meta", "memds"))
        # Routers out of service until an add_routers fault: last of all, so
        # that having them moves nothing above.
        #: the standby routers' ids (out of service at the start)
        self.standby_routers: list[str] = []
        for az in self.azs:
            for r in range(cfg.standby_routers_per_az):
                host = Host(f"{az}/router-{cfg.routers_per_az + r + 1}", az, f"{az}/edge", "router")
                self._add(host)
                self.standby_routers.append(host.id)

    def _add(self, host: Host) -> None:
        self.hosts[host.id] = host
        self.racks.setdefault(host.rack, []).append(host)

    def of_kind(self, kind: str, az: str | None = None) -> list[Host]:
        return [h for h in self.hosts.values() if h.kind == kind and (az is None or h.az == az)]

    def resolve(self, target: str) -> list[Host]:
        """Hosts named by a fault target: an AZ, a rack or one host."""
        if target in self.azs:
            return [h for h in self.hosts.values() if h.az == target]
        if target in self.racks:
            return list(self.racks[target])
        if target in self.hosts:
            return [self.hosts[target]]
        raise KeyError(target)


def local_first(hosts: Sequence[Host], az: str) -> list[Host]:
    """``hosts`` with those in ``az`` first, each part in its given order
    (whom a client or a router asks first: the nearest)."""
    return [h for h in hosts if h.az == az] + [h for h in hosts if h.az != az]
