"""Traffic generators for the anomaly tests: a small shop's normal requests (raw HTTP and
access-log lines), attacks on it, and camera nodes' iptables logs. Seeded, so every run
sees the same traffic."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from urllib.parse import quote_plus

WORDS = ["camera", "ao", "giay", "mu", "balo", "kinh", "dong ho", "tui"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "Mozilla/5.0 (Windows NT 10.0) Chrome/119.0"]


def normal_target(rng: random.Random) -> tuple[str, str, str]:
    """(method, target, form body) of one ordinary request to the shop."""
    choice = rng.randrange(4)
    if choice == 0:
        return "GET", "/shop/index.jsp", ""
    if choice == 1:
        return "GET", f"/shop/product.jsp?id={rng.randint(1, 400)}&lang={rng.choice(['en', 'vi'])}", ""
    if choice == 2:
        return "GET", f"/shop/search.jsp?q={quote_plus(rng.choice(WORDS))}", ""
    return "POST", "/shop/cart.jsp", f"id={rng.randint(1, 400)}&qty={rng.randint(1, 9)}"


ATTACKS = [
    ("GET", "/shop/product.jsp?id=1%27+OR+%271%27%3D%271&lang=en", ""),
    ("GET", "/shop/search.jsp?q=%3Cscript%3Ealert%28document.cookie%29%3C%2Fscript%3E", ""),
    ("GET", "/shop/../../etc/passwd", ""),
    ("GET", "/shop/product.jsp?id=12;cat+/etc/shadow&lang=en", ""),
    ("POST", "/shop/cart.jsp", "id=1+UNION+SELECT+password+FROM+users--&qty=1"),
    ("GET", "/shop/admin/config.php?debug=1", ""),
    ("GET", "/shop/search.jsp?q=" + "A" * 600, ""),
    ("POST", "/shop/cart.jsp", "id=3&qty=1&cmd=%60id%60"),
]


def raw_request(method: str, target: str, body: str, agent: str, eol: str = "\r\n") -> str:
    lines = [f"{method} {target} HTTP/1.1", "Host: shop.example:8080", f"User-Agent: {agent}", "Accept: */*"]
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return eol.join(lines) + eol + eol + body + (eol if body else "")


def raw_stream(requests: list[tuple[str, str, str]], seed: int = 0, eol: str = "\r\n") -> str:
    rng = random.Random(seed)
    return "".join(raw_request(m, t, b, rng.choice(AGENTS), eol) + eol for m, t, b in requests)


def normal_requests(count: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [normal_target(rng) for _ in range(count)]


def access_line(method: str, target: str, when: datetime, client: str, agent: str) -> str:
    """One Apache combined log line (a POST's body is not logged)."""
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{client} - - [{stamp}] "{method} {target} HTTP/1.1" 200 512 "-" "{agent}"'


def access_lines(requests: list[tuple[str, str, str]], start: datetime, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [access_line(m, t, start + timedelta(seconds=i), f"10.0.0.{rng.randint(10, 60)}", rng.choice(AGENTS))
            for i, (m, t, _) in enumerate(requests)]


CAMERAS = ["cam01", "cam02", "cam03"]
KNOWN_DESTINATIONS = ["10.0.0.1", "10.0.0.2", "8.8.8.8"]  # the NVR, the NTP relay, public DNS


def iptables_line(when: datetime, node: str, destination: str, port: int) -> str:
    stamp = when.strftime("%b %d %H:%M:%S").replace(" 0", "  ", 1) if when.day < 10 else when.strftime(
        "%b %d %H:%M:%S")
    return (f"{stamp} {node} kernel: [1.0] OUT IN= OUT=eth0 SRC=10.0.1.{CAMERAS.index(node) + 5} "
            f"DST={destination} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT={port} "
            "WINDOW=29200 RES=0x00 SYN URGP=0")


def camera_lines(start: datetime, minutes: int, seed: int) -> list[str]:
    """Each camera, each minute: a few connections to the destinations it always uses."""
    rng = random.Random(seed)
    lines: list[str] = []
    for minute in range(minutes):
        for node in CAMERAS:
            for k in range(rng.randint(4, 6)):
                when = start + timedelta(minutes=minute, seconds=k * 7)
                lines.append(iptables_line(when, node, rng.choice(KNOWN_DESTINATIONS), rng.choice([554, 123, 53])))
    return lines


def outbound_burst(start: datetime, node: str = "cam02", count: int = 25) -> list[str]:
    """A node suddenly talking to many addresses on the Internet it never used."""
    return [iptables_line(start + timedelta(seconds=i), node, f"45.77.{i}.{200 - i}", 6667) for i in range(count)]
