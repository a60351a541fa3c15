"""Error types raised by the core.

Each class also inherits the built-in exception whose meaning it carries, so callers that do not
know this module still catch them sensibly. Messages follow one pattern: the value, the
constraint it breaks, and what the user should do about it.
"""


class RockGlacierError(Exception):
    """Base class of every error the core raises on purpose."""


class InputRasterError(RockGlacierError, ValueError):
    """A raster cannot be used as given (unreadable, no CRS, rotated grid, bad band...)."""


class InputVectorError(RockGlacierError, ValueError):
    """A vector input cannot be used as given (no features, no CRS, wrong geometry type...)."""


class ParameterError(RockGlacierError, ValueError):
    """A parameter value is outside what the method accepts."""


class MissingDependencyError(RockGlacierError, ImportError):
    """An optional Python package needed by one algorithm cannot be imported."""


class OperationCancelled(RockGlacierError):
    """The user cancelled a long operation; nothing was written."""
