"""Moving areas on the real Bhutan ALOS-1 time series (PyGdalSAR tutorial; ../shared/datasets/pygdalsar-bhutan-insar-ts),
measured against the tutorial's landslide mask and drawn for the README (docs/bhutan_moving_areas.png).

    .venv/bin/python -m benchmarks.bhutan_figure [--shared ../shared] [--png docs/bhutan_moving_areas.png]

The run is ``rockglacier:movingareas``' core with the inputs of tests/qgis/test_bhutan_velocity_product.py (linear LOS
velocity and sigma in mm/yr towards the satellite, DEM, incidence 34.5 deg, heading -14 deg). The mask is the
tutorial's absolute cumulative displacement >= 3 (what it leaves out of its empirical fits).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

MASK_THRESHOLD = 3.0


def run(shared: Path) -> dict[str, Any]:
    from osgeo import gdal, ogr

    from rockglacier_plugin.core.insar.landform_velocity import PairInput
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.moving_area_candidates import find_moving_areas
    from rockglacier_plugin.core.insar.products import read_los_velocity
    from rockglacier_plugin.core.insar.velocity_map import TOWARDS
    from rockglacier_plugin.core.progress import RunHooks
    from rockglacier_plugin.core.raster.coverage import centres_inside_any
    from rockglacier_plugin.core.raster.io import raster_grid
    from rockglacier_plugin.core.workflows.velocity import los_geometry

    folder = shared / "datasets" / "pygdalsar-bhutan-insar-ts"
    geometry, _ = los_geometry(None, 34.5, None, -14.0, False)
    work = tempfile.mkdtemp(prefix="rockglacier-bhutan-")
    velocity_map, _ = read_los_velocity(
        str(folder / "lin_coeff.tif"),
        None,
        ("mm/yr", TOWARDS),
        geometry,
        (date(2007, 2, 18), date(2009, 1, 8)),
        work,
        str(folder / "lin_sigcoeff.tif"),
    )
    log: list[str] = []
    result = find_moving_areas(
        [PairInput.from_velocity_map(velocity_map)],
        str(folder / "DEM_UTM.tif"),
        LosGeometry(None, 34.5, 104.0),
        hooks=RunHooks(log=log.append),
    )
    reference = gdal.Open(str(folder / "mask_landslide_utm.tif"))
    mask = np.nan_to_num(reference.ReadAsArray()) >= MASK_THRESHOLD
    candidates = centres_inside_any(
        [ogr.CreateGeometryFromWkb(w) for w in result.wkb], raster_grid(reference, 1, "landslide mask")
    )
    return {
        "log": log,
        "rows": result.rows,
        "wkb": result.wkb,
        "mask": mask,
        "candidates": candidates,
        "mask_found": float((candidates & mask).sum() / mask.sum()),
        "outside_px": int((candidates & ~mask).sum()),
        "velocity": gdal.Open(str(folder / "lin_coeff.tif")).ReadAsArray(),
        "dem": gdal.Open(str(folder / "DEM_UTM.tif")).ReadAsArray(),
        "geotransform": reference.GetGeoTransform(),
    }


def draw(measured: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from osgeo import ogr

    gt = measured["geotransform"]
    height, width = measured["mask"].shape
    extent = (gt[0] / 1000, (gt[0] + width * gt[1]) / 1000, (gt[3] + height * gt[5]) / 1000, gt[3] / 1000)
    dz_dy, dz_dx = np.gradient(measured["dem"].astype(float), 25.0)
    shade = np.clip(0.6 + 0.4 * (-dz_dx - dz_dy) / np.sqrt(2 + dz_dx**2 + dz_dy**2), 0, 1)
    figure, axis = plt.subplots(figsize=(5.2, 6.4), dpi=110)
    axis.imshow(shade, cmap="gray", extent=extent)
    velocity = np.where(np.isfinite(measured["velocity"]) & (measured["velocity"] != 0), measured["velocity"], np.nan)
    image = axis.imshow(velocity, cmap="RdBu_r", vmin=-10, vmax=10, alpha=0.65, extent=extent)
    axis.contour(measured["mask"].astype(float), levels=[0.5], colors="black", linewidths=0.6, extent=extent, origin="upper")
    for wkb in measured["wkb"]:
        outline = ogr.CreateGeometryFromWkb(wkb).GetBoundary()  # kept whole: a part outlives no parent
        lines = [outline.GetGeometryRef(i).Clone() for i in range(outline.GetGeometryCount())] or [outline]
        points = np.array(lines[0].GetPoints())
        axis.plot(points[:, 0] / 1000, points[:, 1] / 1000, color="lime", linewidth=1.6)
    axis.set_xlabel("UTM 45N easting, km")
    axis.set_ylabel("northing, km")
    axis.set_title(
        "Bhutan ALOS-1 2007-2009: LOS velocity (mm/yr, towards +),\nlandslide mask (black), movingareas candidates (green)",
        fontsize=8,
    )
    figure.colorbar(image, ax=axis, shrink=0.6, label="LOS velocity, mm/yr")
    figure.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--png", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "bhutan_moving_areas.png")
    args = parser.parse_args()
    measured = run(args.shared)
    for line in measured["log"]:
        print(line)
    print(
        f"{len(measured['rows'])} candidate(s); {measured['mask_found']:.1%} of the landslide mask covered; "
        f"{measured['outside_px']} candidate pixels outside it"
    )
    draw(measured, args.png)
    print(f"figure: {args.png}")


if __name__ == "__main__":
    main()
