"""How a model's 8-bit RGB imagery was made from Sentinel-2 L2A surface reflectance: part of the model.

A model trained on 8-bit chips learned one rendering of the ground: which bands, how reflectance
became 0-255 (bias, black and white points, gamma, clipping, how fractions were cut to integers).
Given reflectance (a user's L2A product), the plugin renders it exactly so, and the model sees what
it was trained on. The rendering travels in the model's metadata (``rockglacier:rendering``, written
by ``python -m training export`` from the training config); a model without one takes 8-bit
imagery only, as before.

The convention, in one place::

    rho      = BOA surface reflectance, 0-1 (``reflectance``: DN x scale + offset, from the product)
    x        = clip((rho + reflectance_add - black) / (white - black), 0, 1) ** (1 / gamma)
    8-bit    = floor(255 x) (quantise "floor", as matplotlib's imsave and ``astype(uint8)`` cut)
             or floor(255 x + 0.5) ("round", as torchvision's save_image)

``CHILE_CHIPS`` is the rendering of the shipped model's training chips; where each number comes from
is in its ``citation`` (and the model card).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from ..errors import ParameterError

QUANTISE = ("floor", "round")


@dataclass(frozen=True)
class Rendering:
    """reflectance -> 8-bit, as a model's training imagery was made (see the module docstring)."""

    bands: tuple[str, ...] = ("B04", "B03", "B02")
    reflectance_add: float = 0.0
    black: float = 0.0
    white: float = 1.0
    gamma: float = 1.0
    quantise: str = "round"
    source: str = "Sentinel-2 L2A surface reflectance"
    citation: str = ""

    def __post_init__(self) -> None:
        if self.quantise not in QUANTISE:
            raise ParameterError(f"rendering quantise={self.quantise!r}: use one of {', '.join(QUANTISE)}.")
        if not self.white > self.black or not self.gamma > 0:
            raise ParameterError(
                f"rendering: white ({self.white}) must exceed black ({self.black}) and gamma ({self.gamma}) be > 0."
            )

    def to_8bit(self, reflectance: np.ndarray) -> np.ndarray:
        """Reflectance (any shape, NaN allowed) -> the 8-bit values (as float32, 0-255; NaN stays NaN)."""
        x = np.clip(
            (np.asarray(reflectance, dtype=np.float64) + self.reflectance_add - self.black) / (self.white - self.black), 0.0, 1.0
        )
        if self.gamma != 1.0:
            x = x ** (1.0 / self.gamma)
        scaled = 255.0 * x if self.quantise == "floor" else 255.0 * x + 0.5
        # a hair of tolerance: 0.1 + 0.9 must give 255, not 254, where float arithmetic lands a bit low
        return np.minimum(np.floor(scaled + 1e-9), 255.0).astype(np.float32)

    def describe(self) -> str:
        """One line for the log: the formula with this rendering's numbers."""
        add = self.reflectance_add
        inner = "rho" + (f" {'+' if add > 0 else '-'} {abs(add):g}" if add else "")
        if self.black:
            inner = f"({inner} - {self.black:g})"
        if self.white - self.black != 1.0:
            inner = f"{inner} / {self.white - self.black:g}"
        clipped = f"clip({inner}, 0, 1)" + (f"^(1/{self.gamma:g})" if self.gamma != 1.0 else "")
        return f"{self.quantise}(255 x {clipped})" if self.quantise == "floor" else f"round(255 x {clipped})"

    def to_metadata(self) -> dict[str, Any]:
        """The rendering as the model's metadata stores it."""
        values = asdict(self)
        values["bands"] = list(self.bands)
        return values

    @classmethod
    def from_metadata(cls, values: Any) -> Optional["Rendering"]:
        """The rendering a model's metadata states; None when it states none."""
        if not isinstance(values, dict):
            return None
        known = {name for name in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(
                f"The model's rockglacier:rendering has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(known))}."
            )
        cleaned = dict(values)
        if "bands" in cleaned:
            cleaned["bands"] = tuple(cleaned["bands"])
        return cls(**cleaned)


#: The shipped model's training chips (the alcazar90 rock-glacier collection, Sentinel-2 L2A tile T19HDC).
CHILE_CHIPS = Rendering(
    bands=("B04", "B03", "B02"),
    reflectance_add=0.1,
    black=0.0,
    white=1.0,
    gamma=1.0,
    quantise="floor",
    citation=(
        "github.com/alcazar90/rock-glacier-detection @f2dd5fb notebooks/tif_processing.ipynb: the chips were cut from "
        "L2A bands B04, B03, B02 of tile T19HDC (acquisitions such as 2022-10-10) converted by QGIS's Semi-Automatic "
        "Classification Plugin ('RT_' files). SCP 7.10.8 (github.com/semiautomaticgit/SemiAutomaticClassificationPlugin "
        "@e9af1fa maininterface/sentinel2Tab.py) writes reflectance = clip(DN / 10000, 0, 1) and does not apply "
        "BOA_ADD_OFFSET, so for products of processing baseline 04.00 and later (DN = 10000 rho + 1000) the chips hold "
        "rho + 0.1. The chips are RGBA PNGs with opaque alpha, as matplotlib's imsave writes float images (8-bit = "
        "floor(255 x)). Consistent with the 950 chips: no value below 21 (the +0.1 lifts dark ground to 25), 11 % of "
        "values at 255 (snow clipped at 1). Unverified: the notebook that wrote the PNGs is not in the repository's "
        "public history (files of 4 MiB and more are missing); torchvision's save_image, used in its model_v1.ipynb, "
        "would round instead of floor (one 8-bit level at most)."
    ),
)

#: Renderings by name, for training configs (``"rendering": "chile-chips"``) and ``python -m training rendering``.
RENDERINGS = {"chile-chips": CHILE_CHIPS}


def rendering_from(value: Any) -> Optional[Rendering]:
    """A rendering from a config value: a name of ``RENDERINGS``, a dict of ``Rendering``'s fields, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in RENDERINGS:
            raise ParameterError(f"rendering {value!r} is not known; known: {', '.join(RENDERINGS)} (or give its fields).")
        return RENDERINGS[value]
    return Rendering.from_metadata(value)
