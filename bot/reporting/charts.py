"""Geometry of the report's two charts, drawn as inline SVG by the HTML template (so every label
passes through its autoescaping, and the page needs nothing from the network to show them)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.reporting.summary import DayRow, PromptRow

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 44, 36, 12
SERIES = (("answered", "#2f7d4f"), ("declined", "#d08a1e"), ("other", "#9aa3ad"), ("escalated", "#b3261e"))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]  # axis labels and values
    gridlines: list[tuple[float, str]]  # (y, value)
    legend: list[tuple[str, str]]  # (name, colour)


def questions_per_day(days: list[DayRow]) -> Chart:
    """Each day: a stacked bar of what became of its questions, and a thin bar of hand-overs."""
    top = max([d.asked for d in days] + [d.escalated for d in days] + [1])
    scale = (HEIGHT - BOTTOM - TOP) / top
    slot = (WIDTH - LEFT) / max(len(days), 1)
    width = min(slot * 0.6, 48)
    base = HEIGHT - BOTTOM
    bars, labels = [], []
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - width) / 2
        y = base
        parts = (day.answered, day.declined, day.asked - day.answered - day.declined)
        for (name, colour), count in zip(SERIES[:3], parts, strict=True):
            if count:
                y -= count * scale
                bars.append(Bar(x, y, width * 0.8, count * scale, colour, f"{day.day}: {count} {name}"))
        if day.escalated:
            bars.append(Bar(x + width * 0.82, base - day.escalated * scale, width * 0.18,
                            day.escalated * scale, SERIES[3][1], f"{day.day}: {day.escalated} escalated"))
        if len(days) <= 16 or i % max(1, len(days) // 12) == 0:
            labels.append(Label(x + width / 2, base + 16, day.day.strftime("%d %b") if day.day else ""))
    return Chart(WIDTH, HEIGHT, bars, labels, _gridlines(top, scale), list(SERIES))


def helpful_by_prompt(prompts: list[PromptRow]) -> Chart:
    """Helpful rate (0-100 %) per prompt version with votes, in the order the versions went live."""
    rated = [p for p in prompts if p.votes]
    slot = (WIDTH - LEFT) / max(len(rated), 1)
    width = min(slot * 0.6, 64)
    scale = (HEIGHT - BOTTOM - TOP) / 100
    base = HEIGHT - BOTTOM
    bars, labels = [], []
    for i, row in enumerate(rated):
        percent = 100 * (row.helpful_rate or 0.0)
        x = LEFT + i * slot + (slot - width) / 2
        bars.append(Bar(x, base - percent * scale, width, percent * scale, SERIES[0][1],
                        f"prompts {row.version}: {row.helpful} of {row.votes} helpful"))
        labels.append(Label(x + width / 2, base + 16, row.version[:10]))
        labels.append(Label(x + width / 2, base - percent * scale - 4, f"{percent:.0f}% of {row.votes}"))
    grid = [(base - v * scale, f"{v}%") for v in (0, 25, 50, 75, 100)]
    return Chart(WIDTH, HEIGHT, bars, labels, grid, [("helpful", SERIES[0][1])])


def _gridlines(top: int, scale: float) -> list[tuple[float, str]]:
    step = max(1, _nice_step(top))
    return [(HEIGHT - BOTTOM - v * scale, str(v)) for v in range(0, top + 1, step)]


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if top / step <= 5:
            return step
    return top // 5
