"""Network namespaces for responder tests: two namespaces joined by a veth pair.

``defender`` holds the firewall rules under test; ``attacker`` sends packets to it. Only
as root (``ip netns add``); every test using them skips clearly otherwise. Names carry a
random suffix so parallel runs do not collide; everything is deleted in a ``finally``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

DEFENDER_IP = "10.231.0.1"
ATTACKER_IP = "10.231.0.2"
OTHER_IP = "10.231.0.3"  # a second address on the attacker side, never blocked


@dataclass(frozen=True)
class Pair:
    defender: str
    attacker: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def require_netns() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("network namespaces need root, iproute2 and nftables")


@contextmanager
def namespace_pair() -> Iterator[Pair]:
    require_netns()
    tag = secrets.token_hex(3)
    pair = Pair(f"socdef{tag}", f"socatk{tag}")
    created: list[str] = []
    try:
        for name in (pair.defender, pair.attacker):
            _ip("netns", "add", name)
            created.append(name)
        _ip("link", "add", f"vd{tag}", "netns", pair.defender, "type", "veth", "peer", "name", f"va{tag}",
            "netns", pair.attacker)
        _ip("-n", pair.defender, "addr", "add", f"{DEFENDER_IP}/24", "dev", f"vd{tag}")
        _ip("-n", pair.attacker, "addr", "add", f"{ATTACKER_IP}/24", "dev", f"va{tag}")
        _ip("-n", pair.attacker, "addr", "add", f"{OTHER_IP}/24", "dev", f"va{tag}")
        for name, dev in ((pair.defender, f"vd{tag}"), (pair.attacker, f"va{tag}")):
            _ip("-n", name, "link", "set", dev, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield pair
    finally:
        for name in created:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)


PORT = 7077
_SERVER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d)); s.listen(16); s.settimeout(1.0)
end = time.monotonic() + %d
while time.monotonic() < end:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        pass
"""
_CLIENT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], %d), timeout=1.0, source_address=(sys.argv[2], 0)).close()
except OSError:
    sys.exit(1)
"""


@contextmanager
def tcp_listener(pair: Pair, lifetime_secs: int = 300) -> Iterator[None]:
    """A TCP listener inside the defender namespace (bounded lifetime), stopped by PID."""
    proc = subprocess.Popen(["ip", "netns", "exec", pair.defender, sys.executable, "-c",
                             _SERVER % (PORT, lifetime_secs)])
    try:
        for _ in range(50):  # wait until it accepts (bounded: 5 s)
            if can_connect(pair, ATTACKER_IP):
                break
            time.sleep(0.1)
        yield
    finally:
        proc.kill()
        proc.wait(timeout=10)


def can_connect(pair: Pair, source: str, target: str = DEFENDER_IP) -> bool:
    """A TCP connection from ``source`` (an attacker-side address) to the defender (1 s timeout);
    False when a firewall drops it."""
    proc = subprocess.run(["ip", "netns", "exec", pair.attacker, sys.executable, "-c", _CLIENT % PORT, target, source],
                          capture_output=True, timeout=15, check=False)
    return proc.returncode == 0
