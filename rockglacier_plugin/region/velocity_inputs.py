"""What one velocity task measures: an unwrapped interferogram (with its coherence), a HyP3 product, or
a LOS velocity product, described by a small dict the scheduler can carry."""

from __future__ import annotations

from typing import Any

from ..core.insar.interferogram import default_coherence_band, describe_interferogram
from ..core.insar.landform_velocity import PairInput
from ..core.insar.sensors import WAVELENGTH_M, sensor_from_name
from ..core.raster.io import open_raster


def pair_input(pair: dict[str, Any], geometry: Any, work_dir: str) -> PairInput:
    """``pair``: {"kind": "unwrapped", "path", "coherence", "sensor"} | {"kind": "hyp3", "path"} |
    {"kind": "velocity", "path", "geometry", "unit", "sign"}."""
    kind = pair["kind"]
    if kind == "hyp3":
        from ..core.insar.hyp3_product import read_hyp3_product

        product, _ = read_hyp3_product(pair["path"], work_dir)
        return PairInput(product.interferogram, product.coherence_path, 1, product.components_path, geometry=product.geometry,
                         track=product.track, source=product.folder)
    if kind == "velocity":
        from ..core.insar.products import read_los_velocity

        velocity_map, _ = read_los_velocity(pair["path"], pair.get("geometry"), pair.get("unit", "mm/yr"),
                                            pair.get("sign", "towards the satellite"), geometry, (None, None), work_dir)
        return PairInput.from_velocity_map(velocity_map)
    interferogram, _ = describe_interferogram(pair["path"], 0, WAVELENGTH_M.get(sensor_from_name(pair.get("sensor", "Sentinel-1"))),
                                              None, None, None)
    coherence = pair["coherence"]
    return PairInput(interferogram, coherence, default_coherence_band(open_raster(coherence, "coherence"), coherence))
