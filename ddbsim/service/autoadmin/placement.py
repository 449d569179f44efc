"""Where replicas go: the control plane's placement.

Paper §3: the three replicas of a partition live in three different AZs,
which also keeps them off a common host and rack.  Initial placement puts
each partition's replicas on the least-loaded storage host of each AZ.  A
replacement (healing) goes to the least-loaded host of the lost replica's
AZ that holds no replica of the partition and that the asking leader does
not want to avoid (hosts it considers unhealthy, or that failed to take a
copy); if that AZ has none, there is no replacement and the group runs on
two replicas (never two in one AZ).

Load and membership come from the control plane's partition map, not from
the hosts: placement knows what the map says, and the leader knows which
hosts it can hear -- nobody reads the hosts' true power state.

**Reservations.**  A replacement counts towards its host's load from the
moment placement hands it out, not only once the membership that adds it
commits (seconds later for a log replica, minutes for a storage replica):
when a host fails, the leaders of all its partitions ask for replacements
within the same instant, and without the reservation every one of them
would see the same least-loaded host and get it -- the failed host's whole
load moved onto one host, the partitions that shared a fate sharing it
again (a detailed run of ``host_churn`` moved 5-11 replicas at a time onto
a single host).  A reservation ends when the map shows the host holding the
partition (the load counts it from then on) or after ``reserve_s`` (the
copy failed, or its leader was lost), whichever comes first.
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from ddbsim.world.topology import Host, Topology


class Placement:
    def __init__(self, topology: Topology, load: Callable[[str], int],
                 holds: Callable[[str, str], bool], now: Callable[[], float] | None = None,
                 reserve_s: float = 0.0) -> None:
        self.topology = topology
        self._load = load
        self._holds = holds
        self._storage_by_az = {az: topology.of_kind("storage", az) for az in topology.azs}
        self._now = now
        self.reserve_s = reserve_s
        #: host -> {pid: until}: replacements handed out, not yet in the map
        self._reserved: dict[str, dict[str, float]] = {}

    def initial(self, index: int, replicas: int) -> list[Host]:
        """One host in each of ``replicas`` AZs, rotating the starting AZ.

        Among the least-loaded hosts of an AZ, ties go to a host picked by a
        stride that differs per AZ, so a host's partitions have their other
        replicas on many different hosts (as in a real fleet), not always on
        the same two.
        """
        azs = self.topology.azs
        chosen = []
        for k in range(replicas):
            az = azs[(index + k) % len(azs)]
            hosts = self._storage_by_az[az]
            n = len(hosts)
            pick = min(range(n), key=lambda i: (self._load(hosts[i].id), (i - index * (k + 1)) % n))
            chosen.append(hosts[pick])
        return chosen

    def replacement(self, pid: str, az: str, avoid: Collection[str] = ()) -> str | None:
        """The host to take a new replica of ``pid`` in ``az``, or None; the
        host is reserved for it (see the module docstring)."""
        hosts = [h.id for h in self._storage_by_az[az]
                 if h.id not in avoid and not self._holds(h.id, pid)]
        if not hosts:
            return None
        if self._now is None or self.reserve_s <= 0:
            return min(hosts, key=lambda h: (self._load(h), h))
        now = self._now()
        best = min(hosts, key=lambda h: (self._load(h) + self._reservations(h, now), h))
        self._reserved.setdefault(best, {})[pid] = now + self.reserve_s
        return best

    def _reservations(self, host: str, now: float) -> int:
        """Replacements on ``host`` handed out and not yet in the map (the
        ones that lapsed or arrived are dropped)."""
        held = self._reserved.get(host)
        if not held:
            return 0
        for pid in [p for p, until in held.items() if until <= now or self._holds(host, p)]:
            del held[pid]
        return len(held)
