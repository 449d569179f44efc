"""What each ``admission.policy`` switches on (paper §4, in the order the
paper tells it: each policy adds to the one before, except that GAC moves
the table's limit from the partitions to the routers).

=========  ===================================================================
none       nothing is admitted or refused (the default: capacity is not modelled)
static     each partition has an allocated bucket at the table's provisioned
           rate / its partition count; a request finding it empty is throttled
bursting   + a burst bucket per partition (up to ``admission.burst_s`` of its
           unused capacity) and a node bucket per storage node (§4.1.1)
adaptive   + adaptive capacity: throttled partitions are boosted while the
           table is under its provisioned rate (§4.1.2)
gac        global admission control: routers spend table-wide tokens vended by
           GAC servers; partition buckets stay, capped at the partition maximum,
           as defence in depth (§4.2; the paper names no node buckets here)
=========  ===================================================================
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    name: str

    @property
    def throttles(self) -> bool:
        """Whether any request can be throttled."""
        return self.name != "none"

    @property
    def bursting(self) -> bool:
        """Partitions have burst buckets (bursting and adaptive)."""
        return self.name in ("bursting", "adaptive")

    @property
    def node_buckets(self) -> bool:
        """Storage nodes have node buckets (bursting's, §4.1.1)."""
        return self.name in ("bursting", "adaptive")

    @property
    def adaptive(self) -> bool:
        return self.name == "adaptive"

    @property
    def gac(self) -> bool:
        """Routers admit against GAC tokens; partition buckets are capped at
        the partition maximum instead of the table's share."""
        return self.name == "gac"
