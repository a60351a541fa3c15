"""The feature-tracking peer, PyImageTrack (SimonEbert/PyImageTrack), run headless from its own source with its own
pipeline (``PyImageTrack.run_pipeline.run_from_config``) on a configuration written here.

Its source is not part of this repository: ``PYIMAGETRACK_SRC`` names a checkout (or the git mirror that
``fetch github:SimonEbert/PyImageTrack`` leaves under /work/.mirror), whose ``src`` is copied to a temporary
folder. Two f-strings there reuse their own quote character, which only Python 3.12 accepts (its pyproject says
3.11): in the copy, and only there, their inner double quotes become single quotes; nothing else is changed.
It runs in its own virtual environment (``PYIMAGETRACK_PYTHON``, else ``.venv-peers/pyimagetrack``, which
``make peers`` builds from PyPI with the versions its pyproject asks for).

What it is asked (``write_inputs``): the two dates' rasters named by date, the stable area and the moving area as
shapefiles, one ``successive`` pair, its default alignment (50 control points, 50 px cells, 2 px search), our
grid spacing, template size and search radius for the tracking, one initial peak for its least-squares matching
(its example asks for two peaks at least 10 px apart, which a search of a few pixels never holds: every match
would start at zero shift), its default filters, rates per year. Its tracked points come back as a CSV (x, y, east
and north displacement in metres over the period, valid).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KNOWN_MIRRORS = ("/work/.mirror/SimonEbert+PyImageTrack/repo",)
PEER_VENV = ROOT / ".venv-peers" / "pyimagetrack"
#: The two lines that need Python 3.12 (nested quotes of the same kind), and what they become in the copy.
PY311_FIXES = (
    (
        "PyImageTrack/Utils.py",
        'observation_datetime.strftime("%Y%m%dT%H%M%S%f")',
        "observation_datetime.strftime('%Y%m%dT%H%M%S%f')",
    ),
    (
        "PyImageTrack/run_pipeline.py",
        'dt1_string.replace(" ","_")}_{dt2_string.replace(" ","_")',
        "dt1_string.replace(' ','_')}_{dt2_string.replace(' ','_')",
    ),
)


def peer_python() -> Optional[str]:
    """The interpreter of the peer's environment, or None when it has not been built."""
    for candidate in (os.environ.get("PYIMAGETRACK_PYTHON", ""), str(PEER_VENV / "bin" / "python")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def peer_source() -> Optional[Path]:
    """A temporary copy of the peer's ``src`` with the two Python 3.11 fixes, or None without a checkout or mirror."""
    for candidate in filter(None, [os.environ.get("PYIMAGETRACK_SRC", "")] + list(KNOWN_MIRRORS)):
        path = Path(candidate)
        target = Path(tempfile.mkdtemp(prefix="pyimagetrack-src-"))
        if (path / "src" / "PyImageTrack").exists():
            shutil.copytree(path / "src", target / "src")
        elif (path / "HEAD").exists() or (path / ".git").exists():
            git = ["git", "--git-dir", str(path if (path / "HEAD").exists() else path / ".git")]
            archive = subprocess.run(git + ["archive", "HEAD", "src"], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        else:
            continue
        for name, old, new in PY311_FIXES:
            file = target / "src" / name
            text = file.read_text(encoding="utf-8")
            if old in text:
                file.write_text(text.replace(old, new), encoding="utf-8")
        return target / "src"
    return None


@dataclass(frozen=True)
class PeerSettings:
    spacing_px: int
    template_px: int
    search_px: int


CONFIG = """
[paths]
input_folder = "{inputs}"
output_folder = "{outputs}"
date_csv_path = "none"
pairs_csv_path = "none"
[polygons]
stable_area_filename = "stable_area.shp"
moving_area_filename = "moving_area.shp"
moving_id_column = "moving_id"
image_cropping_buffer = 10000
[pairing]
mode = "successive"
[image]
image_bands = [0]
unit_name_distance = "meter"
[no_georef]
use_no_georeferencing = false
fake_pixel_size = 1.0
undistort_image = false
camera_intrinsics_matrix = "none"
camera_distortion_coefficients = "none"
convert_to_3d_displacement = false
camera_to_3d_coordinates_transform = "none"
[downsampling]
downsample_factor = 1
[flags]
do_alignment = true
do_tracking = true
do_filtering = true
do_image_enhancement = false
[image_enhancement]
type = "clahe"
kernel_size = 50
clip_limit = 0.9
[alignment]
number_of_control_points = 50
control_search_extent_px = [2, 2, 2, 2]
control_cell_size = 50
cross_correlation_threshold_alignment = 0.3
maximal_alignment_movement = "none"
[tracking]
image_bands = 0
distance_of_tracked_points_px = {spacing}
movement_cell_size = {template}
cross_correlation_threshold_movement = 0.1
search_extent_px = [{search}, {search}, {search}, {search}]
initial_estimate_mode = "count"
nb_initial_estimate_peaks = 1
min_distance_initial_estimates = 1
[adaptive_tracking_window]
use_adaptive_tracking_window = false
[filter]
level_of_detection_quantile = 0.5
number_of_points_for_level_of_detection = 50
difference_movement_bearing_threshold = 360
difference_movement_bearing_moving_window_size = 500
standard_deviation_movement_bearing_threshold = 360
standard_deviation_movement_bearing_moving_window_size = 500
difference_movement_rate_threshold = 10
difference_movement_rate_moving_window_size = 10
standard_deviation_movement_rate_threshold = 2
standard_deviation_movement_rate_moving_window_size = 50
maximal_fraction_depth_change_of_3d_displacement = 0.8
[output]
write_truecolor_aligned = false
display_plots = false
[output_units]
unit_name_distance = "meter"
mode = "total"
min_cmap_value = "none"
max_cmap_value = "none"
[cache]
use_alignment_cache = false
use_tracking_cache = false
use_lod_cache = false
[save]
files = ["tracking_results_fgb", "statistical_results_txt", "tracking_results_figure_jpg"]
"""

#: Run in the peer's interpreter: its pipeline, then its tracked points as CSV (x, y, dx, dy in metres, valid).
RUNNER = """
import sys, glob, os, time
sys.path.insert(0, sys.argv[1])
from PyImageTrack.run_pipeline import run_from_config
import geopandas as gpd
start = time.perf_counter()
run_from_config(sys.argv[2], quiet=True, use_colors=False)
seconds = time.perf_counter() - start
found = sorted(glob.glob(os.path.join(sys.argv[3], "**", "tracking_results_*.fgb"), recursive=True))
frame = gpd.read_file(found[-1])
columns = list(frame.columns)
with open(sys.argv[4], "w") as out:
    out.write(f"# seconds {seconds}\\n# columns {';'.join(columns)}\\n")
    frame["x"], frame["y"] = frame.geometry.x, frame.geometry.y
    frame.drop(columns="geometry").to_csv(out, index=False)
"""


def write_inputs(
    folder: Path,
    first: Path,
    second: Path,
    dates: tuple[str, str],
    stable_wkt: list[str],
    moving_wkt: str,
    crs_wkt: str,
    settings: PeerSettings,
    outputs: Path,
) -> Path:
    """The peer's input folder (rasters named by date, the two shapefiles) and its configuration file."""
    from osgeo import ogr, osr

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(first, folder / f"{dates[0]}_image.tif")
    shutil.copy(second, folder / f"{dates[1]}_image.tif")
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    for name, wkts in (("stable_area", stable_wkt), ("moving_area", [moving_wkt])):
        source = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(folder / f"{name}.shp"))
        layer = source.CreateLayer(name, srs, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("moving_id", ogr.OFTString))
        for i, wkt in enumerate(wkts):
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("moving_id", str(i + 1))
            feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
            layer.CreateFeature(feature)
        source = None
    config = folder.parent / "config.toml"
    config.write_text(
        CONFIG.format(
            inputs=folder, outputs=outputs, spacing=settings.spacing_px, template=settings.template_px, search=settings.search_px
        ),
        encoding="utf-8",
    )
    return config


@dataclass
class PeerResult:
    seconds: float  # its pipeline, timed inside its process (imports excluded)
    wall_seconds: float  # the whole subprocess
    x: np.ndarray
    y: np.ndarray
    east_m: np.ndarray
    north_m: np.ndarray
    valid: np.ndarray
    columns: list[str]


def run_peer(python: str, source: Path, config: Path, outputs: Path, work: Path, pixel_m: float) -> PeerResult:
    """Run the peer's pipeline in its interpreter; its points with displacements east and north (metres)."""
    csv_path = work / "peer_points.csv"
    start = time.perf_counter()
    completed = subprocess.run(
        [python, "-c", RUNNER, str(source), str(config), str(outputs), str(csv_path)], capture_output=True, text=True, cwd=work
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"PyImageTrack failed: {completed.stderr[-3000:]}")
    lines = csv_path.read_text().splitlines()
    seconds = float(lines[0].split()[-1])
    columns = lines[1].split(" ", 2)[-1].split(";")
    import csv

    rows = list(csv.DictReader(lines[2:]))

    def column(name: str) -> np.ndarray:
        return np.array([float(r[name]) if r.get(name) not in (None, "", "nan") else np.nan for r in rows])

    # its rows grow downwards and columns to the east, in pixels; the grid is north-up (checked by the caller)
    east_px, south_px = column("movement_column_direction"), column("movement_row_direction")
    valid = np.array([str(r.get("valid", "True")).lower() in ("true", "1", "1.0") for r in rows])
    return PeerResult(seconds, wall, column("x"), column("y"), east_px * pixel_m, -south_px * pixel_m, valid, columns)


def main() -> int:
    print(peer_python(), peer_source())
    return 0


if __name__ == "__main__":
    sys.exit(main())
