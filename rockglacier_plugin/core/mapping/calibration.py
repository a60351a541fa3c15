"""``rho = DN x scale + offset``: the calibration of one band of a Sentinel-2 L2A raster (see ``reflectance``
for where the numbers are taken from). A leaf module: ``reflectance`` and ``sentinel2_product`` both use it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

L2A_QUANTIFICATION = 10000.0


@dataclass(frozen=True)
class Calibration:
    """rho = DN x scale + offset for one band; ``source`` says where the numbers come from."""

    scale: float
    offset: float
    source: str

    def reflectance(self, values: np.ndarray) -> np.ndarray:
        """Reflectance of digital numbers: values x scale + offset."""
        return np.asarray(values, dtype=np.float64) * self.scale + self.offset

    def describe(self) -> str:
        """'DN x 0.0001 - 0.1 (where from)' for the log.

        >>> Calibration(0.0001, -0.1, "MTD_MSIL2A.xml").describe()
        'DN x 0.0001 - 0.1 (MTD_MSIL2A.xml)'
        """
        sign = "-" if self.offset < 0 else "+"
        return (
            f"DN x {self.scale:g} {sign} {abs(self.offset):g} ({self.source})"
            if self.offset
            else f"DN x {self.scale:g} ({self.source})"
        )

    @property
    def add_offset_dn(self) -> float:
        """The offset in DN, as MTD_MSIL2A.xml writes it (-1000 for baseline 04.00 and later)."""
        return self.offset / self.scale

    @classmethod
    def from_l2a(cls, add_offset_dn: float, quantification: float, source: str) -> "Calibration":
        """The calibration of L2A's BOA_ADD_OFFSET and BOA_QUANTIFICATION_VALUE."""
        return cls(1.0 / quantification, add_offset_dn / quantification, source)

    def agrees(self, other: "Calibration") -> bool:
        """Whether two calibrations scale and offset alike (to rounding)."""
        return math.isclose(self.scale, other.scale, rel_tol=1e-6) and math.isclose(self.offset, other.offset, abs_tol=1e-6)
