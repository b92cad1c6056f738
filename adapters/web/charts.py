"""Charts drawn on the server as SVG: grouped bars, one colour per series, no JavaScript.

Text in the SVG is escaped by the template engine's autoescape (the chart is rendered
through a template, not assembled as markup here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 44, 38, 12
COLOURS = ("#2f6fdf", "#e2893b", "#3aa65b", "#b04fc7", "#c94a4a")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: where it stands, its size, its colour and what hovering says."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the SVG template draws."""

    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the value axis
    labels: list[tuple[float, str]]  # (x, label) under the groups
    legend: list[tuple[str, str]]  # (colour, series name)
    baseline: float


def _nice(top: float) -> float:
    """A round maximum for the value axis (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 10 ** len(str(int(top))) / 10
    for step in (1, 2, 5, 10):
        if top <= step * power:
            return float(step * power)
    return float(10 * power)


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: str = "{:g}",
) -> Chart:
    """Grouped bars: one group per label, one bar per series (None draws nothing)."""
    values = [v for _, vals in series for v in vals if v is not None]
    top = _nice(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    group = plot_w / max(1, len(labels))
    bar_w = max(1.0, group * 0.8 / max(1, len(series)))
    shown: list[Bar] = []
    for s, (name, vals) in enumerate(series):
        for g, value in enumerate(vals):
            if value is None:
                continue
            h = plot_h * value / top
            x = LEFT + g * group + group * 0.1 + s * bar_w
            title = f"{labels[g]} · {name}: {fmt.format(value)}"
            shown.append(Bar(x, TOP + plot_h - h, bar_w, h, COLOURS[s % len(COLOURS)], title))
    every = max(1, len(labels) // 12)  # at most ~12 labels under the axis
    under = [
        (LEFT + g * group + group / 2, label[-5:] if len(label) == 10 else label[:14])
        for g, label in enumerate(labels)
        if g % every == 0
    ]
    ticks = [(TOP + plot_h * (1 - k / 4), fmt.format(top * k / 4)) for k in range(5)]
    legend = [(COLOURS[s % len(COLOURS)], name) for s, (name, _v) in enumerate(series)]
    return Chart(WIDTH, HEIGHT, shown, ticks, under, legend, TOP + plot_h)
