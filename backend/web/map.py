"""The page's small map: an inline SVG drawn here (no script, no tiles, nothing fetched), with
the delivery address and the driver's last position, north up, and the distance between."""

from __future__ import annotations

import math

WIDTH, HEIGHT, PAD = 320, 180, 28
EARTH_M = 6_371_008.8


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(min(1.0, a)))


def driver_map(home: tuple[float, float], driver: tuple[float, float]) -> str:
    """`home` and `driver` as (lon, lat). A local equirectangular projection is exact enough
    over the few kilometres a driver is shown within."""
    (hx, hy), (dx, dy) = _place(home, driver)
    away = distance_m(*home, *driver)
    label = f"Your driver is about {_rounded(away)} away"
    return (
        f'<svg class="map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" rx="8" fill="#eef2ec"/>'
        f'<line x1="{dx:.1f}" y1="{dy:.1f}" x2="{hx:.1f}" y2="{hy:.1f}" stroke="#1f5fbf" '
        'stroke-width="2" stroke-dasharray="5 4"/>'
        f'<g class="home"><circle cx="{hx:.1f}" cy="{hy:.1f}" r="9" fill="#1b1f24"/>'
        f'<text x="{hx:.1f}" y="{hy + 24:.1f}" text-anchor="middle" font-size="12">you</text></g>'
        f'<g class="driver" data-distance-m="{round(away)}"><circle cx="{dx:.1f}" cy="{dy:.1f}" '
        'r="10" fill="#d0611d" stroke="#fff" stroke-width="3"/>'
        f'<text x="{dx:.1f}" y="{dy - 16:.1f}" text-anchor="middle" font-size="12">driver</text>'
        f'</g><text x="{WIDTH - 8}" y="{HEIGHT - 8}" text-anchor="end" font-size="11" '
        f'fill="#5b6470">N ↑ · {label.lower().removeprefix("your driver is ")}</text></svg>'
    )


def _place(
    home: tuple[float, float], driver: tuple[float, float]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Both points in SVG coordinates, the pair centred and scaled to fit inside the padding."""
    mid_lat = math.radians((home[1] + driver[1]) / 2)
    xs = [lon * math.cos(mid_lat) for lon in (home[0], driver[0])]
    ys = [lat for lat in (home[1], driver[1])]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-5)
    scale = min(WIDTH - 2 * PAD, HEIGHT - 2 * PAD) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    points = [
        (WIDTH / 2 + (x - cx) * scale, HEIGHT / 2 - (y - cy) * scale)
        for x, y in zip(xs, ys, strict=True)
    ]
    return points[0], points[1]


def _rounded(metres: float) -> str:
    if metres < 1000:
        return f"{max(10, round(metres, -1)):.0f} m"
    return f"{metres / 1000:.1f} km"
