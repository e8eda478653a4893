"""The report's chart: cost per 100k inferences against p99 latency, one point per measured row
with a known price, labelled with its hardware and batch, the Pareto frontier as a step line and
the p99 target as a dashed vertical line. Drawn by matplotlib into SVG markup that the page
inlines (text kept as text, so the page is searchable and the browser test can read it)."""

from __future__ import annotations

import io
import re
from typing import Any

from amazonei_setup.engines.benchmark.results import hardware_label
from amazonei_setup.seats.untrusted import plain

FRONTIER_ID = "pareto-frontier"  # the step line's SVG group id
TARGET_ID = "p99-target"
POINTS_ID = "points"
SIMULATED_TITLE = (
    "SIMULATED: every candidate was measured on the local CPU (sandbox), not on its accelerator"
)


def charted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the chart can place: measured, with a price and a p99."""
    return [
        r
        for r in rows
        if r.get("status") == "ok"
        and r.get("cost_per_100k_usd") is not None
        and r.get("p99_ms") is not None
    ]


def _label(row: dict[str, Any]) -> str:
    # `$` would start matplotlib's mathtext; the text is the candidate's, shown as is.
    hardware = hardware_label(row["instance_type"], row.get("accelerator"))
    text = f"{hardware} · batch {row['batch_size']}"
    return plain(text).replace("$", r"\$")


def _wide(values: list[float]) -> bool:
    """Log scale when the figures span more than 20x (a CPU at batch 1 beside a GPU at 8)."""
    return min(values) > 0 and max(values) / min(values) > 20


def cost_latency_svg(
    rows: list[dict[str, Any]], p99_target_ms: float | None, simulated: bool
) -> str:
    """The chart as an `<svg>` element (no XML prolog), ready to inline in HTML."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    points = charted(rows)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "amazonei-setup"}):
        figure = Figure(figsize=(9, 5.5))
        # Fixed margins, not a layout engine: it draws the figure twice (half the time).
        figure.subplots_adjust(left=0.09, right=0.97, bottom=0.1, top=0.88 if simulated else 0.92)
        axes = figure.subplots()
        title = "Cost per 100k inferences against p99 latency"
        axes.set_title(f"{title}\n{SIMULATED_TITLE}" if simulated else title, fontsize=11)
        if simulated:
            axes.title.set_color("#b00020")
        axes.set_xlabel("p99 latency (ms), single stream")
        axes.set_ylabel("USD per 100k inferences, single stream")
        axes.grid(True, which="both", alpha=0.3)
        if points:
            _draw(axes, points, p99_target_ms)
        else:
            axes.text(0.5, 0.5, "No measured row with a known price to chart", ha="center",
                      va="center", transform=axes.transAxes)
            axes.set_xticks([])
            axes.set_yticks([])
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)


def _draw(axes: Any, points: list[dict[str, Any]], p99_target_ms: float | None) -> None:
    xs = [float(r["p99_ms"]) for r in points]
    ys = [float(r["cost_per_100k_usd"]) for r in points]
    on = [bool(r.get("pareto")) for r in points]
    for frontier_point, marker, size, color, label, gid in (
        (False, "o", 36, "#5b6b7b", "measured", POINTS_ID),
        (True, "*", 140, "#d98200", "Pareto frontier", f"{POINTS_ID}-frontier"),
    ):
        chosen = [(x, y) for x, y, f in zip(xs, ys, on, strict=True) if f is frontier_point]
        if chosen:
            scatter = axes.scatter(
                [x for x, _ in chosen], [y for _, y in chosen],
                marker=marker, s=size, color=color, label=label, zorder=3,
            )
            scatter.set_gid(gid)
    frontier = sorted((x, y) for x, y, f in zip(xs, ys, on, strict=True) if f)
    if frontier:
        (line,) = axes.step(
            [x for x, _ in frontier], [y for _, y in frontier], where="post",
            color="#d98200", linewidth=1.5, zorder=2,
        )
        line.set_gid(FRONTIER_ID)
    for x, y, row in zip(xs, ys, points, strict=True):
        axes.annotate(_label(row), (x, y), textcoords="offset points", xytext=(6, 5), fontsize=8)
    if p99_target_ms is not None:
        target = axes.axvline(
            p99_target_ms, linestyle="--", color="#b00020", linewidth=1.2,
            label=f"p99 target {p99_target_ms:g} ms",
        )
        target.set_gid(TARGET_ID)
    if _wide(xs + ([p99_target_ms] if p99_target_ms else [])):
        _log_scale(axes.xaxis, axes.set_xscale)
    if _wide(ys):
        _log_scale(axes.yaxis, axes.set_yscale)
    axes.margins(x=0.15, y=0.15)
    axes.legend(loc="upper right", fontsize=8)


def _log_scale(axis: Any, set_scale: Any) -> None:
    """Log scale with plain tick labels at 1, 2, 5 × 10^n (2, 5, 10, 20 ms: not 10^1)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    set_scale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())
