"""A result in Jupyter: its repr and HTML table, its DataFrames and its
figures (on matplotlib's Agg backend), and ``ddbsim run --plot``."""
from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon, Rectangle  # noqa: E402

from ddbsim.lab import Scenario, outage, run_all  # noqa: E402
from ddbsim.lab.frames import RUN_COLUMNS  # noqa: E402
from ddbsim.lab.plots import fault_windows  # noqa: E402
from ddbsim.lab.result import FIGURE_KEYS, Result  # noqa: E402

pd = pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parents[2]
DURATION_S = 120.0
HOST = "az-2/r1/h1"


@pytest.fixture(scope="module")
def result() -> Result:
    """Two variants on seed 2: az-2 off from 20 s to 80 s; one host off from
    20 s to 100 s (healed by a log replica)."""
    common = {"workload.rate_per_s": 40, "metrics.window_s": 30, "table.partitions": 4}
    return run_all([
        Scenario(name="views", variant="az", duration_s=DURATION_S, overrides=common,
                 faults=outage("az-2", 20, 60)),
        Scenario(name="views", variant="host", duration_s=DURATION_S, overrides=common,
                 faults=outage(HOST, 20, 80)),
    ], seed=2)


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


def _single(result: Result) -> Result:
    """The first variant's data as a run of a scenario without variants."""
    data = copy.deepcopy(result.variants[0].data)
    data["variant"] = ""
    return Result(data)


def _metrics_off(result: Result) -> Result:
    data = copy.deepcopy(result.variants[0].data)
    data.update(dict.fromkeys(FIGURE_KEYS))
    return Result(data)


# ----------------------------------------------------------------------
# repr
# ----------------------------------------------------------------------
def test_repr_names_the_run_and_every_variant(result: Result) -> None:
    text = repr(result)
    assert text.startswith("<Result views seed 2, 120s: ") and "object at" not in text
    for part in result.variants:
        overall = part.data["availability"]["overall"]
        assert f"{part.data['variant']}: availability {100 * overall:.4f}%" in text
    assert "checks valid" in text
    assert "metrics off" in repr(_metrics_off(result))


def test_html_is_a_table_of_the_availability_figures(result: Result) -> None:
    html = result._repr_html_()
    assert html.startswith("<table>") and html.endswith("</table>")
    assert "<caption>views, seed 2, 120 s of traffic</caption>" in html
    rows = html.split("<tr>")[2:]  # after the header row
    assert len(rows) == 2
    for row, part in zip(rows, result.variants, strict=True):
        av = part.data["availability"]
        assert row.startswith(f"<td>{part.data['variant']}</td>")
        for x in (av["overall"], av["read"], av["write"]):
            assert f"<td>{100 * x:.4f}%</td>" in row
        assert f"<td>{part.data['requests']['total']:,}</td>" in row
    off = _metrics_off(result)._repr_html_()
    assert "<table>" in off and "metrics.enabled off" in off and "<td>-</td>" in off


# ----------------------------------------------------------------------
# frames
# ----------------------------------------------------------------------
def test_to_frame_has_each_variant_once(result: Result) -> None:
    frame = result.to_frame()
    windows = [len(p.data["availability"]["windows"]) for p in result.variants]
    assert windows == [4, 4]
    assert len(frame) == sum(windows)
    assert list(frame.columns[:3]) == list(RUN_COLUMNS)
    assert frame.groupby("variant").size().to_dict() == {"az": 4, "host": 4}
    assert "by_kind" not in frame.columns
    kinds = [c for c in frame.columns if c.startswith("by_kind.")]
    assert "by_kind.get_strong" in kinds and "by_kind.put" in kinds
    assert all(pd.api.types.is_float_dtype(frame[c]) for c in kinds + ["read", "write"])
    first = result.variants[0].data["availability"]["windows"][1]
    row = frame[(frame.variant == "az") & (frame.start_s == first["start_s"])].iloc[0]
    assert row["write"] == first["write"]
    assert row["by_kind.get_strong"] == first["by_kind"]["get_strong"]
    assert result.to_records() == frame.to_dict("records")


def test_a_run_without_variants_names_its_scenario(result: Result) -> None:
    frame = _single(result).to_frame()
    assert len(frame) == 4 and set(frame.variant) == {"views"}


def test_frames_of_failovers_healing_and_partition_errors(result: Result) -> None:
    for frame, key in ((result.failovers_frame(), ("leaders", "failovers")),
                       (result.healing_frame(), ("healing",)),
                       (result.partition_errors_frame(), ("partition_errors",))):
        assert list(frame.columns[:3]) == list(RUN_COLUMNS)
        for part in result.variants:
            items: Any = part.data
            for k in key:
                items = items[k]
            assert len(frame[frame.variant == part.data["variant"]]) == len(items), key
    healing = result.healing_frame()
    host = healing[healing.variant == "host"]
    assert list(host.lost_host.unique()) == [HOST]
    assert host.log_replica_at_s.notna().all()  # the host's replicas were healed
    assert result.failovers_frame().failover_s.notna().any()


def test_frames_without_rows_keep_their_columns(result: Result) -> None:
    off = _metrics_off(result)
    assert off.to_records() == []
    for frame in (off.to_frame(), off.partition_errors_frame()):
        assert frame.empty and list(frame.columns[:3]) == list(RUN_COLUMNS)
    assert "start_s" in off.to_frame().columns and "error_span_s" in off.partition_errors_frame()


def test_frame_and_plot_helpers_declare_what_they_return() -> None:
    for name in ("to_frame", "failovers_frame", "healing_frame", "partition_errors_frame"):
        assert getattr(Result, name).__annotations__["return"] == "pd.DataFrame", name
    for name in ("plot_availability", "plot_latency", "plot_healing"):
        assert getattr(Result, name).__annotations__["return"] == "Axes", name


# ----------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------
def _spans(ax: Any) -> list[tuple[float, float]]:
    """The x extents of the shaded spans (axvspan patches)."""
    out = []
    for p in ax.patches:
        if isinstance(p, (Rectangle, Polygon)):
            xs = [x for x, _y in p.get_xy()] if isinstance(p, Polygon) else \
                [p.get_x(), p.get_x() + p.get_width()]
            out.append((round(min(xs), 3), round(max(xs), 3)))
    return sorted(out)


def _inside_figure(ax: Any) -> None:
    """Title and axis labels are drawn inside the figure (nothing clipped)."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 1 and extent.y0 >= box.y0 - 1, text.get_text()
        assert extent.x1 <= box.x1 + 1 and extent.y1 <= box.y1 + 1, text.get_text()


def test_fault_windows_of_both_variants(result: Result) -> None:
    windows = fault_windows([p.data for p in result.variants])
    assert windows == [(20.0, 80.0, "az-2 off (only az)"),
                       (20.0, 100.0, f"{HOST} off (only host)")]


def test_fault_windows_pair_undo_actions_and_end_with_the_traffic() -> None:
    data = {"scenario": "s", "variant": "", "duration_s": 100.0, "faults": [
        {"t_s": 5.0, "action": "cut", "target": "az-1", "peer": "az-2"},
        {"t_s": 10.0, "action": "power_off", "target": "az-3/r1/h1"},
        {"t_s": 12.0, "action": "power_off", "target": "leader:p-0001 (none)"},
        {"t_s": 15.0, "action": "heal", "target": "az-1", "peer": "az-2"},
        {"t_s": 30.0, "action": "slow", "target": "az-2/r1/h2", "factor": 4.0},
        {"t_s": 40.0, "action": "impair", "target": "region", "loss": 0.1},
        {"t_s": 50.0, "action": "heal_all", "target": ""},
        {"t_s": 60.0, "action": "power_off", "target": "az-1/r2"}]}
    assert fault_windows([data]) == [
        (5.0, 15.0, "az-1<->az-2 cut"), (10.0, 50.0, "az-3/r1/h1 off"),
        (30.0, 50.0, "az-2/r1/h2 slow x4"), (40.0, 50.0, "region impaired"),
        (60.0, 100.0, "az-1/r2 off")]


def test_availability_figure(result: Result) -> None:
    ax = result.plot_availability()
    title = ax.get_title()
    assert "views" in title and "seed 2" in title and "per 30 s window" in title
    assert "%" in ax.get_ylabel() and "(s)" in ax.get_xlabel()
    assert ax.get_xlim() == (0.0, DURATION_S)
    assert _spans(ax) == [(20.0, 80.0), (20.0, 100.0)]  # one per fault window
    lines = ax.get_lines()
    assert len(lines) == 4  # write and read of each variant, the headline once
    labels = sorted(line.get_label() for line in lines)
    assert [label.split(" (")[0] for label in labels] == ["az read", "az write", "host read",
                                                          "host write"]
    az = result.variants[0].data["availability"]
    assert f"az write ({100 * az['write']:.4f}% overall)" in labels
    for line in lines:
        xs, ys = line.get_xdata(), line.get_ydata()
        assert xs[0] == 0.0 and xs[-1] == DURATION_S  # the whole run, window edges
        assert max(ys) > 1.0 and max(ys) <= 100.0  # in %, not fractions
    az_write = next(line for line in lines if line.get_label().startswith("az write"))
    windows = result.variants[0].data["availability"]["windows"]
    assert list(az_write.get_ydata()[:-1]) == [100 * w["write"] for w in windows]
    _inside_figure(ax)


def test_availability_figure_saved_keeps_its_labels(result: Result) -> None:
    ax = result.plot_availability()
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    _inside_figure(ax)


def test_latency_figure(result: Result) -> None:
    ax = result.plot_latency()
    assert "latency" in ax.get_title() and "seed 2" in ax.get_title()
    assert "(ms)" in ax.get_ylabel() and ax.get_yscale() == "log"
    kinds = [t.get_text() for t in ax.get_xticklabels()]
    assert kinds[:2] == ["get_strong", "get_eventual"] and "put" in kinds
    p99 = [line for line in ax.get_lines() if line.get_marker() == "s"]
    assert len(p99) == 2 * len(kinds)  # one per kind and variant
    expected = sorted(p.data["latency_ms"]["by_kind"][k]["p99"] for p in result.variants
                      for k in kinds)
    assert sorted(line.get_ydata()[0] for line in p99) == expected
    _inside_figure(ax)


def test_healing_timeline(result: Result) -> None:
    ax = result.plot_healing()
    episodes = sum(len(p.data["healing"]) for p in result.variants)
    assert episodes > 0
    assert f"{episodes} lost replicas" in ax.get_title()
    assert len(ax.get_yticklabels()) == episodes
    assert any(HOST in t.get_text() for t in ax.get_yticklabels())
    assert len(ax.collections) == episodes  # a bar per episode
    log_replicas = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(log_replicas) == sum(h["log_replica_at_s"] is not None
                                    for p in result.variants for h in p.data["healing"])
    assert _spans(ax) == [(20.0, 80.0), (20.0, 100.0)]
    assert ax.get_xlim()[0] == 0.0 and ax.get_xlim()[1] >= DURATION_S
    _inside_figure(ax)


def test_figures_draw_on_the_axes_given(result: Result) -> None:
    fig, axes = plt.subplots(3, 1)
    assert result.plot_availability(axes[0]) is axes[0]
    assert result.plot_latency(axes[1]) is axes[1]
    assert result.plot_healing(axes[2]) is axes[2]
    assert len(fig.axes) == 3


def test_figures_of_a_run_without_metrics(result: Result) -> None:
    off = _metrics_off(result)
    with pytest.raises(ValueError, match="metrics.enabled off"):
        off.plot_availability()
    with pytest.raises(ValueError, match="metrics.enabled off"):
        off.plot_latency()
    assert "lost replicas" in off.plot_healing().get_title()  # healing is always observed


# ----------------------------------------------------------------------
# ddbsim run --plot
# ----------------------------------------------------------------------
SCRIPT = '''"""A short outage for the --plot test."""
from ddbsim.lab import Scenario, outage


def build_scenario(**overrides):
    return Scenario(name="plotted", duration_s=60, faults=outage("az-2", 10, 20),
                    overrides={"workload.rate_per_s": 20, "table.partitions": 2,
                               "metrics.window_s": 15, **overrides})
'''


def _ddbsim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-m", "ddbsim.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_run_writes_the_figure(tmp_path: Path) -> None:
    script = tmp_path / "plotted.py"
    script.write_text(SCRIPT)
    png = tmp_path / "out.png"
    proc = _ddbsim("run", str(script), "--seed", "1", "--quiet", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "out.svg"
    proc = _ddbsim("run", str(script), "--quiet", "--plot", str(svg))
    assert proc.returncode == 0, proc.stderr
    text = svg.read_text()
    assert "plotted, seed 1: availability per 15 s window" in text
    assert "availability (%)" in text


@pytest.mark.parametrize(("name", "needle"), [("out.xyz", ".png"), ("nofolder/out.png", "no folder")])
def test_run_refuses_a_bad_plot_path_before_running(tmp_path: Path, name: str, needle: str) -> None:
    script = tmp_path / "plotted.py"
    script.write_text(SCRIPT)
    proc = _ddbsim("run", str(script), "--plot", str(tmp_path / name))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("ddbsim: error: --plot") and needle in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""


def test_importing_ddbsim_needs_neither_pandas_nor_pyplot() -> None:
    code = ("import sys, ddbsim, ddbsim.cli, ddbsim.lab.sweep, ddbsim.lab.frames, ddbsim.lab.plots\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'pandas'"
            " or m == 'matplotlib.pyplot')\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr
