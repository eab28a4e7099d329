"""ECharts options built on the server: a page puts one in a chart's `data-option` attribute
and static/reports.js draws it (the console's CSP allows no inline script)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from city.reports.labels import LEVELS, Lang, level_label
from city.reports.table import Table

ENDED_COLOURS = {
    "completed": "#1b7f3b",
    "user_exit": "#c9a227",
    "idle_timeout": "#b3261e",
    "error": "#7a3fa0",
    "kiosk_restart": "#5b6675",
}
LEVEL_COLOURS = {5: "#1b7f3b", 4: "#52a56a", 3: "#c9a227", 2: "#d9731a", 1: "#b3261e"}
CLASS_COLOURS = {
    "normal": "#1b7f3b",
    "high_normal": "#8aa53a",
    "grade_1": "#c9a227",
    "grade_2": "#d9731a",
    "grade_3": "#b3261e",
    "isolated_systolic": "#7a3fa0",
    "device_error": "#8a94a3",
}
BASE = {"animation": False, "textStyle": {"fontFamily": "sans-serif"}}


def _dump(option: dict[str, object]) -> str:
    present = {k: v for k, v in option.items() if v is not None}
    return json.dumps(BASE | present, ensure_ascii=False, separators=(",", ":"))


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Sequence[int]],
    names: Sequence[str],
    *,
    colours: Sequence[str] = (),
    stacked: bool = False,
) -> str:
    """Bars per category (one series per name)."""
    return _dump(
        {
            "grid": {"left": 50, "right": 20, "top": 40, "bottom": 50},
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "data": list(names)},
            "xAxis": {"type": "category", "data": list(categories)},
            "yAxis": {"type": "value", "minInterval": 1},
            "color": list(colours) or None,
            "series": [
                {"name": n, "type": "bar", "data": list(s)} | ({"stack": "all"} if stacked else {})
                for n, s in zip(names, series, strict=True)
            ],
        }
    )


def levels_by_day_chart(by_day: Table, lang: Lang) -> str:
    """Ratings per day, stacked by level (非常满意 at the bottom)."""
    days = [str(row[0]) for row in by_day.rows]
    series = [
        [v if isinstance(v := row[1 + i], int) else 0 for row in by_day.rows]
        for i in range(len(LEVELS))
    ]
    return bar_chart(
        days,
        series,
        [level_label(n, lang) for n in LEVELS],
        colours=[LEVEL_COLOURS[n] for n in LEVELS],
        stacked=True,
    )


def pie_chart(parts: Sequence[tuple[str, int]], colours: Sequence[str] = ()) -> str:
    """Shares of a whole (a ring)."""
    return _dump(
        {
            "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
            "legend": {"bottom": 0},
            "color": list(colours) or None,
            "series": [
                {
                    "type": "pie",
                    "radius": ["40%", "68%"],
                    "label": {"formatter": "{b}\n{c}"},
                    "data": [{"name": name, "value": value} for name, value in parts],
                }
            ],
        }
    )


def heatmap_chart(cells: Sequence[Sequence[int]], weekdays: Sequence[str]) -> str:
    """Sessions by weekday (rows) and hour (columns)."""
    data = [[hour, day, cells[day][hour]] for day in range(7) for hour in range(24)]
    peak = max((value for _h, _d, value in data), default=0)
    return _dump(
        {
            "grid": {"left": 60, "right": 20, "top": 10, "bottom": 90},
            "tooltip": {"position": "top"},
            "xAxis": {"type": "category", "data": [f"{h:02d}" for h in range(24)]},
            "yAxis": {"type": "category", "data": list(weekdays), "inverse": True},
            "visualMap": {
                "min": 0,
                "max": max(peak, 1),
                "calculable": True,
                "orient": "horizontal",
                "left": "center",
                "bottom": 0,
                "itemWidth": 14,
                "itemHeight": 260,
                "inRange": {"color": ["#f3f6fa", "#9cc3ea", "#0b5cad", "#06305c"]},
            },
            "series": [
                {"type": "heatmap", "data": data, "label": {"show": False}},
            ],
        }
    )


def class_chart(parts: Sequence[tuple[str, int, str]]) -> str:
    """Measurements per guideline class, one colour per class."""
    return _dump(
        {
            "grid": {"left": 50, "right": 20, "top": 20, "bottom": 60},
            "tooltip": {"trigger": "axis"},
            "xAxis": {
                "type": "category",
                "data": [name for name, _n, _c in parts],
                "axisLabel": {"interval": 0, "fontSize": 11, "width": 80, "overflow": "break"},
            },
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {
                    "type": "bar",
                    "data": [
                        {"value": n, "itemStyle": {"color": CLASS_COLOURS.get(code, "#5b6675")}}
                        for _name, n, code in parts
                    ],
                }
            ],
        }
    )
