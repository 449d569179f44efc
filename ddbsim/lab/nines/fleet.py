"""The fleet the fast failure model runs over: hosts, racks, AZs and where
each partition's replicas start.

It is the detailed model's own layout, not a new one: the hosts are the
storage hosts of :class:`~ddbsim.world.topology.Topology` built from the
same ``topology`` config, and the initial replica placement is
:meth:`~ddbsim.service.autoadmin.placement.Placement.initial` (paper §3: one
replica in each of three AZs, least-loaded host, a per-AZ stride among
ties), restated with numpy (:func:`initial_placement`) because the object
form costs ~10 s for 10,000 partitions; a unit test checks the two agree
host for host.  ``nines.placement=random`` is the counterfactual rule the
sensitivity table uses: any distinct hosts, AZs ignored.

Hosts are numbered in the order ``Topology`` lists them; within an AZ the
replacement rule breaks load ties by host id (as ``Placement.replacement``
does), so :attr:`Fleet.az_hosts` lists each AZ's hosts sorted by id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddbsim.config import Config
from ddbsim.world.topology import Topology


@dataclass(frozen=True)
class Fleet:
    host_ids: tuple[str, ...]
    host_az: np.ndarray  # host -> AZ index
    host_rack: np.ndarray  # host -> rack index
    racks: tuple[np.ndarray, ...]  # rack index -> its hosts
    az_hosts: tuple[np.ndarray, ...]  # AZ index -> its hosts, sorted by host id
    placement: np.ndarray  # (partitions, replicas) -> host

    @property
    def hosts(self) -> int:
        return len(self.host_ids)

    @property
    def partitions(self) -> int:
        return int(self.placement.shape[0])


def build_fleet(cfg: Config, rng: np.random.Generator | None = None) -> Fleet:
    """The fleet of ``cfg``: its storage hosts and the initial placement of
    ``table.partitions`` groups of ``replication.replicas``.  ``rng`` is used
    only by ``nines.placement=random``."""
    topo = Topology(cfg.topology)
    hosts = topo.of_kind("storage")
    ids = tuple(h.id for h in hosts)
    azs = {az: i for i, az in enumerate(topo.azs)}
    rack_names = sorted({h.rack for h in hosts}, key=lambda r: [h.rack for h in hosts].index(r))
    rack_index = {r: i for i, r in enumerate(rack_names)}
    host_az = np.array([azs[h.az] for h in hosts], dtype=np.int64)
    host_rack = np.array([rack_index[h.rack] for h in hosts], dtype=np.int64)
    racks = tuple(np.flatnonzero(host_rack == r) for r in range(len(rack_names)))
    az_hosts = tuple(np.array(sorted(np.flatnonzero(host_az == a), key=lambda i: ids[i]),
                              dtype=np.int64) for a in range(len(azs)))
    replicas, partitions = cfg.replication.replicas, cfg.table.partitions
    if cfg.nines.placement == "random":
        if rng is None:
            raise ValueError("nines.placement=random needs a random stream")
        placement = np.array([rng.choice(len(ids), replicas, replace=False)
                              for _ in range(partitions)], dtype=np.int64)
    else:
        # Placement.initial iterates each AZ's hosts in Topology order
        by_az = tuple(np.flatnonzero(host_az == a) for a in range(len(azs)))
        placement = initial_placement(by_az, partitions, replicas, len(ids))
    return Fleet(ids, host_az, host_rack, racks, az_hosts, placement)


def initial_placement(az_hosts: tuple[np.ndarray, ...], partitions: int, replicas: int,
                      hosts: int) -> np.ndarray:
    """:meth:`Placement.initial` for partitions 0, 1, ... in turn: replica
    ``k`` of partition ``i`` goes to AZ ``(i + k) % AZs``, to its least-loaded
    host, ties to the smallest ``(j - i (k + 1)) mod n`` over the AZ's hosts
    ``j`` (in Topology order)."""
    load = np.zeros(hosts, dtype=np.int64)
    out = np.empty((partitions, replicas), dtype=np.int64)
    n_az = len(az_hosts)
    ranks = [np.arange(len(h), dtype=np.int64) for h in az_hosts]
    for i in range(partitions):
        for k in range(replicas):
            a = (i + k) % n_az
            members = az_hosts[a]
            n = len(members)
            key = load[members] * n + (ranks[a] - i * (k + 1)) % n
            host = members[int(np.argmin(key))]
            out[i, k] = host
            load[host] += 1
    return out
