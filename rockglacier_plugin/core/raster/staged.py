"""Outputs that appear only when complete: write to a partial file, rename when done.

A cancelled, failed or killed run must never leave a file under the requested name that looks
finished. Every writer of the core (velocity rasters, segmentation probability and mask, SNAPHU
unwrapped phase and components, training patches) goes through ``staged_outputs``:

    with staged_outputs([probability_path, mask_path]) as (partial_probability, partial_mask):
        ... write both partial files, close them ...

On normal exit every partial file is renamed onto its final name (``os.replace``, atomic on one
file system); on any exception, cancellation included, the partial files are removed and the final
names are left as they were before the run.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator, Sequence

PARTIAL_SUFFIX = ".partial"


def partial_path(final_path: str) -> str:
    """The partial name of an output: same folder and extension, so GDAL picks the same driver.

    >>> partial_path("/data/v_los.tif")
    '/data/v_los.partial.tif'
    """
    stem, extension = os.path.splitext(str(final_path))
    return f"{stem}{PARTIAL_SUFFIX}{extension or '.tif'}"


def unique_stem(path: str, salt: str = "") -> str:
    """A file-name-safe work-file stem: the file's own stem and a hash of its full path and ``salt``
    (two products may share a file name, e.g. velocity.h5; a run's settings go in the salt).

    >>> unique_stem("/a/velocity.h5") != unique_stem("/b/velocity.h5")
    True
    >>> unique_stem("/a/velocity.h5").startswith("velocity_")
    True
    """
    import hashlib

    digest = hashlib.sha1(f"{os.path.abspath(path)}|{salt}".encode("utf-8")).hexdigest()[:10]
    return f"{os.path.splitext(os.path.basename(path))[0]}_{digest}"


def _remove_quietly(path: str) -> None:
    for candidate in (path, path + ".aux.xml"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(candidate)


@contextlib.contextmanager
def staged_outputs(final_paths: Sequence[str]) -> Iterator[list[str]]:
    """Partial paths for ``final_paths``; renamed onto them on success, removed on any error.

    Datasets opened on the partial paths must be closed (dereferenced) inside the block, so GDAL
    has flushed them before the rename.
    """
    finals = [str(p) for p in final_paths]
    partials = [partial_path(p) for p in finals]
    for path in partials:
        _remove_quietly(path)  # a leftover of an earlier killed run
    try:
        yield partials
    except BaseException:
        for path in partials:
            _remove_quietly(path)
        raise
    for partial, final in zip(partials, finals):
        if os.path.exists(partial):
            os.replace(partial, final)
            if os.path.exists(partial + ".aux.xml"):
                os.replace(partial + ".aux.xml", final + ".aux.xml")
