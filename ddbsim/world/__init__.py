"""The physics of the simulation: time, randomness, hosts, AZs, power, network.

Nothing in ``world`` knows about DynamoDB: ``world`` never imports
``service`` or ``lab``.
"""
from __future__ import annotations

from ddbsim.world.network import Network
from ddbsim.world.region import World
from ddbsim.world.scheduling import Deadlines, call_later
from ddbsim.world.streams import Draws, Streams
from ddbsim.world.topology import Host, Topology

__all__ = ["Deadlines", "Draws", "Host", "Network", "Streams", "Topology", "World", "call_later"]
