"""Config: defaults, typed dotted-key overrides, and clear errors for user mistakes."""
from __future__ import annotations

import dataclasses
import json
import re
import typing

import pytest

from ddbsim.config import (
    NEMESIS_KINDS,
    Config,
    ConfigError,
    NemesisConfig,
    NetworkConfig,
    Range,
    ReplicationConfig,
    RunConfig,
    TableConfig,
    format_value,
    parse_assignments,
)
from ddbsim.lab.faults import Fault
from ddbsim.lab.nemesis import CHAOS, FaultSchedule, draw_schedule
from ddbsim.service.fault_points import POINTS, STEPS
from ddbsim.world.region import World


def test_defaults_validate_and_carry_the_paper_numbers() -> None:
    cfg = Config()
    assert cfg.topology.az_count == 3
    assert cfg.replication.replicas == 3
    assert cfg.replication.write_quorum == 2
    assert cfg.replication.lease_s == 2.0
    assert cfg.metrics.window_s == 300.0
    w = cfg.workload
    assert w.get_strong + w.get_eventual + w.put + w.cond_put + w.delete == pytest.approx(1.0)
    # Frozen: a config cannot be changed behind a run's back.
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.replication.lease_s = 5.0  # type: ignore[misc]


def test_keys_are_dotted_and_complete() -> None:
    keys = Config.keys()
    assert "replication.lease_s" in keys
    assert "workload.rate_per_s" in keys
    assert "topology.az_count" in keys
    assert len(keys) == len(set(keys))
    assert all(k.count(".") == 1 for k in keys)
    assert set(Config().to_dict()) == {k.split(".")[0] for k in keys}


def test_override_parses_float_from_text() -> None:
    cfg = Config().with_overrides({"replication.lease_s": "3"})
    assert cfg.replication.lease_s == 3.0
    assert type(cfg.replication.lease_s) is float
    # The original is untouched, and other fields keep their defaults.
    assert Config().replication.lease_s == 2.0
    assert cfg.replication.write_quorum == 2


def test_override_parses_int_bool_and_str() -> None:
    cfg = Config().with_overrides({
        "table.partitions": "8",
        "replication.catchup_batch": " 1e3 ",
        "metrics.history": "yes",
        "healing.log_replicas": "off",
        "table.name": "users",
        "workload.key_distribution": "zipf",
    })
    assert cfg.table.partitions == 8 and type(cfg.table.partitions) is int
    assert cfg.replication.catchup_batch == 1000 and type(cfg.replication.catchup_batch) is int
    assert cfg.metrics.history is True
    assert cfg.healing.log_replicas is False
    assert cfg.table.name == "users"
    assert cfg.workload.key_distribution == "zipf"


@pytest.mark.parametrize("text, expected", [
    ("1", True), ("true", True), ("TRUE", True), ("on", True),
    ("0", False), ("false", False), ("No", False), ("off", False),
])
def test_bool_spellings(text: str, expected: bool) -> None:
    assert Config().with_overrides({"metrics.history": text}).metrics.history is expected


def test_override_accepts_python_values() -> None:
    cfg = Config().with_overrides({"replication.lease_s": 3, "table.partitions": 4,
                                   "metrics.history": True})
    assert cfg.replication.lease_s == 3.0 and type(cfg.replication.lease_s) is float
    assert cfg.table.partitions == 4
    assert cfg.metrics.history is True


def test_unknown_key_names_it_and_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"replication.lease": "3"})
    msg = str(info.value)
    assert "'replication.lease'" in msg
    assert "replication.lease_s" in msg.replace("'replication.lease'", "")
    assert "\n" not in msg


def test_key_without_section_suggests_the_dotted_key() -> None:
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"lease_s": "3"})
    msg = str(info.value)
    assert "'lease_s'" in msg
    assert "did you mean 'replication.lease_s'" in msg


def test_hopeless_key_points_to_the_key_list() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key 'xyzzy'.*ddbsim keys"):
        Config().with_overrides({"xyzzy": "1"})


def test_bare_leaf_that_exists_suggests_its_own_section() -> None:
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"replicas": "3"})
    assert "did you mean 'replication.replicas'" in str(info.value)


def test_negative_rate_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"workload\.rate_per_s must be zero or more, got -1"):
        Config().with_overrides({"workload.rate_per_s": "-1"})


def test_fewer_than_three_azs_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"topology\.az_count must be at least 3.*got 2"):
        Config().with_overrides({"topology.az_count": "2"})


def test_quorum_larger_than_replicas_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"replication.write_quorum": "4"})
    msg = str(info.value)
    assert "replication.write_quorum (4)" in msg
    assert "replication.replicas (3)" in msg


def test_quorum_that_is_not_a_majority_is_rejected() -> None:
    with pytest.raises(ConfigError, match="majority"):
        Config().with_overrides({"replication.write_quorum": "1"})


def test_op_mix_must_sum_to_one() -> None:
    with pytest.raises(ConfigError, match=r"must sum to 1, got 1\.1"):
        Config().with_overrides({"workload.put": "0.5"})
    # Moving weight from one operation to another keeps the sum and is fine.
    cfg = Config().with_overrides({"workload.put": "0.35", "workload.delete": "0.10"})
    assert cfg.workload.put == 0.35 and cfg.workload.delete == 0.10


def test_bad_bool_text_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"metrics\.history takes a bool, got 'maybe'"):
        Config().with_overrides({"metrics.history": "maybe"})


@pytest.mark.parametrize("text", ["2.5", "eight", "", "nan", "inf"])
def test_non_integer_int_is_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match=r"table\.partitions takes a"):
        Config().with_overrides({"table.partitions": text})


def test_non_numeric_float_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"replication\.lease_s takes a float, got 'soon'"):
        Config().with_overrides({"replication.lease_s": "soon"})


@pytest.mark.parametrize("text", ["nan", "inf", "0", "-2"])
def test_lease_must_be_positive_and_finite(text: str) -> None:
    with pytest.raises(ConfigError, match=r"replication\.lease_s must be a positive number"):
        Config().with_overrides({"replication.lease_s": text})


def test_wrong_python_type_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"table\.partitions takes an int"):
        Config().with_overrides({"table.partitions": 2.5})


def test_bool_is_not_an_int() -> None:
    with pytest.raises(ConfigError):
        Config().with_overrides({"table.partitions": True})


def test_unknown_key_distribution_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"key_distribution must be one of uniform, zipf"):
        Config().with_overrides({"workload.key_distribution": "pareto"})


def test_parse_assignments() -> None:
    assert parse_assignments([]) == {}
    assert parse_assignments(["replication.lease_s=3", " table.name =a=b", "x="]) == {
        "replication.lease_s": "3", "table.name": "a=b", "x": ""}
    # The last assignment of a key wins.
    assert parse_assignments(["a.b=1", "a.b=2"]) == {"a.b": "2"}
    with pytest.raises(ConfigError, match=r"--set takes key=value, got 'foo'"):
        parse_assignments(["a.b=1", "foo"])


def test_parsed_assignments_feed_overrides() -> None:
    cfg = Config().with_overrides(parse_assignments(["replication.lease_s=3",
                                                     "workload.rate_per_s=50"]))
    assert (cfg.replication.lease_s, cfg.workload.rate_per_s) == (3.0, 50.0)


# -- types: every field is checked against its declared type ----------------

SECTION_CLASSES = typing.get_type_hints(Config)

#: Python values of the wrong type for each kind of field.
WRONG = {
    "int": [2.5, 4.0, True, "8", None],
    "float": [True, "2.0", None, (1.0, 2.0)],
    "bool": [1, 0, "yes", None],
    "str": [5, None, b"orders", ("a",)],
    "range": [5.0, (1.0,), (1.0, 2.0, 3.0), ("1", "60"), (True, 60.0), "1,60", None],
}
KIND_WORDS = {"int": "an int", "float": "a float", "bool": "a bool", "str": "a str",
              "range": "a range lo,hi of two numbers"}


def _kind(value: object) -> str:
    if isinstance(value, tuple):
        return "range"
    return type(value).__name__


def _every_key_with_a_wrong_value() -> list[tuple[str, object]]:
    cfg = Config()
    out = []
    for key in Config.keys():
        section, name = key.split(".")
        kind = _kind(getattr(getattr(cfg, section), name))
        out += [(key, wrong) for wrong in WRONG[kind]]
    return out


@pytest.mark.parametrize("key, wrong", _every_key_with_a_wrong_value())
def test_every_section_rejects_a_value_of_the_wrong_type(key: str, wrong: object) -> None:
    section, name = key.split(".")
    section_class = getattr(Config(), section).__class__
    kind = _kind(getattr(getattr(Config(), section), name))
    expected = f"{key} takes {KIND_WORDS[kind]}"
    # Built directly (a scenario or a test may) ...
    with pytest.raises(ConfigError) as info:
        section_class(**{name: wrong})
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)
    # ... and through an override, unless it is text the command line parses.
    if not isinstance(wrong, str):
        with pytest.raises(ConfigError, match="^" + re.escape(expected)):
            Config().with_overrides({key: wrong})


def test_wrong_type_message_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        TableConfig(partitions=2.5)  # type: ignore[arg-type]
    assert str(info.value) == "table.partitions takes an int, got 2.5"
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"table.partitions": 4.0})
    assert str(info.value) == "table.partitions takes an int, got 4.0"
    with pytest.raises(ConfigError) as info:
        NemesisConfig(bounded=1)  # type: ignore[arg-type]
    assert str(info.value) == "nemesis.bounded takes a bool, got 1"
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"table.name": 7})
    assert str(info.value) == "table.name takes a str, got 7"


def test_config_checks_its_sections_types() -> None:
    with pytest.raises(ConfigError, match=r"^table takes a TableConfig, got \{'partitions': 4\}"):
        Config(table={"partitions": 4})  # type: ignore[arg-type]


def test_float_fields_take_ints_and_store_floats() -> None:
    net = NetworkConfig(latency_sigma=1)
    assert net.latency_sigma == 1.0 and type(net.latency_sigma) is float
    run = RunConfig(quiesce_s=5)
    assert type(run.quiesce_s) is float
    cfg = Config().with_overrides({"network.latency_sigma": 0, "healing.detection_s": 7})
    assert type(cfg.network.latency_sigma) is float
    assert cfg.healing.detection_s == 7.0 and type(cfg.healing.detection_s) is float


def test_int_fields_take_integral_numbers_as_plain_ints() -> None:
    np = pytest.importorskip("numpy")
    table = TableConfig(partitions=np.int64(4))
    assert table.partitions == 4 and type(table.partitions) is int
    with pytest.raises(ConfigError, match=r"table\.partitions takes an int"):
        TableConfig(partitions=np.float64(4.0))  # type: ignore[arg-type]


def test_range_checks_are_kept_after_the_type_check() -> None:
    with pytest.raises(ConfigError, match=r"^table\.partitions must be a positive number, got 0$"):
        TableConfig(partitions=0)
    with pytest.raises(ConfigError, match=r"^replication\.lease_s must be a positive number"):
        ReplicationConfig(lease_s=-1)


def test_every_declared_field_type_is_supported() -> None:
    # Every field of every section has a kind the check knows; an int
    # default sits in an int field (not a float one), and so on.
    for section_name, section_class in SECTION_CLASSES.items():
        section = getattr(Config(), section_name)
        assert type(section) is section_class
        hints = typing.get_type_hints(type(section))
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            hint = hints[f.name]
            if hint == Range:
                assert isinstance(value, tuple) and all(type(v) is float for v in value)
            else:
                assert type(value) is hint, f"{section_name}.{f.name}: {value!r} is not {hint}"


# -- range fields ------------------------------------------------------------

@pytest.mark.parametrize("text", ["1,60", "1:60", " 1 , 60 ", "1.0:60.0", "(1, 60)", "[1,60]",
                                  "1e0,6e1"])
def test_range_from_the_command_line(text: str) -> None:
    cfg = Config().with_overrides(parse_assignments([f"nemesis.host_power_s={text}"]))
    assert cfg.nemesis.host_power_s == (1.0, 60.0)
    assert all(type(v) is float for v in cfg.nemesis.host_power_s)


def test_range_may_be_a_single_point() -> None:
    cfg = Config().with_overrides({"nemesis.host_power_s": "5:5"})
    assert cfg.nemesis.host_power_s == (5.0, 5.0)


def test_range_from_python_values_is_stored_as_a_tuple_of_floats() -> None:
    cfg = Config().with_overrides({"nemesis.host_power_s": [2, 30],
                                   "nemesis.loss": (0, 1)})
    assert cfg.nemesis.host_power_s == (2.0, 30.0)
    assert type(cfg.nemesis.host_power_s) is tuple
    assert all(type(v) is float for v in cfg.nemesis.host_power_s + cfg.nemesis.loss)
    hash(cfg.nemesis)  # frozen and hashable: no list inside


@pytest.mark.parametrize("text", ["1", "", "1,2,3", "1:2:3", "1,2:3", "a,b", "1-60", "1,", ":60",
                                  "(1,60", "1 60"])
def test_malformed_range_is_rejected(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"nemesis.host_power_s": text})
    assert str(info.value) == (f"nemesis.host_power_s takes a range lo,hi of two numbers "
                               f"(e.g. 1,60 or 1:60), got {text!r}")


@pytest.mark.parametrize("text, shown", [("60,1", "60.0,1.0"), ("-1,5", "-1.0,5.0"),
                                         ("nan,1", "nan,1.0"), ("1,inf", "1.0,inf"),
                                         ("2:1.5", "2.0,1.5")])
def test_range_must_be_finite_non_negative_and_ordered(text: str, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config().with_overrides({"nemesis.mean_gap_s": text})
    assert str(info.value) == ("nemesis.mean_gap_s must be a range lo,hi of finite numbers "
                               f"with 0 <= lo <= hi, got {shown}")


@pytest.mark.parametrize("key, text, match", [
    ("nemesis.host_power_s", "0,10", r"nemesis\.host_power_s must be above 0 s, got 0.0,10.0"),
    ("nemesis.delay_s", "0,0", r"nemesis\.delay_s must be above 0 s"),
    ("nemesis.mean_gap_s", "0,10", r"nemesis\.mean_gap_s must be at least 0\.001 s"),
    ("nemesis.slowdown", "0.5,3", r"nemesis\.slowdown must be at least 1 \(times slower\), got 0.5,3.0"),
    ("nemesis.loss", "0.1,1.5", r"nemesis\.loss is a probability, at most 1, got 0.1,1.5"),
    ("nemesis.extra_delay_s", "0,0.1", r"nemesis\.extra_delay_s must be above 0 s"),
    ("nemesis.end_s", "inf", r"nemesis\.end_s must be finite"),
])
def test_nemesis_ranges_are_validated(key: str, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match="^" + match):
        Config().with_overrides({key: text})


def test_nemesis_range_edges_that_are_fine() -> None:
    cfg = Config().with_overrides({"nemesis.slowdown": "1,1", "nemesis.loss": "0,1",
                                   "nemesis.mean_gap_s": "0.001,1"})
    assert cfg.nemesis.slowdown == (1.0, 1.0)
    assert cfg.nemesis.loss == (0.0, 1.0)


def test_every_nemesis_kind_has_a_duration_range() -> None:
    keys = Config.keys()
    nemesis = NemesisConfig()
    for kind in NEMESIS_KINDS:
        assert f"nemesis.{kind}_s" in keys
        assert nemesis.duration_range(kind) == getattr(nemesis, f"{kind}_s")
    assert nemesis.duration_range("host_power") == (1.0, 60.0)


def test_ranges_go_to_json_and_back() -> None:
    cfg = Config().with_overrides({"nemesis.host_power_s": "3:30"})
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["nemesis"]["host_power_s"] == [3.0, 30.0]
    assert data["nemesis"]["slowdown"] == [5.0, 200.0]
    flat = {f"{s}.{k}": v for s, section in data.items() for k, v in section.items()}
    assert Config().with_overrides(flat) == cfg


def test_keys_show_ranges_as_set_takes_them() -> None:
    assert format_value((1.0, 60.0)) == "1.0,60.0"
    assert format_value(2.0) == "2.0"
    assert format_value("orders") == "'orders'"
    cfg = Config()
    for key in Config.keys():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if isinstance(value, tuple):
            assert Config().with_overrides({key: format_value(value)}) == cfg, key


# -- new keys: the nemesis' and the run's numbers, keys for code in progress --

@pytest.mark.parametrize("key, default", [
    ("metrics.enabled", True),
    ("storage.checkpoint_every_records", 1000),
    ("storage.wal_persist_sigma", 0.3),
    ("healing.bootstrap_timeout_s", 5.0),
    ("network.impair_delay_sigma", 0.5),
    ("run.final_read_timeout_s", 120.0),
    ("run.final_read_window", 64),
    ("run.final_read_retry_s", 0.5),
    ("run.liveness_retry_s", 0.5),
    ("run.commit_settle_s", 2.0),
    ("nemesis.mean_gap_s", (15.0, 90.0)),
    ("nemesis.slowdown", (5.0, 200.0)),
    ("nemesis.loss", (0.01, 0.30)),
    ("nemesis.extra_delay_s", (0.005, 0.200)),
    ("nemesis.host_power_s", (1.0, 60.0)),
    ("nemesis.rack_power_s", (2.0, 60.0)),
    ("nemesis.az_power_s", (5.0, 60.0)),
    ("nemesis.router_power_s", (2.0, 60.0)),
    ("nemesis.az_cut_s", (1.0, 40.0)),
    ("nemesis.host_cut_s", (1.0, 40.0)),
    ("nemesis.slow_host_s", (5.0, 60.0)),
    ("nemesis.loss_s", (2.0, 40.0)),
    ("nemesis.delay_s", (2.0, 40.0)),
])
def test_new_keys_exist_with_their_defaults(key: str, default: object) -> None:
    assert key in Config.keys()
    section, name = key.split(".")
    value = getattr(getattr(Config(), section), name)
    assert value == default and type(value) is type(default)


@pytest.mark.parametrize("key, text, match", [
    ("metrics.enabled", "maybe", "takes a bool"),
    ("storage.checkpoint_every_records", "0", "must be a positive number"),
    ("storage.checkpoint_every_records", "2.5", "takes an int"),
    ("storage.wal_persist_sigma", "-0.1", "must be zero or more"),
    ("healing.bootstrap_timeout_s", "0", "must be a positive number"),
    ("network.impair_delay_sigma", "nan", "must be zero or more"),
    ("run.final_read_timeout_s", "0", "must be a positive number"),
    ("run.final_read_window", "0", "must be a positive number"),
    ("run.final_read_window", "1.5", "takes an int"),
    ("run.final_read_retry_s", "-1", "must be a positive number"),
    ("run.liveness_retry_s", "inf", "must be a positive number"),
    ("run.commit_settle_s", "-1", "must be zero or more"),
])
def test_new_keys_are_validated(key: str, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(key) + " " + match):
        Config().with_overrides({key: text})


def test_metrics_enabled_takes_only_a_bool() -> None:
    assert Config().with_overrides({"metrics.enabled": "off"}).metrics.enabled is False
    with pytest.raises(ConfigError, match=r"^metrics\.enabled takes a bool, got 1$"):
        Config().with_overrides({"metrics.enabled": 1})


def test_commit_settle_may_be_zero() -> None:
    assert Config().with_overrides({"run.commit_settle_s": "0"}).run.commit_settle_s == 0.0


# -- the nemesis reads its numbers from the options ---------------------------

def _schedule(seed: int, **overrides: object) -> FaultSchedule:
    cfg = Config().with_overrides({f"nemesis.{k}": v for k, v in overrides.items()})
    world = World(cfg, seed)
    return draw_schedule(world, world.streams.stream("lab/faults"))


# Drawn before the nemesis' constants moved into NemesisConfig; the defaults
# must draw the very same schedules.
SEED_10 = [
    Fault(24.078, "power_off", "az-1/r2"),
    Fault(56.759, "power_on", "az-1/r2"),
    Fault(57.759, "power_off", "az-3/r2"),
    Fault(66.897, "cut", "az-3", "az-1", True),
    Fault(71.369, "heal", "az-3", "az-1", True),
    Fault(78.284, "power_on", "az-3/r2"),
    Fault(79.284, "slow", "az-2/r2/h1", factor=70.1),
    Fault(85.245, "impair", "region", delay_s=0.0811),
    Fault(96.368, "impair", "region", delay_s=0.1813),
    Fault(102.4, "cut", "az-2", "az-3"),
    Fault(112.332, "restore", "region"),
    Fault(118.917, "impair", "az-1", "az-2", loss=0.275),
    Fault(125.372, "restore", "region"),
    Fault(126.057, "heal", "az-2", "az-3"),
    Fault(137.414, "recover", "az-2/r2/h1"),
    Fault(138.414, "power_off", "az-1/r1"),
    Fault(140.259, "slow", "az-1/r1/h2", factor=92.3),
    Fault(147.797, "restore", "az-1", "az-2"),
    Fault(155.704, "recover", "az-1/r1/h2"),
    Fault(176.722, "power_on", "az-1/r1"),
]
SEED_18_UNBOUNDED = [
    Fault(21.208, "power_off", "az-1/r1"),
    Fault(25.747, "power_off", "az-2/r2/h3"),
    Fault(42.417, "power_on", "az-1/r1"),
    Fault(59.736, "impair", "region", delay_s=0.1378),
    Fault(60.742, "power_on", "az-2/r2/h3"),
    Fault(74.144, "power_off", "az-3/r1"),
    Fault(82.316, "restore", "region"),
    Fault(83.889, "power_on", "az-3/r1"),
    Fault(85.509, "impair", "az-2", "az-1", delay_s=0.189),
    Fault(98.388, "restore", "az-2", "az-1"),
    Fault(126.302, "slow", "az-1/r2/h2", factor=97.3),
    Fault(133.549, "impair", "region", delay_s=0.0901),
    Fault(134.615, "power_off", "az-1/r1"),
    Fault(136.725, "restore", "region"),
    Fault(141.463, "recover", "az-1/r2/h2"),
    Fault(161.329, "power_on", "az-1/r1"),
]


def _without_newer(seed: int, **overrides: object) -> list[Fault]:
    """The default schedule of ``seed`` less what the newer kinds alone draw."""
    full = list(_schedule(seed, **overrides))
    for f in _schedule(seed, kinds=",".join(CHAOS), **overrides):
        full.remove(f)
    return full


def test_default_options_draw_the_schedules_they_always_drew() -> None:
    # The newer kinds draw from a stream of their own: the older kinds' faults
    # are the very same, the newer ones come besides.
    classic = ",".join(k for k in NEMESIS_KINDS if k not in CHAOS)
    bounded = _schedule(10, kinds=classic)
    assert list(bounded) == SEED_10
    info = dict(bounded.info)
    assert info.pop("fault_points") == _schedule(10).info["fault_points"]
    assert info == {
        "bounded": True, "episodes": 10, "bound_exceeded": False,
        "swarm": {"az_cut": {"mean_gap_s": 50.413}, "delay": {"mean_gap_s": 73.938},
                  "loss": {"mean_gap_s": 54.918}, "rack_power": {"mean_gap_s": 55.731},
                  "slow_host": {"mean_gap_s": 39.795}},
        "by_kind": {"az_cut": 2, "delay": 2, "loss": 1, "rack_power": 3, "slow_host": 2}}
    assert _without_newer(10) == SEED_10
    unbounded = _schedule(18, bounded=False, kinds=classic)
    assert list(unbounded) == SEED_18_UNBOUNDED
    info = dict(unbounded.info)
    del info["fault_points"]
    assert info == {
        "bounded": False, "episodes": 8, "bound_exceeded": True,
        "swarm": {"delay": {"mean_gap_s": 88.081}, "host_power": {"mean_gap_s": 59.117},
                  "rack_power": {"mean_gap_s": 29.64}, "slow_host": {"mean_gap_s": 86.776}},
        "by_kind": {"delay": 3, "host_power": 1, "rack_power": 3, "slow_host": 1}}
    assert _without_newer(18, bounded=False) == SEED_18_UNBOUNDED


def test_the_newer_kinds_draw_their_faults() -> None:
    schedule = _schedule(2, kinds=",".join(CHAOS), enable_p=1.0, chaos_mean_gap_s="20:20",
                         group_power_s="4:4", row_power_s="4:4", region_power_s="4:4",
                         power_back_s="0:10", blip_s="0.5:0.5", duplicate="0.1:0.1",
                         reorder_window_s="0.05:0.05", stale="0.02:0.02", stale_hold_s="5:5",
                         buggify_enable_p=1.0)
    assert all(schedule.info["by_kind"][kind] > 0 for kind in CHAOS), schedule.info
    assert sorted(schedule.info["fault_points"]) == sorted(POINTS)
    blips = [f for f in schedule if f.action == "blip"]
    assert {f.for_s for f in blips} == {0.5} and {f.target for f in blips} <= set(STEPS)
    assert {f.duplicate for f in schedule if f.duplicate} == {0.1}
    assert {f.window_s for f in schedule if f.window_s} == {0.05}
    assert {(f.stale, f.hold_s) for f in schedule if f.stale} == {(0.02, 5.0)}
    # A group comes back one replica at a time, each within power_back_s of
    # the outage's end; a region (every AZ off at once) host by host.
    for off in (f for f in schedule if f.action == "power_off" and f.target.startswith("group:")):
        ons = [f for f in schedule if f.target.startswith(off.target + "#")
               and off.t_s + 4 <= f.t_s <= off.t_s + 14.001]
        assert {f.target[-1] for f in ons} == {"0", "1", "2"}
    region_offs = [f for f in schedule if f.action == "power_off" and f.target == "az-1"]
    assert region_offs
    t = region_offs[0].t_s
    assert {f.target for f in schedule if f.t_s == t and f.action == "power_off"} >= {
        "az-1", "az-2", "az-3"}
    storage_back = [f for f in schedule if f.action == "power_on" and f.target.count("/") == 2
                    and t + 4 <= f.t_s <= t + 14.001]
    assert len({f.target for f in storage_back}) == 18
    assert len({f.t_s for f in storage_back}) > 1  # not all at once


def test_the_nemesis_draws_from_its_options() -> None:
    # One length per kind (loss and delay share theirs: their faults look
    # alike), so that pairing each undo with the first open start of its
    # target is exact.
    points = {"host_power_s": "3:3", "rack_power_s": "4:4", "az_power_s": "5:5",
              "router_power_s": "6:6", "az_cut_s": "7:7", "host_cut_s": "8:8",
              "slow_host_s": "9:9", "loss_s": "10:10", "delay_s": "10:10"}
    classic = ",".join(k for k in NEMESIS_KINDS if k not in CHAOS)
    schedule = _schedule(1, enable_p=1.0, bounded=False, slowdown="7:7", loss="0.2:0.2",
                         extra_delay_s="0.05:0.05", kinds=classic, **points)
    assert all(schedule.info["by_kind"][kind] > 0 for kind in classic.split(","))
    undo = {"power_on": "power_off", "heal": "cut", "recover": "slow", "restore": "impair"}
    open_starts: dict[tuple[str, str, str | None], list[float]] = {}
    lengths = []
    for f in schedule:
        if f.action in undo:
            lengths.append(round(f.t_s - open_starts[(undo[f.action], f.target, f.peer)].pop(0), 3))
        else:
            open_starts.setdefault((f.action, f.target, f.peer), []).append(f.t_s)
    assert set(lengths) == {3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0}
    assert {f.factor for f in schedule if f.action == "slow"} == {7.0}
    assert {f.loss for f in schedule if f.loss is not None} == {0.2}
    assert {f.delay_s for f in schedule if f.delay_s is not None} == {0.05}
    # The mean gap between faults of a kind: a shorter one draws more faults.
    often = _schedule(1, enable_p=1.0, bounded=False, mean_gap_s="2:2", kinds=classic)
    assert all(v == {"mean_gap_s": 2.0} for v in often.info["swarm"].values())
    assert often.info["episodes"] > 3 * schedule.info["episodes"]
