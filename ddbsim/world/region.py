"""The world of one run: a SimPy clock, the random streams, hosts, their
disks, and the network."""
from __future__ import annotations

import simpy

from ddbsim.config import Config
from ddbsim.world.disk import Disk
from ddbsim.world.network import Network
from ddbsim.world.streams import Streams
from ddbsim.world.topology import Topology


class World:
    """Everything physical that one simulated run shares."""

    def __init__(self, cfg: Config, seed: int) -> None:
        self.cfg = cfg
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.topology = Topology(cfg.topology, clients_per_az=cfg.workload.clients_per_az)
        self.network = Network(self.env, self.topology, cfg.network,
                               self.streams.draws("world/network"),
                               self.streams.draws("world/network/impairment"),
                               self.streams.draws("world/network/messy"),
                               self.streams.draws("world/network/corrupt"))
        storage = cfg.storage
        #: one disk per storage host
        self.disks: dict[str, Disk] = {
            h.id: Disk(h, storage.wal_persist_s, storage.wal_persist_sigma,
                       self.streams.draws(f"storage/{h.id}/disk"))
            for h in self.topology.of_kind("storage")}

    @property
    def now(self) -> float:
        return self.env.now
