"""The inventory's colours (the paper's figures): one table read by the QGIS style, the report's
figures and the legend, so a class has the same colour everywhere. RGBA, 0-255."""

from __future__ import annotations

#: Upslope-connection class -> (label, fill RGBA, outline RGB).
CLASS_COLOURS: dict[str, tuple[str, tuple[int, int, int, int], tuple[int, int, int]]] = {
    "DMS": ("DMS debris-mantled slope", (245, 140, 30, 160), (160, 80, 0)),
    "G": ("G glacier", (60, 170, 60, 160), (20, 100, 20)),
    "GF": ("GF glacier forefield", (150, 80, 200, 160), (90, 30, 140)),
    "T": ("T talus", (240, 130, 190, 160), (170, 60, 120)),
    "P": ("P poly-connected", (90, 160, 220, 160), (30, 90, 150)),
    "O": ("O other", (150, 120, 90, 160), (90, 70, 50)),
}
#: Review states drawn before the classes.
CANDIDATE_COLOUR = ("candidate", (255, 230, 0, 150), (170, 150, 0))
REJECTED_COLOUR = ("rejected", (160, 160, 160, 120), (110, 110, 110))
UNCLASSIFIED_COLOUR = ("not classified", (200, 220, 255, 110), (60, 90, 160))


def fraction(rgba: tuple[int, ...]) -> tuple[float, ...]:
    """0-1 components for matplotlib.

    >>> fraction((255, 0, 51))
    (1.0, 0.0, 0.2)
    """
    return tuple(round(c / 255.0, 6) for c in rgba)
