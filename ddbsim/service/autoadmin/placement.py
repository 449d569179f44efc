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
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from ddbsim.world.topology import Host, Topology


class Placement:
    def __init__(self, topology: Topology, load: Callable[[str], int],
                 holds: Callable[[str, str], bool]) -> None:
        self.topology = topology
        self._load = load
        self._holds = holds
        self._storage_by_az = {az: topology.of_kind("storage", az) for az in topology.azs}

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
        """The host to take a new replica of ``pid`` in ``az``, or None."""
        hosts = [h.id for h in self._storage_by_az[az]
                 if h.id not in avoid and not self._holds(h.id, pid)]
        if not hosts:
            return None
        return min(hosts, key=lambda h: (self._load(h), h))
