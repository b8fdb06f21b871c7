"""User-facing errors: one sentence that names the problem and the fix.

The CLI maps every :class:`ModelworksError` to exit code 2 and prints its message on one line, without a
traceback. Anything else escaping is a bug in modelworks, not a user mistake.
"""

from __future__ import annotations


class ModelworksError(Exception):
    """Base class of the errors a user can act on."""


class DataError(ModelworksError):
    """The input table cannot be read or cannot be used as it is."""


class TargetError(DataError):
    """The target column is absent or unusable for the requested task."""


class ConfigError(ModelworksError):
    """An option has an invalid value."""


class BundleError(ModelworksError):
    """A saved bundle is missing, incomplete, modified or incompatible."""


class SchemaError(DataError):
    """Rows given for prediction do not match the bundle's input schema."""
