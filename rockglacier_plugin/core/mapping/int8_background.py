"""The background process that makes and checks a model's int8 copy after a run, so that the run that first meets a
model costs a float32 run (``precision``, issue 43).

The run reads the calibration and check tiles it would have used (reading only: no tile goes through a model), and,
once it has succeeded, ``start_preparation`` saves them beside the copy's place and starts ``int8_prepare`` in a
process of its own: QGIS's Python (``dependencies.qgis_python``), the run's ``sys.path``, a new session (it outlives
qgis_process), a lower priority, its output in ``<copy>.preparing.log``. That process runs the same
``precision.measured_copy`` a run would (the copy, its check against float32, mixed precision, the verdict for the
scene or the refusal for the model) and then removes its lock and inputs. One preparation per model at a time
(``int8_cache.claim_lock``); a run meanwhile is float32 and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Optional, Sequence

import numpy as np

from ..dependencies import current_layout, qgis_python
from .int8_cache import claim_lock, lock_path, preparation_log_path, record_lock_owner, release_lock

#: The module the background process runs (``python -m``), named from this package wherever the plugin is installed.
PREPARE_MODULE = __name__.rsplit(".", 1)[0] + ".int8_prepare"
#: The processes started from this one, held so that none is collected (and warned about) while it runs.
_STARTED: list[subprocess.Popen] = []


def inputs_path(model_path: str) -> str:
    """The calibration and check tiles saved for the background process (removed by it)."""
    return lock_path(model_path) + ".inputs.npz"


def request_path(model_path: str) -> str:
    """What the background process is asked to do (removed by it)."""
    return lock_path(model_path) + ".request.json"


def remove_request(model_path: str) -> None:
    """Remove the saved tiles and the request (the lock is ``int8_cache.release_lock``'s)."""
    for leftover in (inputs_path(model_path), request_path(model_path)):
        if os.path.exists(leftover):
            os.remove(leftover)


def wait_for_preparation(model_path: str, timeout_s: float) -> Optional[float]:
    """Wait until the background preparation of this model's copy has ended (its lock is gone), at most
    ``timeout_s``; the seconds waited, or None when none was running."""
    lock, started = lock_path(model_path), time.perf_counter()
    if not os.path.exists(lock):
        return None
    while os.path.exists(lock) and time.perf_counter() - started < timeout_s:
        time.sleep(0.2)
    return time.perf_counter() - started


def save_inputs(path: str, calibration: Sequence[np.ndarray], check: Sequence[np.ndarray]) -> None:
    """The tiles as one .npz: ``calibration_<i>`` and ``check_<i>`` (tiles may differ in size)."""
    arrays = {f"calibration_{i}": np.asarray(x) for i, x in enumerate(calibration)}
    arrays.update({f"check_{i}": np.asarray(x) for i, x in enumerate(check)})
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_inputs(path: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``save_inputs``' tiles back, in their order."""
    with np.load(path) as saved:

        def ordered(kind: str) -> list[np.ndarray]:
            names = sorted((n for n in saved.files if n.startswith(kind + "_")), key=lambda n: int(n.rsplit("_", 1)[1]))
            return [saved[n] for n in names]

        return ordered("calibration"), ordered("check")


def start_preparation(
    model_path: str,
    inputs: tuple[Sequence[np.ndarray], Sequence[np.ndarray]],
    threshold: float,
    scene_key: Optional[str],
    threads: int = 0,
) -> str:
    """Start the background process for this model (module docstring); a line for the run's log."""
    if not claim_lock(model_path):
        return "int8: another run is already making this model's int8 copy in the background."
    log_path = preparation_log_path(model_path)
    try:
        save_inputs(inputs_path(model_path), *inputs)
        request = {
            "model_path": os.path.abspath(model_path),
            "inputs": inputs_path(model_path),
            "threshold": float(threshold),
            "scene_key": scene_key,
            "threads": int(threads),
        }
        with open(request_path(model_path), "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        process = _spawn([qgis_python(current_layout()), "-m", PREPARE_MODULE, request_path(model_path)], log_path)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        release_lock(model_path)
        remove_request(model_path)
        return (
            f"int8: the background process that makes this model's int8 copy could not start ({exc}); the next run tries again."
        )
    record_lock_owner(model_path, process.pid)
    _STARTED[:] = [p for p in _STARTED if p.poll() is None] + [process]
    return (
        f"int8: making and checking this model's int8 copy in a background process (pid {process.pid}, lower priority; "
        f"its log: {log_path}); later runs use it where it agrees with float32."
    )


def _spawn(command: list[str], log_path: str) -> subprocess.Popen:
    """The process, detached from this one (it outlives qgis_process), its output appended to ``log_path``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    windows = os.name == "nt"
    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "CREATE_NO_WINDOW", 0) if windows else 0
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            close_fds=True,
            start_new_session=not windows,
            creationflags=flags,
        )
