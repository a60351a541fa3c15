"""Running tasks on a Dask cluster: skip what is done, report progress, survive failures.

Futures are submitted for the tasks without a done marker (a rerun resumes); ``as_completed``
reports each as it ends (a tqdm bar with done / failed / left); a task that raises is reported with
its error and the others go on; a worker that dies is replaced by Dask, which reruns its tasks
(``distributed.scheduler.allowed-failures``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .tasks import read_marker


@dataclass
class TaskReport:
    """What a set of tasks came to: the finished tasks' records, the skipped (already done) and the failed with their errors."""

    done: list[dict[str, Any]] = field(default_factory=list)  # marker records, input order
    skipped: int = 0  # already done before this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, error)


def run_tasks(
    client: Any,
    names: Sequence[str],
    keys: Sequence[str],
    work_dir: str,
    submit: Callable[[Any, int], Any],
    progress: bool = True,
) -> TaskReport:
    """Submit ``submit(client, index)`` for every task not done yet and wait for all of them."""
    from distributed import as_completed

    report = TaskReport()
    records: dict[int, dict[str, Any]] = {}
    futures = {}
    for index, key in enumerate(keys):
        record = read_marker(work_dir, key)
        if record is not None:
            records[index] = record
            report.skipped += 1
        else:
            futures[submit(client, index)] = index
    bar = _bar(len(keys), report.skipped, progress)
    for future in as_completed(list(futures)):
        index = futures[future]
        try:
            records[index] = future.result()
        except Exception as exc:  # noqa: BLE001 - one failed scene is reported, the others go on
            report.failed.append((names[index], f"{type(exc).__name__}: {exc}"))
        bar.update(1)
        bar.set_postfix(done=len(records), failed=len(report.failed), left=len(keys) - len(records) - len(report.failed))
    bar.close()
    report.done = [records[i] for i in sorted(records)]
    return report


def _bar(total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, file=sys.stderr, unit="task", desc="tasks")
