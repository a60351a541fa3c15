"""Progress reporting and cancellation without QGIS types.

Long core functions take one ``RunHooks``: ``on_progress(fraction)`` with a fraction in [0, 1],
``is_cancelled()`` returning True when the user asked to stop, and ``log(message)`` for what the
user should read. The Processing adapter wires them to ``QgsProcessingFeedback``; scripts may pass
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .errors import OperationCancelled

ProgressCallback = Callable[[float], None]
CancelCheck = Callable[[], bool]
LogCallback = Callable[[str], None]


def _silent(message: str) -> None:
    """The default log: says nothing."""


@dataclass(frozen=True)
class RunHooks:
    """What a long core function reports to its caller, and asks of it.

    >>> messages = []
    >>> hooks = RunHooks(log=messages.append)
    >>> hooks.log("hello"); hooks.cancelled(), messages
    (False, ['hello'])
    """

    on_progress: Optional[ProgressCallback] = None
    is_cancelled: Optional[CancelCheck] = None
    log: LogCallback = _silent

    def progress(self, total_steps: int) -> "Progress":
        """A step counter over ``total_steps`` that reports here and raises when cancelled."""
        return Progress(total_steps, self.on_progress, self.is_cancelled)

    def cancelled(self) -> bool:
        """True when the user asked to stop."""
        return self.is_cancelled is not None and bool(self.is_cancelled())


class Progress:
    """Step counter that reports fractions and raises when cancelled.

    Args:
        total_steps: number of ``advance()`` calls that make 100 %.
        on_progress: called with the fraction done, in [0, 1].
        is_cancelled: polled at each step; when it returns True, ``OperationCancelled`` is raised.
    """

    def __init__(
        self,
        total_steps: int,
        on_progress: Optional[ProgressCallback] = None,
        is_cancelled: Optional[CancelCheck] = None,
    ) -> None:
        self.total_steps = max(int(total_steps), 1)
        self.done_steps = 0
        self._on_progress = on_progress
        self._is_cancelled = is_cancelled

    def check_cancelled(self) -> None:
        """Raise ``OperationCancelled`` when the user asked to stop."""
        if self._is_cancelled is not None and self._is_cancelled():
            raise OperationCancelled("Cancelled by the user; no output was written.")

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more steps done, report the fraction, then check for cancel."""
        self.done_steps = min(self.done_steps + steps, self.total_steps)
        if self._on_progress is not None:
            self._on_progress(self.done_steps / self.total_steps)
        self.check_cancelled()
