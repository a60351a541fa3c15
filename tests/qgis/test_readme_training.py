"""The README's training commands, typed as written (read from the README between its readme-commands:training
markers), on the demo scene: trainingpatches -> train -> export -> segment. Only ``--epochs 1 --max-steps 3`` is
added to ``train``, to keep the test short; the model it trains is not expected to find anything yet, only to run
through the plugin and give a valid, tagged output."""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from osgeo import gdal, ogr

from benchmarks.demo_scene import write_demo_scene
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
SHORT_TRAINING = ["--epochs", "1", "--max-steps", "3"]


def readme_commands(name: str) -> list[str]:
    """The commands of a ``readme-commands:<name>`` block in the README or the docs/ pages it links."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    block = re.search(rf"<!-- readme-commands:{name} -->\s*```bash\n(.*?)```\s*<!-- /readme-commands:{name} -->", text, re.S)
    assert block, f"README.md and docs/ lost the readme-commands:{name} block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.slow
@pytest.mark.training_env
def test_readme__training_commands_run_as_written_from_trainingpatches_to_segment(tmp_path):
    if not (ROOT / ".venv" / "bin" / "python").exists():
        missing("the README's training commands run .venv/bin/python; run `make setup` (the QGIS chroots have no .venv)")
    write_demo_scene(tmp_path, size_px=600, n_lobes=8, seed=3)
    for name in (".venv", "training"):  # the commands run from the repository: its .venv and training/ configs
        os.symlink(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    commands = readme_commands("training")
    assert [c.split()[:3] for c in commands] == [
        ["qgis_process", "run", "rockglacier:trainingpatches"],
        [".venv/bin/python", "-m", "training"],
        [".venv/bin/python", "-m", "training"],
        ["qgis_process", "run", "rockglacier:segment"],
    ]
    for command in commands:
        arguments = shlex.split(command)
        if arguments[:4] == [".venv/bin/python", "-m", "training", "train"]:
            arguments += SHORT_TRAINING
        if arguments[0] == "qgis_process":
            arguments[0] = shutil.which("qgis_process") or pytest.fail("qgis_process is not on PATH; run `make setup`.")
        done = subprocess.run(arguments, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert (tmp_path / "patches" / "patches.csv").exists() and (tmp_path / "runs" / "mine" / "best.pt").exists()
    probability = gdal.Open(str(tmp_path / "p.tif"))
    assert (probability.RasterXSize, probability.RasterYSize) == (600, 600)
    values = probability.ReadAsArray()
    assert values.min() >= 0.0 and values.max() <= 1.0
    candidates = ogr.Open(str(tmp_path / "candidates.gpkg"))
    assert candidates is not None and candidates.GetLayer(0).GetLayerDefn().GetFieldIndex("review") >= 0
