"""The shared core: event model, plugin contracts, registry, configuration, errors, query language.

Everything else in the project depends on this package; it depends on nothing of ours.
"""

from soc_core.clock import Clock, FrozenClock, SystemClock
from soc_core.errors import (
    ConfigError,
    NotFound,
    ParseError,
    PermanentError,
    QuerySyntaxError,
    QueueFull,
    ReceiverError,
    RegistryError,
    ResponderError,
    RetryableError,
    RuleError,
    SocError,
    StoreError,
    VersionConflict,
)
from soc_core.event import Event, RawEvent, get_field, set_field

__all__ = [
    "Clock",
    "ConfigError",
    "Event",
    "FrozenClock",
    "NotFound",
    "ParseError",
    "PermanentError",
    "QuerySyntaxError",
    "QueueFull",
    "RawEvent",
    "ReceiverError",
    "RegistryError",
    "ResponderError",
    "RetryableError",
    "RuleError",
    "SocError",
    "StoreError",
    "SystemClock",
    "VersionConflict",
    "get_field",
    "set_field",
]
