"""Suricata EVE JSON to ECS: dataset ``suricata.eve``.

One JSON object per line (``event_type`` alert, flow, dns, http, tls, fileinfo...).
Field placement follows Elastic's Filebeat ``suricata/eve`` module; the whole decoded
record is kept under ``suricata.eve``.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from parsers.base import BaseParser
from parsers.firewall._common import get, iso, put, set_community_id
from parsers.web.ecs import set_user_agent
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

_PROTOCOL_TYPES: Final = frozenset({"dns", "ftp", "ftp_data", "tls", "tftp", "smb", "ssh",
                                    "rdp"})
_PRIVATE: Final = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"))
# Second-level labels under which a country code TLD registers names (co.uk, com.au...).
_SLD: Final = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go"})
_DN_KEYS: Final = {"CN": "common_name", "C": "country", "O": "organization",
                   "OU": "organizational_unit", "ST": "state_or_province", "L": "locality"}


class SuricataEveParser(BaseParser):
    """Suricata ``eve.json`` records."""

    id = "suricata.eve"
    syslog_programs: tuple[str, ...] = ("suricata",)
    route_signals: tuple[str, ...] = ('"event_type"',)
    json_keys: tuple[str, ...] = ("event_type", "flow_id")

    def accepts(self, raw: RawEvent) -> bool:
        msg = raw.message
        return msg.lstrip().startswith("{") and '"event_type"' in msg

    def parse(self, raw: RawEvent) -> Event:
        try:
            eve = orjson.loads(raw.data)
        except orjson.JSONDecodeError as exc:
            raise ParseError(self.id, f"not JSON: {exc}") from None
        if not isinstance(eve, dict) or not isinstance(eve.get("event_type"), str):
            raise ParseError(self.id, "not an EVE record (no event_type)")
        event = self.new_event(raw)
        stamp = _time(eve.get("timestamp"))
        if stamp is None:
            raise ParseError(self.id, f"bad timestamp {eve.get('timestamp')!r}")
        event["@timestamp"] = iso(stamp)
        event_type = eve["event_type"].lower()
        self._endpoints(event, eve)
        self._categorize(event, eve, event_type)
        if event_type == "dns" and isinstance(eve.get("dns"), dict):
            self._dns(event, eve["dns"])
        app_proto = eve.get("app_proto")
        if isinstance(app_proto, str) and app_proto.lower() not in (
                "failed", "template", "template-rust"):
            put(event, "network.protocol",
                "ftp" if app_proto.lower() == "ftp-data" else app_proto.lower())
        if isinstance(eve.get("tls"), dict):
            self._tls(event, eve["tls"])
        if isinstance(eve.get("http"), dict):
            self._http(event, eve["http"])
        if isinstance(eve.get("alert"), dict):
            self._alert(event, eve["alert"])
        if isinstance(eve.get("flow"), dict):
            self._flow(event, eve["flow"])
        fileinfo = eve.get("fileinfo")
        if isinstance(fileinfo, dict):
            put(event, "file.path", fileinfo.get("filename"))
            put(event, "file.size", fileinfo.get("size"))
        self._direction(event)
        set_community_id(event)
        add_related(event, "ip", get(event, "source.ip"), get(event, "destination.ip"))
        add_related(event, "ip", *(get(event, "dns.resolved_ip") or []))
        domain = get(event, "destination.domain")
        add_related(event, "hosts", *(domain if isinstance(domain, list) else [domain]))
        related = event.get("related")
        if isinstance(related, dict):
            for k in [k for k, v in related.items() if not v]:
                del related[k]
            if not related:
                del event["related"]
        put(event, "suricata.eve", eve)
        return event

    def _endpoints(self, event: Event, eve: dict[str, Any]) -> None:
        for side, ip_key, port_key in (("source", "src_ip", "src_port"),
                                       ("destination", "dest_ip", "dest_port")):
            ip = eve.get(ip_key)
            if isinstance(ip, str) and ip:
                put(event, f"{side}.address", ip)
                put(event, f"{side}.ip", ip)
            port = eve.get(port_key)
            if isinstance(port, int) and not isinstance(port, bool):
                put(event, f"{side}.port", port)
        proto = eve.get("proto")
        if isinstance(proto, str):
            put(event, "network.transport", proto.lower())
        ether = eve.get("ether")
        if isinstance(ether, dict):
            put(event, "source.mac", ether.get("src_mac"))
            put(event, "destination.mac", ether.get("dest_mac"))

    def _categorize(self, event: Event, eve: dict[str, Any], event_type: str) -> None:
        categories: list[str] = []
        types: list[str] = []
        kind = "event"
        if event_type == "alert":
            kind = "alert"
            categories = ["network", "intrusion_detection"]
        elif event_type == "http":
            categories = ["network", "web"]
            types = ["access", "protocol"]
            put(event, "network.protocol", "http")
            status = get(eve, "http.status")
            if isinstance(status, int):
                put(event, "event.outcome", "success" if status < 400 else "failure")
        elif event_type in _PROTOCOL_TYPES:
            categories = ["network"]
            types = ["protocol"]
            put(event, "network.protocol", "ftp" if event_type == "ftp_data" else event_type)
        elif event_type == "flow":
            categories = ["network"]
            types = ["connection"]
            state = get(eve, "flow.state")
            if state == "new":
                types.append("start")
            elif state == "closed":
                types.append("end")
        elif event_type == "stats":
            # Suricata statistics are metrics; ECS has no "metric" kind of our own, so they
            # stay events (the lead's event model allows event|alert|pipeline_error only).
            kind = "event"
        else:
            categories = ["network"]
        put(event, "event.kind", kind)
        if categories:
            put(event, "event.category", categories)
        if types:
            put(event, "event.type", types)

    def _dns(self, event: Event, dns: dict[str, Any]) -> None:
        if dns.get("id") is not None:
            put(event, "dns.id", str(dns["id"]))
        put(event, "dns.response_code", dns.get("rcode"))
        dns_type = dns.get("type")
        put(event, "dns.type", dns_type)
        version = dns.get("version")
        if dns_type == "query" or (dns_type == "answer" and version == 2):
            put(event, "dns.question.name", dns.get("rrname"))
            put(event, "dns.question.type", dns.get("rrtype"))
        if dns_type == "answer" and version != 2:
            answer = {k: dns[src] for k, src in (("name", "rrname"), ("data", "rdata"),
                                                 ("type", "rrtype"), ("ttl", "ttl"))
                      if dns.get(src)}
            if answer:
                put(event, "dns.answers", [answer])
            if dns.get("rrtype") in ("A", "AAAA") and dns.get("rdata"):
                put(event, "dns.resolved_ip", [dns["rdata"]])
        if dns_type == "answer" and version == 2 and isinstance(dns.get("answers"), list):
            answers, resolved = [], []
            for item in dns["answers"]:
                if not isinstance(item, dict):
                    continue
                answer = {k: v for k, v in item.items() if k not in ("rrname", "rrtype", "rdata")}
                answer.update(name=item.get("rrname"), type=item.get("rrtype"),
                              data=item.get("rdata"))
                answers.append(answer)
                if item.get("rrtype") in ("A", "AAAA"):
                    resolved.append(item.get("rdata"))
            put(event, "dns.answers", answers)
            put(event, "dns.resolved_ip", resolved or None)
        if dns_type == "answer":
            flags = [flag.upper() for flag in ("aa", "tc", "rd", "ra") if dns.get(flag) is True]
            put(event, "dns.header_flags", flags or None)
        name = get(event, "dns.question.name")
        if isinstance(name, str) and name:
            registered = _registered_domain(name)
            if registered:
                put(event, "dns.question.registered_domain", registered)
                put(event, "dns.question.top_level_domain", registered.split(".", 1)[1])
                sub = name.rstrip(".")[: -len(registered)].rstrip(".")
                put(event, "dns.question.subdomain", sub or None)

    def _tls(self, event: Event, tls: dict[str, Any]) -> None:
        version = tls.get("version")
        if isinstance(version, str) and " " in version:
            protocol, _, number = version.partition(" ")
            put(event, "tls.version_protocol", protocol.lower())
            put(event, "tls.version", number)
        sni = tls.get("sni")
        if isinstance(sni, str):
            sni = sni.removesuffix(".")
            put(event, "tls.client.server_name", sni)
            put(event, "destination.domain", sni)
        for key, path in (("subject", "subject"), ("issuerdn", "issuer")):
            dn = tls.get(key)
            if isinstance(dn, str):
                put(event, f"tls.server.{path}", dn)
                for part in dn.split(", "):
                    label, _, value = part.partition("=")
                    target = _DN_KEYS.get(label.strip())
                    if target:
                        put(event, f"tls.server.x509.{path}.{target}", value)
        if isinstance(tls.get("session_resumed"), bool):
            put(event, "tls.resumed", tls["session_resumed"])
        fingerprint = tls.get("fingerprint")
        if isinstance(fingerprint, str):
            sha1 = fingerprint.upper().replace(":", "")
            put(event, "tls.server.hash.sha1", sha1)
            add_related(event, "hash", sha1)
        serial = tls.get("serial")
        if isinstance(serial, str):
            put(event, "tls.server.x509.serial_number", serial.replace(":", ""))
        for key, path in (("notbefore", "not_before"), ("notafter", "not_after")):
            stamp = _time(tls.get(key))
            if stamp is not None:
                put(event, f"tls.server.{path}", iso(stamp))
                put(event, f"tls.server.x509.{path}", iso(stamp))
        put(event, "tls.server.ja3s", get(tls, "ja3s.hash"))
        put(event, "tls.client.ja3", get(tls, "ja3.hash"))
        put(event, "tls.server.certificate", tls.get("certificate"))
        put(event, "tls.server.certificate_chain", tls.get("chain"))

    def _http(self, event: Event, http: dict[str, Any]) -> None:
        put(event, "http.request.method", http.get("http_method"))
        status = http.get("status")
        if isinstance(status, int):
            put(event, "http.response.status_code", status)
        hostname = http.get("hostname")
        if isinstance(hostname, str) and hostname:
            put(event, "destination.domain", hostname)
            if get(event, "network.protocol") == "http":
                put(event, "url.domain", hostname)
        url = http.get("url")
        if isinstance(url, str):
            put(event, "url.original", url)
            if "://" in url[:12]:
                # A proxy request line carries the absolute URL.
                try:
                    parts = urlsplit(url)
                    put(event, "url.scheme", parts.scheme)
                    put(event, "url.port", parts.port)
                    url = parts.path + (f"?{parts.query}" if parts.query else "")
                except ValueError:
                    pass
            path, _, fragment = url.partition("#")
            path, _, query = path.partition("?")
            put(event, "url.path", path)
            put(event, "url.query", query or None)
            put(event, "url.fragment", fragment or None)
            last = path.rsplit("/", 1)[-1]
            if "." in last:
                put(event, "url.extension", last.rsplit(".", 1)[1] or None)
        put(event, "http.request.referrer", http.get("http_refer"))
        put(event, "http.response.body.bytes", http.get("length"))
        agent = http.get("http_user_agent")
        if isinstance(agent, str) and agent:
            set_user_agent(event, agent)

    def _alert(self, event: Event, alert: dict[str, Any]) -> None:
        category = alert.get("category")
        if category is not None:
            event["message"] = str(category)
            put(event, "rule.category", str(category))
        if alert.get("signature_id") is not None:
            put(event, "rule.id", str(alert["signature_id"]))
        put(event, "rule.name", alert.get("signature"))
        action = alert.get("action")
        if isinstance(action, str):
            types = get(event, "event.type") or []
            types.append("denied" if action == "blocked" else action)
            put(event, "event.type", types)
        put(event, "event.severity", alert.get("severity"))

    def _flow(self, event: Event, flow: dict[str, Any]) -> None:
        for key, path in (("pkts_toclient", "destination.packets"),
                          ("pkts_toserver", "source.packets"),
                          ("bytes_toclient", "destination.bytes"),
                          ("bytes_toserver", "source.bytes")):
            if isinstance(flow.get(key), int):
                put(event, path, flow[key])
        sb, db = get(event, "source.bytes") or 0, get(event, "destination.bytes") or 0
        sp, dp = get(event, "source.packets") or 0, get(event, "destination.packets") or 0
        if sb + db > 0:
            put(event, "network.bytes", sb + db)
        if sp + dp > 0:
            put(event, "network.packets", sp + dp)
        start, end = _time(flow.get("start")), _time(flow.get("end"))
        # Elastic's date processor keeps milliseconds; the duration uses full precision.
        if start is not None:
            put(event, "event.start", iso(start.replace(microsecond=start.microsecond // 1000 * 1000)))
        if end is not None:
            put(event, "event.end", iso(end.replace(microsecond=end.microsecond // 1000 * 1000)))
        if start is not None and end is not None and start <= end:
            delta = end - start
            put(event, "event.duration",
                (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000)

    def _direction(self, event: Event) -> None:
        src, dst = _private(get(event, "source.ip")), _private(get(event, "destination.ip"))
        if src is None or dst is None:
            return
        direction = {(True, True): "internal", (True, False): "outbound",
                     (False, True): "inbound", (False, False): "external"}[(src, dst)]
        put(event, "network.direction", direction)


def _private(ip: Any) -> bool | None:
    return _private_text(ip) if isinstance(ip, str) else None


@lru_cache(maxsize=8192)  # hosts recur across flows; ipaddress parsing is the slow part
def _private_text(ip: str) -> bool | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return any(addr.version == net.version and addr in net for net in _PRIVATE)


def _registered_domain(name: str) -> str | None:
    """The registrable domain, by the common public-suffix shapes (``a.example.com`` ->
    ``example.com``, ``a.example.co.uk`` -> ``example.co.uk``)."""
    labels = [label for label in name.rstrip(".").lower().split(".") if label]
    if len(labels) < 2:
        return None
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SLD:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _time(value: Any) -> datetime | None:
    """Suricata stamps: ``2018-10-03T14:42:44.836744+0000`` (or without an offset: UTC)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdecimal():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
