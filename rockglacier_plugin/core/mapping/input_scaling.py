"""Raw raster values -> the float32 tensor a segmentation model takes (one convention for
training and inference; the model's metadata says which, see ``model_metadata``).

Steps: raw -> 8-bit equivalent (0-255; ``InputScaling``), /255, then (x - mean) / std per channel.
No-data pixels (all bands equal to the model's no-data value, or NaN) are filled with the tile's
mean of valid pixels per band, so the model sees no artificial black edge; their output is
masked afterwards.
"""

from __future__ import annotations

import numpy as np

from .model_metadata import InputScaling, ModelSpec, ScalingKind


def to_uint8_range(raw: np.ndarray, scaling: InputScaling) -> np.ndarray:
    """Raw values (bands, rows, cols) -> float32 in [0, 255].

    >>> float(to_uint8_range(np.array([[[1500.0]]]), InputScaling("reflectance", 10000.0, 0.0, 0.3))[0, 0, 0])
    127.5
    """
    values = raw.astype(np.float32, copy=False)
    if scaling.kind == ScalingKind.UINT8:
        return np.clip(values, 0.0, 255.0)
    reflectance = (values + scaling.dn_offset) / scaling.dn_scale
    return np.clip(reflectance / scaling.reflectance_max, 0.0, 1.0) * 255.0


def valid_mask(raw: np.ndarray, nodata: float | None) -> np.ndarray:
    """Pixels with data: not NaN in any band and not no-data in all bands."""
    finite = np.isfinite(raw).all(axis=0)
    if nodata is None:
        return finite
    return finite & ~(raw == nodata).all(axis=0)


def standardize(uint8_range: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """0-255 values (bands, rows, cols) -> /255 -> (x - mean) / std per channel, float32."""
    mean = np.asarray(spec.standardization_mean, dtype=np.float32)[:, None, None]
    std = np.asarray(spec.standardization_std, dtype=np.float32)[:, None, None]
    return ((uint8_range / 255.0 - mean) / std).astype(np.float32, copy=False)


def model_input(raw: np.ndarray, spec: ModelSpec, valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tensor (bands, rows, cols) float32, valid mask (rows, cols)) for one tile; ``valid`` when the caller knows it
    (values rendered from reflectance, whose no-data was found before the rendering)."""
    valid = valid_mask(raw, spec.nodata) if valid is None else valid
    tensor = standardize(to_uint8_range(np.nan_to_num(raw), spec.input_scaling), spec)
    if not valid.all():
        fill = tensor[:, valid].mean(axis=1) if valid.any() else np.zeros(tensor.shape[0], dtype=np.float32)
        tensor = np.where(valid[None], tensor, fill[:, None, None])
    return tensor.astype(np.float32, copy=False), valid
