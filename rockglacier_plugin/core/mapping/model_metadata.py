"""Settings that travel inside an ONNX segmentation model (``metadata_props``, JSON values).

Shared by the training package (which writes them at export) and the plugin (which reads them at
inference), so the two can never disagree on input scaling, band order or class names. Keys reuse
Deepness's where they exist (``model_type``, ``class_names``, ``resolution`` in cm/px,
``tiles_overlap`` in %, ``standardization_mean``/``standardization_std``, ``seg_thresh``); ours
are prefixed ``rockglacier:``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import ParameterError
from .rendering import Rendering

KEY_PREFIX = "rockglacier:"
ROCK_GLACIER_CLASS_NAME = "rock_glacier"


class ScalingKind:
    """How raw raster values become the 0-255 range the model was trained on."""

    UINT8 = "uint8"  # 8-bit imagery as is
    REFLECTANCE = "reflectance"  # Sentinel-2 L2A digital numbers (reflectance x 10000 [+ offset])
    ALL = (UINT8, REFLECTANCE)


@dataclass(frozen=True)
class InputScaling:
    """raw -> 8-bit equivalent: uint8: as is; reflectance: clip((raw + dn_offset) / dn_scale /
    reflectance_max, 0, 1) * 255 (a linear true-colour stretch)."""

    kind: str = ScalingKind.UINT8
    dn_scale: float = 10000.0
    dn_offset: float = 0.0
    reflectance_max: float = 0.3

    def __post_init__(self) -> None:
        if self.kind not in ScalingKind.ALL:
            raise ParameterError(f"input scaling kind {self.kind!r} is unknown; valid: {', '.join(ScalingKind.ALL)}.")


@dataclass(frozen=True)
class ModelSpec:
    """Everything inference needs to know about a model."""

    class_names: dict[int, str] = field(default_factory=lambda: {0: "background", 1: ROCK_GLACIER_CLASS_NAME})
    resolution_cm_per_px: Optional[float] = None
    tiles_overlap_percent: Optional[float] = None
    standardization_mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    standardization_std: tuple[float, ...] = (1.0, 1.0, 1.0)
    seg_thresh: float = 0.5
    bands: tuple[str, ...] = ("B4", "B3", "B2")
    input_scaling: InputScaling = InputScaling()
    nodata: Optional[float] = 0.0
    tile_size_px: int = 512
    size_multiple_px: int = 16
    output: str = "probability"  # or "logits"
    margin_px: int = 16  # context read around each tile, px (>= the receptive-field radius for exact answers)
    provenance: dict[str, Any] = field(default_factory=dict)
    rendering: Optional[Rendering] = None  # how its 8-bit imagery was made from L2A reflectance (``rendering``); None: 8-bit only
    views: int = (
        1  # views of each tile averaged unless the user says otherwise (VIEWS); a model without the key: 1, as other tools
    )
    architecture: dict[str, Any] = field(default_factory=dict)  # training config keys that rebuild it in PyTorch (fine-tuning)
    pixel_size_m: Optional[float] = None  # the pixel size it learnt at (rockglacier:pixel_size_m; else resolution / 100)

    def __post_init__(self) -> None:
        if self.pixel_size_m is None and self.resolution_cm_per_px:  # one pixel size, whichever key stated it
            object.__setattr__(self, "pixel_size_m", float(self.resolution_cm_per_px) / 100.0)

    @property
    def rock_glacier_index(self) -> int:
        """The output channel of the rock-glacier class."""
        for index, name in self.class_names.items():
            if name == ROCK_GLACIER_CLASS_NAME:
                return index
        return max(self.class_names)

    @property
    def in_channels(self) -> int:
        """The number of input channels the model takes."""
        return len(self.standardization_mean)

    def to_metadata(self) -> dict[str, str]:
        """``metadata_props`` as strings (JSON values), for export."""
        values: dict[str, Any] = {
            "model_type": "Segmentor",
            "class_names": {str(k): v for k, v in self.class_names.items()},
            "resolution": self.resolution_cm_per_px,
            "tiles_overlap": self.tiles_overlap_percent,
            "standardization_mean": list(self.standardization_mean),
            "standardization_std": list(self.standardization_std),
            "seg_thresh": self.seg_thresh,
            f"{KEY_PREFIX}bands": list(self.bands),
            f"{KEY_PREFIX}input_scaling": self.input_scaling.__dict__,
            f"{KEY_PREFIX}nodata": self.nodata,
            f"{KEY_PREFIX}tile_size_px": self.tile_size_px,
            f"{KEY_PREFIX}size_multiple_px": self.size_multiple_px,
            f"{KEY_PREFIX}output": self.output,
            f"{KEY_PREFIX}margin_px": self.margin_px,
            f"{KEY_PREFIX}provenance": self.provenance,
            f"{KEY_PREFIX}rendering": self.rendering.to_metadata() if self.rendering is not None else None,
            f"{KEY_PREFIX}views": self.views,
            f"{KEY_PREFIX}architecture": self.architecture or None,
            f"{KEY_PREFIX}pixel_size_m": self.pixel_size_m,
        }
        return {k: json.dumps(v) for k, v in values.items() if v is not None}


def _json(metadata: dict[str, str], key: str, default: Any) -> Any:
    if key not in metadata:
        return default
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError:
        return metadata[key]  # plain strings are accepted too


def spec_from_metadata(metadata: dict[str, str]) -> ModelSpec:
    """Read a ``ModelSpec`` from ``metadata_props``; missing keys keep the defaults."""
    defaults = ModelSpec()
    model_type = _json(metadata, "model_type", "Segmentor")
    if str(model_type).lower() not in ("segmentor", "segmentation"):
        raise ParameterError(f"The model's model_type is {model_type!r}; rockglacier:segment needs a 'Segmentor' model.")
    names = _json(metadata, "class_names", None)
    if isinstance(names, list):
        class_names = {i: str(n) for i, n in enumerate(names)}
    elif isinstance(names, dict):
        class_names = {int(k): str(v) for k, v in names.items()}
    else:
        class_names = defaults.class_names
    scaling = _json(metadata, f"{KEY_PREFIX}input_scaling", None)
    mean = tuple(float(v) for v in _json(metadata, "standardization_mean", defaults.standardization_mean))
    std = tuple(float(v) for v in _json(metadata, "standardization_std", defaults.standardization_std))
    if len(mean) != len(std):
        raise ParameterError(f"The model's standardization_mean has {len(mean)} values but standardization_std {len(std)}.")
    return ModelSpec(
        class_names=class_names,
        pixel_size_m=_json(metadata, f"{KEY_PREFIX}pixel_size_m", None),
        resolution_cm_per_px=_json(metadata, "resolution", None),
        tiles_overlap_percent=_json(metadata, "tiles_overlap", None),
        standardization_mean=mean,
        standardization_std=std,
        seg_thresh=float(_json(metadata, "seg_thresh", defaults.seg_thresh)),
        bands=tuple(_json(metadata, f"{KEY_PREFIX}bands", list(defaults.bands))),
        input_scaling=InputScaling(**scaling) if isinstance(scaling, dict) else defaults.input_scaling,
        nodata=_json(metadata, f"{KEY_PREFIX}nodata", defaults.nodata),
        tile_size_px=int(_json(metadata, f"{KEY_PREFIX}tile_size_px", _json(metadata, "tile_size", defaults.tile_size_px))),
        size_multiple_px=int(_json(metadata, f"{KEY_PREFIX}size_multiple_px", defaults.size_multiple_px)),
        output=str(_json(metadata, f"{KEY_PREFIX}output", defaults.output)),
        margin_px=int(_json(metadata, f"{KEY_PREFIX}margin_px", defaults.margin_px)),
        provenance=_json(metadata, f"{KEY_PREFIX}provenance", {}) or {},
        rendering=Rendering.from_metadata(_json(metadata, f"{KEY_PREFIX}rendering", None)),
        views=_views(_json(metadata, f"{KEY_PREFIX}views", defaults.views)),
        architecture=_json(metadata, f"{KEY_PREFIX}architecture", {}) or {},
    )


def _views(value: Any) -> int:
    if value not in (1, 4, 8):
        raise ParameterError(f"The model's rockglacier:views is {value!r}; it must be 1, 4 or 8.")
    return int(value)
