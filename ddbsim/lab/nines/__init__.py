"""The nines of a region-year: a fast failure-level model of the region.

The detailed simulator cannot run a region for a year (an idle region of
30 hosts costs seconds of wall time per simulated hour).  This package runs
only component failures and repairs -- no requests -- over the same
topology, placement and healing policy, with the outage and repair
durations measured by short detailed runs, and reports the nines and the
durability of many independent region-years with 95% intervals.

* :mod:`.fleet` -- hosts, racks, AZs and the initial placement (the
  detailed model's own);
* :mod:`.failures` -- the component failures of a region-year (hosts,
  bursts, racks, AZs, disks), with their sources;
* :mod:`.durations` -- the outage and repair durations the model draws;
* :mod:`.groups` -- every group's state through the outages;
* :mod:`.year` -- one region-year and its figures;
"""
