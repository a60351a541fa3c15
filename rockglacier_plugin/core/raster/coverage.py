"""Fraction of each pixel covered by a polygon, by exact scanline spans.

Each pixel row is cut into ``subrows_per_row(window height)`` (17-255, odd) horizontal scanlines through the centres of equal
sub-rows. Along each scanline the polygon's inside is a set of spans found from its edges (the
even-odd rule, so holes and multipart polygons are handled); the length of every span inside each
pixel is taken exactly, and the sub-rows are averaged (the midpoint rule in the vertical). The
result is exact horizontally and accurate to O(1/SUBROWS_PER_ROW**2) per pixel vertically for
straight edges (a horizontal edge is placed within half a sub-row); a polygon smaller than a pixel gets its true share of that
pixel.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .windows import GeoTransform, Window, window_from_bounds

MIN_SUBROWS_PER_ROW = 17
MAX_SUBROWS_PER_ROW = 255
SCANLINES_PER_WINDOW = 1024


def subrows_per_row(height_px: int) -> int:
    """Scanlines per pixel row: many for small windows (tiny polygons), at least 17; always odd,
    so that the middle scanline passes through the pixel centres.

    >>> subrows_per_row(1), subrows_per_row(10), subrows_per_row(5000)
    (255, 103, 17)
    """
    n = int(min(MAX_SUBROWS_PER_ROW, max(MIN_SUBROWS_PER_ROW, SCANLINES_PER_WINDOW // max(height_px, 1))))
    return n if n % 2 == 1 else n + 1


def polygon_edges(geometry: Any) -> np.ndarray:
    """Every ring segment of an OGR polygon or multipolygon as rows (x1, y1, x2, y2)."""
    segments = []
    from osgeo import ogr

    if ogr.GT_Flatten(geometry.GetGeometryType()) == ogr.wkbPolygon:
        polygons = [geometry]
    else:  # multipolygon
        polygons = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
    for polygon in polygons:
        for ring_index in range(polygon.GetGeometryCount()):
            points = np.asarray(polygon.GetGeometryRef(ring_index).GetPoints(), dtype=np.float64)
            if len(points) < 3:
                continue
            points = points[:, :2]
            if not np.array_equal(points[0], points[-1]):
                points = np.vstack([points, points[:1]])
            segments.append(np.hstack([points[:-1], points[1:]]))
    return np.vstack(segments) if segments else np.zeros((0, 4))


def _scanline_spans(
    geometry: Any, window: Window, geotransform: GeoTransform, subrows: int
) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Inside spans along scanlines through the centres of ``subrows`` sub-rows per pixel row.

    Returns (scanline index, start column, stop column) with columns in pixel units of the
    window clipped to [0, width], or None when the polygon crosses no scanline.
    """
    height, width = window.shape
    edges = polygon_edges(geometry)
    if len(edges) == 0:
        return None
    x0, dx, _, y0, _, dy = window.transform(geotransform)
    # Pixel coordinates of the window: column c = (x - x0)/dx, row r = (y - y0)/dy (dy < 0).
    c1, c2 = (edges[:, 0] - x0) / dx, (edges[:, 2] - x0) / dx
    r1, r2 = (edges[:, 1] - y0) / dy, (edges[:, 3] - y0) / dy
    sloped = r1 != r2  # horizontal edges never cross a scanline
    c1, c2, r1, r2 = c1[sloped], c2[sloped], r1[sloped], r2[sloped]
    r_low, r_high = np.minimum(r1, r2), np.maximum(r1, r2)
    # Scanline i sits at row coordinate (i + 0.5) / subrows; it crosses an edge when
    # r_low <= y < r_high (half-open, so a vertex is counted once).
    n_lines = height * subrows
    # (np.minimum/np.maximum: np.clip is several times slower on small arrays in numpy 1.x)
    first = np.minimum(np.maximum(np.ceil(r_low * subrows - 0.5), 0), n_lines).astype(np.int64)
    last = np.minimum(np.maximum(np.ceil(r_high * subrows - 0.5), 0), n_lines).astype(np.int64)
    counts = np.maximum(last - first, 0)
    total = int(counts.sum())
    if total == 0:
        return None
    edge_of = np.repeat(np.arange(len(counts)), counts)
    line = np.repeat(first, counts) + (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts))
    y_line = (line + 0.5) / subrows
    x_cross = c1[edge_of] + (y_line - r1[edge_of]) * (c2[edge_of] - c1[edge_of]) / (r2[edge_of] - r1[edge_of])
    # Crossings left or right of the window only matter as span ends clipped to its edges.
    x_cross = np.minimum(np.maximum(x_cross, 0.0), float(width))
    order = np.argsort(line * (width + 1.0) + x_cross, kind="stable")
    line, x_cross = line[order], x_cross[order]
    # Even-odd rule: consecutive crossings on a scanline bound an inside span.
    span_line, start, stop = line[0::2], x_cross[0::2], x_cross[1::2]
    keep = stop > start
    return span_line[keep], start[keep], stop[keep]


def _centres_from_spans(line: np.ndarray, start: np.ndarray, stop: np.ndarray, height: int, width: int) -> np.ndarray:
    # Centre of column c is at c + 0.5: a span covers columns ceil(start - 0.5) .. ceil(stop - 0.5) - 1.
    first = np.ceil(start - 0.5).astype(np.int64)
    last = np.ceil(stop - 0.5).astype(np.int64)
    keep = last > first
    line, first, last = line[keep], first[keep], last[keep]
    # +1 where a span starts, -1 one past its end (rows are width + 1 wide, so the end never
    # spills into the next row), then a running sum along each row.
    steps = np.bincount(
        np.concatenate([line * (width + 1) + first, line * (width + 1) + last]),
        np.concatenate([np.ones(line.size), -np.ones(line.size)]),
        minlength=height * (width + 1),
    ).reshape(height, width + 1)
    return np.cumsum(steps, axis=1)[:, :width] > 0.5


def pixel_centres_inside(geometry: Any, window: Window, geotransform: GeoTransform) -> np.ndarray:
    """Boolean mask of the pixels of ``window`` whose centre lies inside the polygon (the rule of
    GDAL's rasterizer and QGIS's zonal statistics)."""
    height, width = window.shape
    spans = _scanline_spans(geometry, window, geotransform, 1)
    if spans is None:
        return np.zeros((height, width), dtype=bool)
    return _centres_from_spans(*spans, height, width)


def coverage_and_centres(geometry: Any, window: Window, geotransform: GeoTransform) -> tuple[np.ndarray, np.ndarray]:
    """``coverage_fraction`` and ``pixel_centres_inside`` from one set of scanlines (the middle
    scanline of each pixel row runs through the pixel centres)."""
    height, width = window.shape
    subrows = subrows_per_row(height)
    spans = _scanline_spans(geometry, window, geotransform, subrows)
    if spans is None:
        return np.zeros((height, width)), np.zeros((height, width), dtype=bool)
    line, start, stop = spans
    middle = line % subrows == subrows // 2
    centres = _centres_from_spans(line[middle] // subrows, start[middle], stop[middle], height, width)
    return _coverage_from_spans(spans, height, width, subrows), centres


def coverage_fraction(geometry: Any, window: Window, geotransform: GeoTransform, subrows: int = 0) -> np.ndarray:
    """Covered fraction (0-1) of each pixel of ``window``, shape ``window.shape``, float64.

    Args:
        geometry: ``ogr.Geometry`` polygon or multipolygon in the raster's CRS (valid, i.e. parts
            do not overlap).
        window: pixels to compute; may reach outside the raster.
        geotransform: the raster's geotransform (north-up).
        subrows: scanlines per pixel row; 0 = ``subrows_per_row(window height)``.
    """
    height, width = window.shape
    subrows = subrows or subrows_per_row(height)
    spans = _scanline_spans(geometry, window, geotransform, subrows)
    if spans is None:
        return np.zeros((height, width), dtype=np.float64)
    return _coverage_from_spans(spans, height, width, subrows)


def _coverage_from_spans(spans: tuple[np.ndarray, np.ndarray, np.ndarray], height: int, width: int, subrows: int) -> np.ndarray:
    coverage = np.zeros((height, width), dtype=np.float64)
    span_line, start, stop = spans
    pixel_row = span_line // subrows
    weight = 1.0 / subrows
    first_col = np.minimum(np.floor(start).astype(np.int64), width - 1)
    last_col = np.minimum(np.floor(stop).astype(np.int64), width - 1)
    same = first_col == last_col
    multi = ~same
    # Partial pixels: the whole span when it starts and ends in one pixel, otherwise the pieces
    # in its first and last pixels. np.bincount accumulates far faster than np.add.at.
    partial_index = np.concatenate(
        [
            pixel_row[same] * width + first_col[same],
            pixel_row[multi] * width + first_col[multi],
            pixel_row[multi] * width + last_col[multi],
        ]
    )
    partial_length = np.concatenate(
        [stop[same] - start[same], first_col[multi] + 1 - start[multi], stop[multi] - last_col[multi]]
    )
    coverage += np.bincount(partial_index, partial_length * weight, minlength=height * width).reshape(height, width)
    # Whole pixels strictly between the first and last: +1 after the first, -1 at the last,
    # then a running sum along the row.
    row_multi = pixel_row[multi] * (width + 1)
    steps = np.bincount(
        np.concatenate([row_multi + first_col[multi] + 1, row_multi + last_col[multi]]),
        np.concatenate([np.full(multi.sum(), weight), np.full(multi.sum(), -weight)]),
        minlength=height * (width + 1),
    ).reshape(height, width + 1)
    coverage += np.cumsum(steps, axis=1)[:, :width]
    return np.minimum(np.maximum(coverage, 0.0), 1.0)


def centres_inside_any(geometries: Any, grid: Any) -> np.ndarray:
    """Pixels of ``grid`` (a ``RasterGrid``) whose centre lies inside any of ``geometries`` (OGR polygons in the
    grid's CRS), each polygon scanned only over its own bounding window."""
    mask = np.zeros((grid.height_px, grid.width_px), dtype=bool)
    full = Window(0, 0, grid.width_px, grid.height_px)
    for geometry in geometries:
        xmin, xmax, ymin, ymax = geometry.GetEnvelope()
        part = window_from_bounds(xmin, ymin, xmax, ymax, grid.geotransform).padded(1).intersection(full)
        if part is not None:
            rows, cols = slice(part.row_off, part.row_off + part.height_px), slice(part.col_off, part.col_off + part.width_px)
            mask[rows, cols] |= pixel_centres_inside(geometry, part, grid.geotransform)
    return mask
