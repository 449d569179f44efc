"""Admission control (paper §4): who may spend a table's capacity, and when
a request is refused with ``ProvisionedThroughputExceeded`` (``throttled``).

One module per concept:

* :mod:`.capacity` -- capacity units: what a request costs (RCU, WCU);
* :mod:`.bucket` -- the exact, lazily refilled token bucket everything
  else is made of;
* :mod:`.allocation` -- legacy allocation: a table's partition count from
  its throughput and size, its provisioned rate divided evenly over its
  partitions, and the per-partition boosts adaptive capacity adds;
* :mod:`.policy` -- what each ``admission.policy`` switches on;
* :mod:`.partition` -- a partition's allocated and burst buckets (§4.1.1);
* :mod:`.storage` -- a storage node's admission: its node buckets, its
  partitions' buckets, its peers' reported node buckets (§4.1.1);
* :mod:`.adaptive` -- adaptive capacity, a proportional controller per
  table (§4.1.2);
* :mod:`.on_demand` -- an on-demand table's capacity: twice its previous
  peak (§4.5);
* :mod:`.gac` -- global admission control servers on their own hash ring
  (§4.2);
* :mod:`.router_tokens` -- a request router's local, time-limited tokens,
  refilled from GAC (§4.2).
"""
