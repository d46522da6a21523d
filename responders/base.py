"""What every responder shares: its manifest, and running a local command with a timeout.

A manifest is the responder's declaration (as Cortex responders declare theirs): the
observable types it accepts, whether it is high-impact (then an analyst approves it
first), whether it can be reverted, and a JSON Schema of its settings, checked when the
responder is built so that a typo in a setting is a start-up error, not a silent default.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from soc_core.errors import ConfigError, PermanentError, RetryableError

DEFAULT_COMMAND_TIMEOUT_SECS = 10.0
DEFAULT_HTTP_TIMEOUT_SECS = 10.0

# Observable types, STIX-like names as in soc_core.contracts.Indicator.
IP = "ip"
ANY = "any"


@dataclass(frozen=True, slots=True)
class Manifest:
    """A responder's declaration (see the module docstring)."""

    name: str
    description: str
    observables: frozenset[str]
    settings_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    reversible: bool = True
    blocks: bool = False  # True: the responder blocks traffic, so safeguards apply to its targets

    def validate_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings checked against the schema; ``ConfigError`` names the bad one."""
        try:
            jsonschema.validate(dict(settings), dict(self.settings_schema))
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path) or "settings"
            raise ConfigError(f"responder {self.name}: {where}: {exc.message}") from None
        return dict(settings)


# Settings every responder driving a local command shares (merged into its schema).
COMMAND_SETTINGS: dict[str, Any] = {
    "netns": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
    "command_timeout_secs": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
}
# ... and every responder calling an HTTP API.
HTTP_SETTINGS: dict[str, Any] = {
    "url": {"type": "string", "pattern": "^https?://"},
    "timeout_secs": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
    "verify_tls": {"type": "boolean"},
}


def run_command(argv: Sequence[str], stdin: str | None = None,
                timeout_secs: float = DEFAULT_COMMAND_TIMEOUT_SECS) -> subprocess.CompletedProcess[str]:
    """Run a local command (no shell) and return it whatever its exit status.

    A timeout or a missing binary is retryable (the machine may be busy, the package being
    installed); the caller decides what a non-zero exit means."""
    try:
        return subprocess.run(  # noqa: S603 - argv is built from settings and validated targets, never a shell
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout_secs, check=False)
    except subprocess.TimeoutExpired:
        raise RetryableError(f"{argv[0]} did not finish within {timeout_secs}s") from None
    except FileNotFoundError:
        raise PermanentError(f"{argv[0]} not found") from None


def require_ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    """stdout of a successful command, else ``PermanentError`` carrying its stderr."""
    if proc.returncode != 0:
        raise PermanentError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    return proc.stdout


def netns_prefix(netns: str | None) -> list[str]:
    """``ip netns exec NAME`` when a responder acts inside a network namespace."""
    return ["ip", "netns", "exec", netns] if netns else []


def http_call(client: Any, method: str, url: str, what: str, **kwargs: Any) -> Any:
    """One HTTP request through an ``httpx.Client`` (whose timeouts are always set), with
    the outcome mapped to our errors: a timeout, a connection failure, 429 or a 5xx is
    retryable; any other non-2xx answer is permanent. Returns the response."""
    import httpx  # only the HTTP responders need it

    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise RetryableError(f"{what}: {method} {url}: timeout ({exc})") from None
    except httpx.TransportError as exc:
        raise RetryableError(f"{what}: {method} {url}: {exc}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError(f"{what}: {method} {url}: HTTP {response.status_code}")
    if not response.is_success:
        raise PermanentError(f"{what}: {method} {url}: HTTP {response.status_code} {response.text[:300]}")
    return response


def http_client(conf: Mapping[str, Any], headers: Mapping[str, str] | None = None,
                transport: Any = None) -> Any:
    """An ``httpx.Client`` from a responder's settings: ``timeout_secs`` (always a timeout)
    and ``verify_tls``; ``transport`` only for a test's in-process transport."""
    import httpx

    return httpx.Client(timeout=float(conf.get("timeout_secs", DEFAULT_HTTP_TIMEOUT_SECS)),
                        verify=bool(conf.get("verify_tls", True)), headers=dict(headers or {}), transport=transport)
