"""The files kept beside a model's int8 copy (``precision``): where the copy lives, the agreement measured per scene,
a refusal remembered for the model, and the lock of a copy being prepared in the background (``int8_background``).

All of them are a cache: deleting any of them costs at most one more check or copy, never a wrong result.

* ``<name>.int8-<sha16>.onnx``: the copy, named by the model's SHA-256 (a changed model gets a new copy).
* ``... .onnx.agreement.json``: the agreement with float32 measured on each scene (key: file, size, time, bands).
* ``... .onnx.refused.json``: why no copy agreed; while it is there, ``auto`` runs float32 without reading a tile.
* ``... .onnx.preparing``: a background process is making and checking the copy (its process id and start time);
  ``... .onnx.preparing.log``: what it said. A lock older than ``STALE_AFTER_S``, or whose process is gone, is stale.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Optional

from .int8 import model_digest

CACHE_ENV = "ROCKGLACIER_INT8_CACHE"
#: A preparation lock older than this is stale (the process was killed, or the machine restarted), seconds.
STALE_AFTER_S = 3600.0


def int8_cache_path(model_path: str) -> str:
    """Where the int8 copy of ``model_path`` lives: beside it (``<name>.int8-<sha16>.onnx``) when that folder
    is writable, else in ``$ROCKGLACIER_INT8_CACHE`` or the user's cache folder."""
    digest = model_digest(model_path)
    stem = os.path.splitext(os.path.basename(model_path))[0]
    folder = os.path.dirname(os.path.abspath(model_path))
    if os.environ.get(CACHE_ENV) or not os.access(folder, os.W_OK):
        folder = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "rockglacier", "int8")
    return os.path.join(folder, f"{stem}.int8-{digest}.onnx")


def verdicts_path(int8_path: str) -> str:
    """The per-scene agreements of the copy at ``int8_path``."""
    return int8_path + ".agreement.json"


def known_verdict(int8_path: str, scene_key: Optional[str]) -> Optional[dict[str, Any]]:
    """The agreement (``precision.Agreement``'s fields) measured before on this very scene, if any."""
    if not scene_key or not os.path.isfile(verdicts_path(int8_path)):
        return None
    try:
        with open(verdicts_path(int8_path), encoding="utf-8") as handle:
            found = json.load(handle).get(scene_key)
        return dict(found) if found else None
    except (OSError, ValueError, TypeError):
        return None


def remember_verdict(int8_path: str, scene_key: Optional[str], fields: dict[str, Any]) -> None:
    """Keep the agreement measured on this scene (the last 200 scenes are kept)."""
    if not scene_key:
        return
    try:
        verdicts = {}
        if os.path.isfile(verdicts_path(int8_path)):
            with open(verdicts_path(int8_path), encoding="utf-8") as handle:
                verdicts = json.load(handle)
        verdicts[scene_key] = fields
        with open(verdicts_path(int8_path), "w", encoding="utf-8") as handle:
            json.dump(dict(list(verdicts.items())[-200:]), handle)
    except (OSError, ValueError):
        pass  # a cache only: the next run checks again


def refusal_path(model_path: str) -> str:
    """The file that remembers why int8 was refused for this model."""
    return int8_cache_path(model_path) + ".refused.json"


def known_refusal(model_path: str) -> Optional[str]:
    """Why int8 was refused for this model before (None: never refused, or the refusal was deleted)."""
    try:
        with open(refusal_path(model_path), encoding="utf-8") as handle:
            return str(json.load(handle)["why"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_refusal(model_path: str, why: str) -> None:
    """Remember that no int8 copy of this model agreed, and why."""
    try:
        os.makedirs(os.path.dirname(refusal_path(model_path)), exist_ok=True)
        with open(refusal_path(model_path), "w", encoding="utf-8") as handle:
            json.dump({"why": why, "when": time.strftime("%Y-%m-%d %H:%M")}, handle)
    except OSError:
        pass  # a cache only: the next run tries again


def lock_path(model_path: str) -> str:
    """The lock of a background preparation of this model's copy."""
    return int8_cache_path(model_path) + ".preparing"


def preparation_log_path(model_path: str) -> str:
    """What the background preparation of this model's copy said."""
    return lock_path(model_path) + ".log"


def claim_lock(model_path: str) -> bool:
    """Take the preparation lock (False: another run holds it). A stale lock is taken over."""
    path = lock_path(model_path)
    if os.path.exists(path) and preparing_since(model_path) is None:
        release_lock(model_path)  # stale
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(handle, "w", encoding="utf-8") as lock:
        json.dump({"pid": os.getpid(), "started": time.time()}, lock)
    return True


def record_lock_owner(model_path: str, pid: int) -> None:
    """The process that now holds the lock (the background process started by the run that claimed it)."""
    with open(lock_path(model_path), "w", encoding="utf-8") as lock:
        json.dump({"pid": pid, "started": time.time()}, lock)


def release_lock(model_path: str) -> None:
    """Remove the preparation lock (done, failed, or stale)."""
    try:
        os.remove(lock_path(model_path))
    except OSError:
        pass


def preparing_since(model_path: str) -> Optional[float]:
    """When the background preparation holding the lock started (time.time()), or None: no lock, or a stale one."""
    try:
        with open(lock_path(model_path), encoding="utf-8") as lock:
            held = json.load(lock)
        pid, started = int(held["pid"]), float(held["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if time.time() - started > STALE_AFTER_S or not _alive(pid):
        return None
    return started


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (always True on Windows, where only the lock's age decides)."""
    if os.name == "nt":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a finished child of this very process stays a zombie until reaped: reap it if it is one
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # not our child: it runs
    return done == 0
