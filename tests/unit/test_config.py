"""Config: defaults, typed dotted-key overrides, and clear errors for user mistakes."""
from __future__ import annotations

import dataclasses

import pytest

from ddbsim.config import Config, ConfigError, parse_assignments


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
