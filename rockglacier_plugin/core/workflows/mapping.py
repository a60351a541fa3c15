"""The mapping workflow behind ``rockglacier:segment`` and the region command's ``map``: image ->
probability and mask (``mapping.segmentation``) -> candidate polygons (``mapping.polygons``) ->
inventory rows whose ids continue after an existing inventory's and never collide with them.

Both entry points take their options from ``MappingOptions`` (the same defaults, checked the same
way) and trace and number candidates with ``candidate_rows``; the region command segments scene
by scene and traces once over the mosaic, the algorithm traces its one raster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..inventory.identifiers import ids_after, validate_prefix
from ..mapping.model_metadata import ModelSpec
from ..mapping.onnx_model import Device
from ..mapping.polygons import DEFAULT_MIN_AREA_KM2, candidates_from_mask
from ..mapping.precision import Precision
from ..mapping.reflectance import given_calibration
from ..mapping.segmentation import SegmentSettings
from ..mapping.sentinel2_product import is_product, product_raster
from ..progress import CancelCheck, ProgressCallback

DEFAULT_ID_PREFIX = "rg"


@dataclass(frozen=True)
class MappingOptions:
    """What a mapping run may be told, with the defaults of both entry points."""

    bands: Optional[tuple[int, ...]] = None  # None: the model's bands matched by description
    threshold: Optional[float] = None  # None: the model's own
    min_area_km2: float = DEFAULT_MIN_AREA_KM2
    id_prefix: str = DEFAULT_ID_PREFIX
    device: Device = Device.AUTO
    views: Optional[int] = None  # None: the model's own (its rockglacier:views; 1 for a model without it)
    adaptive_views: Optional[bool] = None  # further views only where the first finds anything; None: when views is the model's
    precision: Precision = Precision.AUTO  # on the CPU an int8 copy where it agrees with float32 (``precision``)
    tile_px: Optional[int] = None
    overlap_px: Optional[int] = None
    batch_size: Optional[int] = None
    l2a_add_offset: Optional[float] = None  # DN offset of L2A reflectance rasters; None: the product's own (``reflectance``)
    l2a_quantification: Optional[float] = None

    def segment_settings(self, threads: int = 0) -> SegmentSettings:
        """The core's ``SegmentSettings`` of these options."""
        validate_prefix(self.id_prefix)
        return SegmentSettings(
            bands=self.bands,
            tile_px=self.tile_px,
            overlap_px=self.overlap_px,
            threshold=self.threshold,
            batch_size=self.batch_size,
            device=self.device,
            threads=threads,
            views=self.views,
            calibration=given_calibration(self.l2a_add_offset, self.l2a_quantification),
            precision=self.precision,
            adaptive_views=self.views is None if self.adaptive_views is None else self.adaptive_views,
        )


def imagery_for_model(
    path: str, spec: ModelSpec, work_dir: str, options: Optional[MappingOptions] = None
) -> tuple[str, list[str]]:
    """The raster to segment: ``path`` itself, or for a Sentinel-2 L2A product (SAFE folder, MTD_MSIL2A.xml, zip,
    STAC item, GDAL subdataset) a VRT of the bands the model takes, carrying the product's calibration
    (``sentinel2_product``; a STAC item read with the options' L2A_ADD_OFFSET, ``stac_item``)."""
    if not is_product(path):
        return path, []
    bands = spec.rendering.bands if spec.rendering is not None else spec.bands
    given = given_calibration(options.l2a_add_offset, options.l2a_quantification) if options is not None else None
    return product_raster(path, work_dir, bands, given)


@dataclass(frozen=True)
class ExistingInventory:
    """Landforms already mapped: candidates overlapping one get its ``match_rg_id``, new ids continue after theirs."""

    wkb: Sequence[Optional[bytes]]
    rg_ids: Sequence[Optional[str]]
    crs_wkt: str


@dataclass
class CandidateRows:
    """The candidates of a mapping run as inventory rows, their polygons, and what was dropped."""

    rows: list[dict[str, Any]]  # inventory fields per candidate (rg_id, source, review, area_km2, dl_prob_mean, match_rg_id...)
    wkb: list[bytes]  # in the mask's CRS
    dropped: int  # smaller than the minimum area


def candidate_rows(
    mask_path: str,
    probability_path: str,
    options: MappingOptions,
    existing: Optional[ExistingInventory] = None,
    on_progress: Optional[ProgressCallback] = None,
    is_cancelled: Optional[CancelCheck] = None,
) -> CandidateRows:
    """Trace the mask into candidates and number them after ``existing`` (see the module docstring)."""
    candidates, dropped = candidates_from_mask(
        mask_path,
        probability_path,
        options.min_area_km2,
        existing.wkb if existing else None,
        existing.rg_ids if existing else None,
        existing.crs_wkt if existing else None,
        on_progress,
        is_cancelled,
    )
    ids = ids_after(list(existing.rg_ids) if existing else [], len(candidates), options.id_prefix)
    return CandidateRows(
        [c.inventory_values(rg_id) for rg_id, c in zip(ids, candidates)], [c.geometry_wkb for c in candidates], dropped
    )


def describe_candidates(result: CandidateRows, options: MappingOptions) -> str:
    """The log's line about the candidates, the same for every entry point."""
    return f"{len(result.rows)} candidate polygon(s); {result.dropped} smaller than {options.min_area_km2:g} km2 dropped."
