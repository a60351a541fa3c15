"""Progress reporting and cancellation without QGIS types.

Long core functions take two plain callables: ``on_progress(fraction)`` with a fraction in
[0, 1] and ``is_cancelled()`` returning True when the user asked to stop. The Processing adapter
wires them to ``QgsProcessingFeedback``; scripts may pass nothing.
"""

from __future__ import annotations

from typing import Callable, Optional

from .errors import OperationCancelled

ProgressCallback = Callable[[float], None]
CancelCheck = Callable[[], bool]


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
