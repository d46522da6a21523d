"""The one error tree of the project.

Every stage catches only these types; anything else is a bug that is counted,
logged and turns the event into a dead letter.

    SocError
    ├── ConfigError              bad configuration (unknown component, bad option)
    │   ├── RegistryError        duplicate or unknown plugin name (start-up error)
    │   ├── PlaybookError        a playbook that does not validate (file, line)
    │   └── ModelError           an anomaly model that cannot be used (other version or schema)
    ├── QuerySyntaxError         analyst query that does not parse (carries the column)
    │   └── InvalidParameter     another search parameter that is malformed (a cursor)
    ├── ParseError               a parser could not handle an input event (parser id, reason)
    ├── RuleError                a detection rule that does not load (file, line)
    ├── StoreError               a storage backend failed
    │   ├── DataFileError        a queue or store file is corrupted or not a database (path)
    │   ├── VersionConflict      optimistic update of a record lost a race
    │   └── NotFound             the record does not exist
    ├── ReceiverError            a receiver could not start or lost its input
    ├── InputDamaged             a file read in part: what follows the damage is lost (path, offset)
    ├── QueueFull                the durable queue is full (back-pressure)
    ├── IntelError               threat intelligence input or sharing refused (bad indicator, feed, TLP)
    └── ResponderError           a response action failed
        ├── RetryableError       try again later (timeout, 5xx, rate limit)
        └── PermanentError       never retry (refused by policy, bad request)
"""

from __future__ import annotations


class SocError(Exception):
    """Root of every error the project raises on purpose."""


class ConfigError(SocError):
    """Configuration is invalid: unknown component, bad option, missing value."""


class RegistryError(ConfigError):
    """A plugin name is registered twice, or a requested name is unknown."""


class _Located(SocError):
    """An error in a file the project loads (a rule, a playbook): carries its file and line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}:{line or 1}: " if path else ""
        super().__init__(f"{where}{message}")


class PlaybookError(_Located, ConfigError):
    """A response playbook does not validate against the published schema; carries file and line."""


class ModelError(ConfigError):
    """An anomaly model artefact is missing, damaged, or made by another version or
    feature schema than the running code: retrain it rather than trust its scores."""


class QuerySyntaxError(SocError):
    """An analyst query could not be parsed; ``column`` is 1-based."""

    def __init__(self, message: str, query: str, column: int) -> None:
        self.query = query
        self.column = column
        self.reason = message
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} (column {column})\n  {query}\n  {pointer}")


class InvalidParameter(QuerySyntaxError):
    """A search parameter other than the query text is malformed (a paging cursor, say):
    the caller's mistake, reported like a query error (CLI: one line; API: 400)."""

    def __init__(self, parameter: str, message: str, value: str) -> None:
        shown = value if len(value) <= 60 else value[:60] + "..."
        SocError.__init__(self, f"invalid {parameter}: {message}: {shown!r}")
        self.parameter = parameter
        self.query = value
        self.column = 1
        self.reason = f"invalid {parameter}: {message}"


class ParseError(SocError):
    """A parser could not turn an input event into ECS."""

    def __init__(self, parser_id: str, reason: str) -> None:
        self.parser_id = parser_id
        self.reason = reason
        super().__init__(f"{parser_id}: {reason}")


class RuleError(_Located):
    """A detection rule could not be loaded; carries its file and line."""


class StoreError(SocError):
    """A storage backend failed."""


class DataFileError(StoreError):
    """A data file (the durable queue, the embedded store) cannot be opened or read: it is
    corrupted or not a database. ``soc repair PATH`` salvages what can still be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason} (the file is damaged: soc repair {path} salvages what can be read)")


class SearchTimeout(StoreError):
    """A store's search did not answer within its timeout."""


class VersionConflict(StoreError):
    """An optimistic update used a stale ``version``."""

    def __init__(self, record_id: str, expected: int, actual: int) -> None:
        self.record_id = record_id
        self.expected = expected
        self.actual = actual
        super().__init__(f"{record_id}: expected version {expected}, found {actual}")


class NotFound(StoreError):
    """The requested record does not exist."""


class ReceiverError(SocError):
    """A receiver could not start or lost its input."""


class InputDamaged(SocError):
    """A damaged input file (not gzip, a truncated gzip, unreadable EVTX chunks): what
    could be read was read; ``offset`` is where the damage starts (in the decompressed
    data) when known."""

    def __init__(self, path: str, reason: str, offset: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{path}: {reason}{where}")


class ResponderError(SocError):
    """A response action failed."""


class RetryableError(ResponderError):
    """A failure worth retrying later (timeout, 5xx, rate limit)."""


class PermanentError(ResponderError):
    """A failure that no retry will fix (refused by policy, bad request)."""


class QueueFull(SocError):
    """The durable queue is at its limit: senders must slow down (back-pressure)."""


class IntelError(SocError):
    """Threat intelligence that cannot be used or shared: a malformed indicator or feed
    file (named with its place), or a transfer the TLP marking forbids."""
