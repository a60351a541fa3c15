"""The background process of ``int8_background``: ``python -m ...int8_prepare <request.json>``.

It makes the model's int8 copy from the saved calibration tiles, checks it against float32 on the saved check tiles
(``precision.measured_copy``: mixed precision where the whole copy disagrees, the verdict kept for the scene), and
remembers a refusal for the model where no copy agrees or none could be made, so no later run starts it again. It
always removes its lock and inputs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Optional

from .int8_background import load_inputs, remove_request
from .int8_cache import known_refusal, release_lock, remember_refusal
from .onnx_model import Device, SegmentationModel, load_model
from .precision import Precision, measured_copy


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        try:
            os.nice(10)
        except OSError:
            pass


def prepare(request: dict) -> str:
    """Make and check the copy the request asks for; the note of the precision a run would now choose."""
    model_path, threads = request["model_path"], int(request.get("threads", 0))
    calibration, check = load_inputs(request["inputs"])

    def load(path: str) -> SegmentationModel:
        return load_model(path, Device.CPU, threads)

    _log(f"making and checking the int8 copy of {model_path} ({len(calibration)} calibration, {len(check)} check tiles)")
    choice = measured_copy(
        load(model_path),
        model_path,
        (lambda: calibration, check),
        float(request["threshold"]),
        (load, _log),
        (Precision.AUTO, request.get("scene_key")),
    )
    if choice.precision == "float32" and known_refusal(model_path) is None:
        remember_refusal(model_path, choice.note.removeprefix("float32: ").rstrip("."))
    return choice.note


def main(argv: Optional[list[str]] = None) -> int:
    """Run one request; 0 when a verdict (int8 or a refusal) was reached."""
    path = (argv if argv is not None else sys.argv[1:])[0]
    with open(path, encoding="utf-8") as handle:
        request = json.load(handle)
    model_path = request["model_path"]
    _lower_priority()
    try:
        _log(f"done: {prepare(request)}")
        return 0
    except Exception as exc:  # the run that started it is gone: say it here, and do not start again each run
        _log(f"failed: {exc}")
        remember_refusal(model_path, f"the background process that makes the int8 copy failed ({str(exc)[:200]})")
        return 1
    finally:
        release_lock(model_path)
        remove_request(model_path)


if __name__ == "__main__":
    sys.exit(main())
