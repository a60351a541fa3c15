"""Seeded synthetic InSAR scenes with known downslope velocities (test oracle independent of the
code under test: slope, aspect and the projection factor come from the cone's closed form)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Optional

import numpy as np
from osgeo import gdal, ogr

from tests.builders import write_raster

ALOS_WAVELENGTH_M = 0.2360571
REFERENCE_DATE, SECONDARY_DATE = date(2007, 7, 16), date(2007, 8, 31)  # 46 days
ORIGIN = (500000.0, 4000000.0)  # UTM 44N
EPSG = 32644


@dataclass
class SyntheticScene:
    folder: Path
    dem: Path
    unwrapped_true: Path  # phase without wrapping (what a perfect unwrapper returns)
    wrapped: Path  # complex64 interferogram
    coherence: Path
    landforms_wkt: list[str]
    velocity_dslp_cm_per_yr: list[float]  # true mean over the pixels whose centre is inside
    incidence_deg: float
    los_azimuth_deg: float
    looks: int
    velocity_dslp_true: Optional[Path] = None  # per-pixel true downslope speed, cm/yr (0 on stable ground)


def phase_per_cm_per_yr(wavelength_m: float = ALOS_WAVELENGTH_M, days: int = 46) -> float:
    """rad of (reference x conj secondary) phase per cm/yr of LOS velocity towards the satellite."""
    return -(4.0 * math.pi / wavelength_m) / 100.0 * days / 365.25


def multilook_noise(coherence: np.ndarray, looks: int, rng: np.random.Generator) -> np.ndarray:
    """Interferometric phase noise of ``looks``-look pixels with the given coherence (simulated
    from correlated circular Gaussian pairs, i.e. the true distributed-scatterer statistics)."""
    shape = (looks,) + coherence.shape
    z1 = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    n = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    z2 = coherence * z1 + np.sqrt(1 - coherence**2) * n
    return np.angle((z1 * np.conj(z2)).mean(axis=0))


def lobe(x: float, y: float, length_m: float, width_m: float, angle_rad: float) -> str:
    t = np.linspace(0, 2 * math.pi, 36, endpoint=False)
    px, py = length_m * np.cos(t), width_m * np.sin(t)
    xs = x + math.cos(angle_rad) * px - math.sin(angle_rad) * py
    ys = y + math.sin(angle_rad) * px + math.cos(angle_rad) * py
    ring = ",".join(f"{a:.2f} {b:.2f}" for a, b in zip(xs, ys))
    return f"POLYGON(({ring},{xs[0]:.2f} {ys[0]:.2f}))"


def cone_scene(
    folder: Path,
    seed: int = 0,
    size_px: int = 240,
    pixel_m: float = 30.0,
    slope_deg: float = 25.0,
    incidence_deg: float = 38.7,
    los_azimuth_deg: float = 102.0,
    looks: int = 10,
    ramp_rad_per_px: tuple[float, float] = (0.004, -0.003),
    atmosphere_rad: float = 1.3,
    landform_coherence: float = 0.6,
    stable_coherence: float = 0.85,
    aspects_deg: tuple[float, ...] = (45.0, 90.0, 135.0, 200.0, 250.0, 300.0, 340.0, 20.0),
    speeds_cm_per_yr: Optional[tuple[float, ...]] = None,
) -> SyntheticScene:
    """A cone (constant slope, on a flat plain) with lobes on its flanks at the given aspects, each creeping
    downslope at a known speed; phase = LOS motion + ramp + constant + multilook noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    centre = size_px * pixel_m / 2.0
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    east = (cols + 0.5) * pixel_m - centre
    north = centre - (rows + 0.5) * pixel_m
    radius = np.hypot(east, north)
    # A cone standing on a flat plain (stable, flat ground for the reference points).
    plain_radius = centre * 0.70
    z = 5500.0 - math.tan(math.radians(slope_deg)) * np.minimum(radius, plain_radius)
    aspect = np.degrees(np.arctan2(east, north)) % 360.0  # downslope = away from the apex
    s, th, al = math.radians(slope_deg), math.radians(incidence_deg), math.radians(los_azimuth_deg)
    g = np.sin(th) * math.cos(s) * np.cos(al + np.radians(aspect)) - np.cos(th) * math.sin(s)
    speeds = speeds_cm_per_yr or tuple(float(v) for v in rng.uniform(20.0, 80.0, len(aspects_deg)))
    velocity_los = np.zeros_like(z)
    speed_truth = np.zeros_like(z)
    coherence = np.full_like(z, stable_coherence)
    landforms, true_means = [], []
    ax, ay = ORIGIN[0] + centre, ORIGIN[1] - centre
    xs = ORIGIN[0] + (cols + 0.5) * pixel_m
    ys = ORIGIN[1] - (rows + 0.5) * pixel_m
    length_m, width_m = 420.0, 220.0
    for aspect_deg, speed in zip(aspects_deg, speeds):
        r = centre * 0.55
        x = ax + r * math.sin(math.radians(aspect_deg))
        y = ay + r * math.cos(math.radians(aspect_deg))
        angle = math.atan2(math.cos(math.radians(aspect_deg)), math.sin(math.radians(aspect_deg)))
        landforms.append(lobe(x, y, length_m, width_m, angle))
        # Elliptical radius rho (0 centre, 1 outline) of every pixel centre; the landform moves
        # at full speed inside rho = 0.4 and tapers smoothly (cos^2) to rest at its outline, as
        # creep does, so the phase has no step a real unwrapper could not follow.
        u = (xs - x) * math.cos(angle) + (ys - y) * math.sin(angle)
        w = -(xs - x) * math.sin(angle) + (ys - y) * math.cos(angle)
        rho = np.hypot(u / length_m, w / width_m)
        inside = rho < 1.0
        taper = np.where(rho < 0.4, 1.0, np.cos(0.5 * math.pi * np.clip((rho - 0.4) / 0.6, 0.0, 1.0)) ** 2)
        speed_field = np.where(inside, speed * taper, 0.0)
        velocity_los += speed_field * g
        speed_truth += speed_field
        coherence[inside] = landform_coherence
        # Truth: the mean over the pixels whose centre lies inside the polygon (OGR's test).
        polygon = ogr.CreateGeometryFromWkt(landforms[-1])
        centre_inside = np.zeros_like(inside)
        for rr, cc in zip(*np.nonzero(rho < 1.2)):
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(float(xs[rr, cc]), float(ys[rr, cc]))
            centre_inside[rr, cc] = polygon.Contains(point)
        true_means.append(float(speed_field[centre_inside].mean()))
    k = phase_per_cm_per_yr()
    phase = velocity_los * k + ramp_rad_per_px[0] * cols + ramp_rad_per_px[1] * rows + atmosphere_rad
    phase = phase + multilook_noise(coherence, looks, rng)
    gt = (ORIGIN[0], pixel_m, 0.0, ORIGIN[1], 0.0, -pixel_m)
    dem = write_raster(folder / "dem.tif", z, gt, epsg=EPSG)
    truth = write_raster(folder / "20070716_20070831_unw.tif", phase, gt, epsg=EPSG)
    coh = write_raster(folder / "coherence.tif", coherence, gt, epsg=EPSG)
    wrapped = folder / "20070716_20070831_igram.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(wrapped), size_px, size_px, 1, gdal.GDT_CFloat32)
    ds.SetGeoTransform(gt)
    ds.SetProjection(gdal.Open(str(dem)).GetProjection())
    ds.GetRasterBand(1).WriteArray(np.exp(1j * phase).astype(np.complex64))
    ds = None
    speed = write_raster(folder / "velocity_dslp_true.tif", speed_truth, gt, epsg=EPSG)
    write_raster(folder / "velocity_los_true.tif", velocity_los, gt, epsg=EPSG)  # cm/yr towards the satellite, no noise
    return SyntheticScene(folder, dem, truth, wrapped, coh, landforms, true_means, incidence_deg, los_azimuth_deg, looks, speed)


def write_isce_bil(path: Path, band1: np.ndarray, band2: np.ndarray, geotransform, epsg: int = 4326) -> Path:
    """An ISCE2-style two-band float32 BIL raster with its .vrt and .xml side-cars."""
    height, width = band1.shape
    interleaved = np.empty((height, 2, width), dtype="<f4")
    interleaved[:, 0, :] = band1
    interleaved[:, 1, :] = band2
    interleaved.tofile(path)
    bands = "".join(
        f'''  <VRTRasterBand dataType="Float32" band="{b}" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="1">{path.name}</SourceFilename>
    <ByteOrder>LSB</ByteOrder>
    <ImageOffset>{(b - 1) * 4 * width}</ImageOffset>
    <PixelOffset>4</PixelOffset>
    <LineOffset>{8 * width}</LineOffset>
  </VRTRasterBand>
'''
        for b in (1, 2)
    )
    gt = ", ".join(repr(float(v)) for v in geotransform)
    Path(f"{path}.vrt").write_text(
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">\n  <SRS>EPSG:{epsg}</SRS>\n'
        f"  <GeoTransform>{gt}</GeoTransform>\n{bands}</VRTDataset>\n"
    )
    Path(f"{path}.xml").write_text(
        f'<imageFile><property name="width"><value>{width}</value></property>'
        f'<property name="length"><value>{height}</value></property>'
        '<property name="number_bands"><value>2</value></property>'
        '<property name="scheme"><value>BIL</value></property>'
        '<property name="data_type"><value>FLOAT</value></property></imageFile>\n'
    )
    return path


def isce_products(scene: SyntheticScene, folder: Path) -> dict[str, Path]:
    """The scene as ISCE2 geocoded products (EPSG:4326, BIL + .vrt) in <folder>/<pair>/."""
    pair = folder / "20070716_20070831"
    (pair / "interferogram").mkdir(parents=True, exist_ok=True)
    (pair / "geometry").mkdir(parents=True, exist_ok=True)
    warped = {}
    for name, source in (("phase", scene.unwrapped_true), ("coherence", scene.coherence)):
        ds = gdal.Warp("", str(source), format="MEM", dstSRS="EPSG:4326", resampleAlg="bilinear")
        warped[name] = ds.ReadAsArray()
        geotransform = ds.GetGeoTransform()
    amplitude = np.where(warped["coherence"] > 0, 500.0, 0.0)
    unw = write_isce_bil(pair / "interferogram" / "filt_topophase.unw.geo", amplitude, warped["phase"], geotransform)
    cor = write_isce_bil(pair / "interferogram" / "topophase.cor.geo", amplitude, warped["coherence"], geotransform)
    inside = warped["coherence"] > 0
    los = write_isce_bil(
        pair / "geometry" / "los.rdr.geo",
        np.where(inside, scene.incidence_deg, 0.0),
        np.where(inside, scene.los_azimuth_deg, 0.0),
        geotransform,
    )
    return {"unw": unw, "cor": cor, "los": los}
