"""Small InSAR products in each format, written from the format's documentation with a known LOS
velocity field (the cone scene of ``insar_builders``), for the readers' tests.

The builders write the conventions as each tool documents them, independently of the readers:
MintPy m/year towards the satellite and ISCE2 azimuth; LiCSBAS mm/yr and E/N/U of the ground ->
satellite unit vector on a WGS84 grid with pixel-centre corners; HyP3 look vectors in radians
(elevation from the horizontal, orientation from east anticlockwise). ``mutate`` writes one
convention wrong on purpose, so the tests can show that the recovery would catch it.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np
from osgeo import gdal

from tests.builders import srs_from_epsg, write_raster
from tests.insar_builders import EPSG, SyntheticScene, multilook_noise

S1_WAVELENGTH_M = 0.05546576


def _read(path: Path) -> tuple[np.ndarray, tuple]:
    dataset = gdal.Open(str(path))
    return dataset.ReadAsArray().astype(np.float64), dataset.GetGeoTransform()


def _heading_from_azimuth(los_azimuth_deg: float) -> float:
    """Right-looking radar: the ground -> satellite azimuth (anticlockwise from north) is 90 deg minus the heading."""
    return 90.0 - los_azimuth_deg


def mintpy_velocity(
    scene: SyntheticScene,
    folder: Path,
    with_geometry: bool = True,
    mutate: Optional[str] = None,
    los_azimuth_deg: Optional[float] = None,
    scale: float = 1.0,
    seed: int = 0,
) -> tuple[Path, Optional[Path]]:
    """``velocity.h5`` (+ ``geometryGeo.h5``) as MintPy writes them: m/year, towards the satellite, UTM grid with EPSG."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    velocity_cm, gt = _read(scene.folder / "velocity_los_true.tif")
    rng = np.random.default_rng(seed)
    velocity_m = (scale * velocity_cm + rng.normal(0.0, 0.2, velocity_cm.shape)) / 100.0
    if mutate == "sign":
        velocity_m = -velocity_m  # 'away from the satellite' written as MintPy's 'towards'
    azimuth = scene.los_azimuth_deg if los_azimuth_deg is None else los_azimuth_deg
    attributes = {
        "FILE_TYPE": "velocity",
        "UNIT": "m/year",
        "START_DATE": "20150101",
        "END_DATE": "20191231",
        "X_FIRST": str(gt[0]),
        "Y_FIRST": str(gt[3]),
        "X_STEP": str(gt[1]),
        "Y_STEP": str(gt[5]),
        "X_UNIT": "meters",
        "Y_UNIT": "meters",
        "EPSG": str(EPSG),
        "LENGTH": str(velocity_m.shape[0]),
        "WIDTH": str(velocity_m.shape[1]),
        "incidenceAngle": str(scene.incidence_deg),
        "HEADING": str(_heading_from_azimuth(azimuth)),
        "ANTENNA_SIDE": "-1",
        "azimuthAngle": str(azimuth + 90.0 - 360.0),  # ARIA's angle (from east), as the real Coso files carry: must be ignored
        "PROCESSOR": "isce",
        "WAVELENGTH": str(S1_WAVELENGTH_M),
    }
    path = folder / "velocity.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("velocity", data=velocity_m.astype(np.float32))
        handle.create_dataset("velocityStd", data=np.full(velocity_m.shape, 0.002, dtype=np.float32))
        handle.attrs.update(attributes)
    geometry = None
    if with_geometry:
        geometry = folder / "geometryGeo.h5"
        dem, _ = _read(scene.dem)
        written_azimuth = azimuth + (180.0 if mutate == "azimuth" else 0.0)
        with h5py.File(geometry, "w") as handle:
            handle.create_dataset("incidenceAngle", data=np.full(dem.shape, scene.incidence_deg, dtype=np.float32))
            handle.create_dataset("azimuthAngle", data=np.full(dem.shape, written_azimuth, dtype=np.float32))
            handle.create_dataset("height", data=dem.astype(np.float32))
            handle.attrs.update({k: v for k, v in attributes.items() if k not in ("FILE_TYPE", "UNIT")})
    return path, geometry


def licsbas_cum(scene: SyntheticScene, folder: Path, mutate: Optional[str] = None) -> tuple[Path, Path]:
    """``cum.h5`` (vel in mm/yr, lat/lon grid, corner_* = first pixel centre) and LiCSAR-style E/N/U GeoTIFFs."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    warped = gdal.Warp(
        "",
        str(scene.folder / "velocity_los_true.tif"),
        format="MEM",
        dstSRS="EPSG:4326",
        resampleAlg="bilinear",
        dstNodata=np.nan,
    )
    velocity_cm = warped.ReadAsArray().astype(np.float64)
    gt = warped.GetGeoTransform()
    path = folder / "cum.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("vel", data=(velocity_cm * 10.0).astype(np.float32))
        handle.create_dataset("corner_lat", data=gt[3] + gt[5] / 2.0)
        handle.create_dataset("corner_lon", data=gt[0] + gt[1] / 2.0)
        handle.create_dataset("post_lat", data=gt[5])
        handle.create_dataset("post_lon", data=gt[1])
        handle.create_dataset("imdates", data=np.array([20150105, 20160110, 20191226], dtype=np.int32))
    theta, alpha = math.radians(scene.incidence_deg), math.radians(scene.los_azimuth_deg)
    components = {"E": -math.sin(theta) * math.sin(alpha), "N": math.sin(theta) * math.cos(alpha), "U": math.cos(theta)}
    if mutate == "east_north":
        components["E"], components["N"] = components["N"], components["E"]
    inside = np.isfinite(velocity_cm)
    for letter, value in components.items():
        write_raster(folder / f"064A_05000_131313.geo.{letter}.tif", np.where(inside, value, 0.0), gt, epsg=4326)
    return path, folder / "064A_05000_131313.geo.E.tif"


def hyp3_product(scene: SyntheticScene, folder: Path, as_zip: bool = True, mutate: Optional[str] = None, seed: int = 0) -> Path:
    """A HyP3 GAMMA InSAR product (12-day Sentinel-1 pair) as folder or zip."""
    name = "S1AA_20190610T135156_20190622T135157_VVP012_INT80_G_ueF_F8BF"
    product = folder / name
    product.mkdir(parents=True, exist_ok=True)
    velocity_cm, gt = _read(scene.folder / "velocity_los_true.tif")
    coherence, _ = _read(scene.coherence)
    rng = np.random.default_rng(seed)
    rad_per_cm_per_yr = -(4.0 * math.pi / S1_WAVELENGTH_M) / 100.0 * 12 / 365.25
    phase = velocity_cm * rad_per_cm_per_yr + 0.6 + multilook_noise(coherence, 20, rng) * 0.3
    write_raster(product / f"{name}_unw_phase.tif", phase, gt, epsg=EPSG)
    write_raster(product / f"{name}_corr.tif", coherence, gt, epsg=EPSG)
    theta = math.radians(90.0 - scene.incidence_deg)
    phi = math.radians(scene.los_azimuth_deg + (0.0 if mutate == "phi_from_north" else 90.0))
    write_raster(product / f"{name}_lv_theta.tif", np.full(phase.shape, theta), gt, epsg=EPSG)
    write_raster(product / f"{name}_lv_phi.tif", np.full(phase.shape, phi), gt, epsg=EPSG)
    (product / f"{name}.txt").write_text(
        f"Reference Granule: S1A_IW_SLC__1SDV_20190610T135156\nHeading: {_heading_from_azimuth(scene.los_azimuth_deg)}\n"
        "Baseline: 50.0\nUTCtime: 49916.0\n"
    )
    if not as_zip:
        return product
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in product.iterdir():
            handle.write(path, f"{name}/{path.name}")
    return archive


def geotiff_velocity(scene: SyntheticScene, folder: Path) -> Path:
    """A plain GeoTIFF of LOS velocity in mm/yr, positive away from the satellite, dates in the name."""
    folder.mkdir(parents=True, exist_ok=True)
    velocity_cm, gt = _read(scene.folder / "velocity_los_true.tif")
    return write_raster(folder / "los_velocity_20150101_20191231.tif", -10.0 * velocity_cm, gt, epsg=EPSG)


def crs_wkt(epsg: int = EPSG) -> str:
    return srs_from_epsg(epsg).ExportToWkt()
