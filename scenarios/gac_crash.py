"""A GAC server crashes, then another one's host loses power: a table within its rate is barely throttled.

Under ``admission.policy=gac`` every router spends table-wide tokens that it
refills from the GAC server owning the table on the GAC hash ring (paper
§4.2).  Here that server's process crashes at ``crash_at_s`` and restarts,
empty, ``down_s`` later; later still the host of the next server on the
ring loses power for ``down_s``.  Each router's ask then times out
(``admission.gac_timeout_s``) and goes to the next server on the ring, which
starts from nothing and learns the demand from the routers' asks.  The
traffic -- 400 requests/s, half reads, half writes, about a third of the
table's provisioned rate -- never exceeds what the table may use, so every
throttle is admission control's own doing.  The analysis prints how long
the table was throttled around each fault (from the admission time series,
sampled every second) and how many operations ended throttled.
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Fault, Scenario
from ddbsim.service.admission.gac import GacRing
from ddbsim.world.region import World


def owners(world: World) -> list[str]:
    """The GAC servers in ring order from the owner of the table."""
    ring = GacRing([h.id for h in world.topology.of_kind("gac")])
    return ring.owners(world.cfg.table.name)


def analyse(data: dict[str, Any]) -> dict[str, Any]:
    """How long the table was throttled around each fault."""
    admission = data.get("admission") or {}
    series = admission.get("series")
    if not series:
        return {"note": "no admission time series (admission.policy=none or metrics off)"}
    dt = series["series_s"]
    throttled = series["table"]["throttled_per_s"]
    t_s = series["t_s"]
    out: dict[str, Any] = {}
    starts = [f for f in data["faults"] if f["action"] in ("crash", "power_off")]
    for i, fault in enumerate(starts):
        end = starts[i + 1]["t_s"] if i + 1 < len(starts) else data["duration_s"]
        window = [x for t, x in zip(t_s, throttled, strict=True) if fault["t_s"] < t <= end]
        out[f"{fault['action']} {fault['target']} at {fault['t_s']:g}s"] = {
            "throttled_for_s": round(dt * sum(1 for x in window if x > 0), 3),
            "throttled_requests": round(dt * sum(window)),
        }
    before = [x for t, x in zip(t_s, throttled, strict=True)
              if not starts or t <= starts[0]["t_s"]]
    out["before the faults"] = {"throttled_for_s": round(dt * sum(1 for x in before if x > 0), 3),
                                "throttled_requests": round(dt * sum(before))}
    out["operations throttled"] = data["requests"]["throttled"] if data["requests"] else None
    out["gac"] = admission.get("gac") and {k: admission["gac"][k]
                                           for k in ("asks", "grants", "timeouts")}
    return out


def build_scenario(crash_at_s: float = 60.0, down_s: float = 30.0, duration_s: float = 240.0,
                   **overrides: Any) -> Scenario:
    def faults(world: World, _rng: Any) -> list[Fault]:
        first, second = owners(world)[:2]
        return [Fault(crash_at_s, "crash", first), Fault(crash_at_s + down_s, "restart", first),
                Fault(crash_at_s + 3 * down_s, "power_off", second),
                Fault(crash_at_s + 4 * down_s, "power_on", second)]

    return Scenario(
        name="gac_crash", duration_s=duration_s, faults=faults, analyse=analyse,
        overrides={"admission.policy": "gac", "workload.rate_per_s": 400.0,
                   "metrics.series_s": 1.0, "metrics.window_s": 60.0, **overrides},
        description="the GAC server owning the table crashes and restarts; then the next "
                    "one's host loses power")


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
