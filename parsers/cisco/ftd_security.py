"""FTD security events (message ids 430001-430005): ``Key: value, Key: value`` to ECS.

Before FTD 6.3 these events carried no message id; the id is then guessed from the keys
present (each key belongs to some event kinds), as Filebeat's cisco module does.
"""

from __future__ import annotations

import re
from typing import Any, Final

from soc_core.event import Event

# Filebeat splits on ",(?=[A-za-z1-9\s]+:)"; "A-z" spans "_" too, which keys like DNS_TTL need.
_SPLIT: Final = re.compile(r",(?=[A-z1-9\s]+:)")
_CONN: Final = ("430002", "430003")
_FILE: Final = ("430004", "430005")
_ALL3: Final = ("430001", "430002", "430003")

# Key -> (snake-case name under cisco.<product>.security, event kinds, ECS targets).
KEYS: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    "ACPolicy": ("ac_policy", _ALL3, ("cisco.rule_name",)),
    "AccessControlRuleAction": ("access_control_rule_action", _CONN, ("event.outcome",)),
    "AccessControlRuleName": ("access_control_rule_name", _CONN, ("cisco.rule_name",)),
    "AccessControlRuleReason": ("access_control_rule_reason", _CONN, ()),
    "ApplicationProtocol": ("application_protocol", (), ("network.protocol",)),
    "ArchiveDepth": ("archive_depth", _FILE, ()),
    "ArchiveFileName": ("archive_file_name", _FILE, ("file.name",)),
    "ArchiveFileStatus": ("archive_file_status", _FILE, ()),
    "ArchiveSHA256": ("archive_sha256", _FILE, ("file.hash.sha256",)),
    "Classification": ("classification", ("430001",), ()),
    "Client": ("client", (), ("network.application",)),
    "ClientVersion": ("client_version", _CONN, ()),
    "ConnectionDuration": ("connection_duration", ("430003",), ("_duration",)),
    "DNS_Sinkhole": ("dns_sinkhole", _CONN, ()),
    "DNS_TTL": ("dns_ttl", _CONN, ()),
    "DNSQuery": ("dns_query", _CONN, ("dns.question.name",)),
    "DNSRecordType": ("dns_record_type", _CONN, ("dns.question.type",)),
    "DNSResponseType": ("dns_response_type", _CONN, ("dns.response_code",)),
    "DNSSICategory": ("dnssi_category", _CONN, ()),
    "DstIP": ("dst_ip", (), ("destination.address",)),
    "DstPort": ("dst_port", (), ("destination.port",)),
    "EgressInterface": ("egress_interface", _ALL3, ("cisco.destination_interface",)),
    "EgressZone": ("egress_zone", _ALL3, ("observer.egress.zone",)),
    "Endpoint Profile": ("endpoint_profile", _CONN, ()),
    "FileAction": ("file_action", _FILE, ()),
    "FileCount": ("file_count", _CONN, ()),
    "FileDirection": ("file_direction", _FILE, ()),
    "FileName": ("file_name", _FILE, ("file.name",)),
    "FilePolicy": ("file_policy", _FILE, ("cisco.rule_name",)),
    "FileSHA256": ("file_sha256", _FILE, ("file.hash.sha256",)),
    "FileSandboxStatus": ("file_sandbox_status", _FILE, ()),
    "FileSize": ("file_size", _FILE, ("file.size",)),
    "FileStorageStatus": ("file_storage_status", _FILE, ()),
    "FileType": ("file_type", _FILE, ("file.type",)),
    "FirstPacketSecond": ("first_packet_second", _FILE, ("event.start",)),
    "GID": ("gid", ("430001",), ("service.id",)),
    "HTTPReferer": ("http_referer", _CONN, ("http.request.referrer",)),
    "HTTPResponse": ("http_response", _ALL3, ("http.response.status_code",)),
    "ICMPCode": ("icmp_code", _ALL3, ()),
    "ICMPType": ("icmp_type", _ALL3, ()),
    "IPReputationSICategory": ("ip_reputation_si_category", _CONN, ()),
    "IPSCount": ("ips_count", _CONN, ()),
    "IngressInterface": ("ingress_interface", _ALL3, ("cisco.source_interface",)),
    "IngressZone": ("ingress_zone", _ALL3, ("observer.ingress.zone",)),
    "InitiatorBytes": ("initiator_bytes", ("430003",), ("source.bytes",)),
    "InitiatorPackets": ("initiator_packets", ("430003",), ("source.packets",)),
    "InlineResult": ("inline_result", ("430001",), ("event.outcome",)),
    "IntrusionPolicy": ("intrusion_policy", ("430001",), ("cisco.rule_name",)),
    "MPLS_Label": ("mpls_label", ("430001",), ()),
    "Message": ("message", ("430001",), ("message",)),
    "NAPPolicy": ("nap_policy", _ALL3, ()),
    "NetBIOSDomain": ("net_bios_domain", _CONN, ("host.hostname",)),
    "NumIOC": ("num_ioc", ("430001",), ()),
    "Prefilter Policy": ("prefilter_policy", _CONN, ()),
    "Priority": ("priority", ("430001",), ()),
    "Protocol": ("protocol", (), ("network.transport",)),
    "ReferencedHost": ("referenced_host", _CONN, ("url.domain",)),
    "ResponderBytes": ("responder_bytes", ("430003",), ("destination.bytes",)),
    "ResponderPackets": ("responder_packets", ("430003",), ("destination.packets",)),
    "Revision": ("revision", ("430001",), ()),
    "SHA_Disposition": ("sha_disposition", _FILE, ()),
    "SID": ("sid", ("430001",), ()),
    "SSLActualAction": ("ssl_actual_action", (), ("event.outcome",)),
    "SSLCertificate": ("ssl_certificate", (*_CONN, *_FILE), ()),
    "SSLExpectedAction": ("ssl_expected_action", _CONN, ()),
    "SSLFlowStatus": ("ssl_flow_status", (*_CONN, *_FILE), ()),
    "SSLPolicy": ("ssl_policy", _CONN, ()),
    "SSLRuleName": ("ssl_rule_name", _CONN, ()),
    "SSLServerCertStatus": ("ssl_server_cert_status", _CONN, ()),
    "SSLServerName": ("ssl_server_name", _CONN, ("server.domain",)),
    "SSLSessionID": ("ssl_session_id", _CONN, ()),
    "SSLTicketID": ("ssl_ticket_id", _CONN, ()),
    "SSLURLCategory": ("sslurl_category", _CONN, ()),
    "SSLVersion": ("ssl_version", _CONN, ()),
    "SSSLCipherSuite": ("sssl_cipher_suite", _CONN, ()),
    "SecIntMatchingIP": ("sec_int_matching_ip", _CONN, ()),
    "Security Group": ("security_group", _CONN, ()),
    "SperoDisposition": ("spero_disposition", _FILE, ()),
    "SrcIP": ("src_ip", (), ("source.address",)),
    "SrcPort": ("src_port", (), ("source.port",)),
    "TCPFlags": ("tcp_flags", _CONN, ()),
    "ThreatName": ("threat_name", ("430005",), ("cisco.threat_category",)),
    "ThreatScore": ("threat_score", ("430005",), ("cisco.threat_level",)),
    "Tunnel or Prefilter Rule": ("tunnel_or_prefilter_rule", _CONN, ()),
    "URI": ("uri", _FILE, ("url.original",)),
    "URL": ("url", _CONN, ("url.original",)),
    "URLCategory": ("url_category", _CONN, ()),
    "URLReputation": ("url_reputation", _CONN, ()),
    "URLSICategory": ("urlsi_category", _CONN, ()),
    "User": ("user", (), ("user.id", "user.name")),
    "UserAgent": ("user_agent", _CONN, ("user_agent.original",)),
    "VLAN_ID": ("vlan_id", _ALL3, ()),
    "WebApplication": ("web_application", (), ("network.application",)),
    "originalClientSrcIP": ("original_client_src_ip", _CONN, ("client.address",)),
}
_TIE_ORDER: Final = ("430002", "430001", "430004", "430003", "430005")
_INTEGERS: Final = frozenset({
    "source.port", "destination.port", "source.bytes", "destination.bytes", "source.packets",
    "destination.packets", "file.size", "http.response.status_code",
})
_DNS_TYPES: Final = {
    "a host address": "A", "ip6 address": "AAAA", "text strings": "TXT", "a domain name pointer": "PTR",
    "an authoritative name server": "NS", "the canonical name for an alias": "CNAME",
    "marks the start of a zone of authority": "SOA", "mail exchange": "MX", "server selection": "SRV",
}
_DNS_CODES: Final = {"non-existent domain": "NXDOMAIN", "server failure": "SERVFAIL",
                     "query refused": "REFUSED", "no error": "NOERROR"}


def _append(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path``; a second value for the same path makes a list (as Filebeat does)."""
    parts = path.split(".")
    cur = target
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    existing = cur.get(parts[-1])
    if existing is None:
        cur[parts[-1]] = value
    elif isinstance(existing, list):
        existing.append(value)
    else:
        cur[parts[-1]] = [existing, value]


def apply_security_event(event: Event, cisco: dict[str, Any], body: str, message_id: str) -> str:
    """Fill ECS and ``cisco.security`` from a security event; returns the (guessed) message id."""
    security: dict[str, Any] = {}
    counters: dict[str, int] = {}
    for pair in _SPLIT.split(body):
        key, sep, value = pair.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in KEYS:
            continue
        name, ids, targets = KEYS[key]
        for kind in ids:
            counters[kind] = counters.get(kind, 0) + 1
        if not value:
            continue
        security[name] = value
        for target in targets:
            converted: Any = value
            if target in _INTEGERS:
                if not value.isdecimal():
                    continue
                converted = int(value)
            if target.startswith("cisco."):
                _append(cisco, target[6:], converted)
            elif target == "_duration":
                if value.isdecimal():
                    event["event"]["duration"] = int(value) * 1_000_000_000
            else:
                _append(event, target, converted)
    if security:
        cisco["security"] = security
    if not message_id and counters:
        # The kind whose keys are most present. Ties are broken in the order Filebeat's
        # script meets the kinds (its Java HashMap iterates 430002, 430001, 430004, ...).
        message_id = min(counters, key=lambda kind: (-counters[kind], _TIE_ORDER.index(kind)))
    dns = event.get("dns")
    if isinstance(dns, dict):
        question = dns.get("question", {})
        qtype = question.get("type")
        if isinstance(qtype, str):
            question["type"] = _DNS_TYPES.get(qtype.lower(), qtype)
        code = dns.get("response_code")
        if isinstance(code, str):
            dns["response_code"] = _DNS_CODES.get(code.lower(), code)
        elif "type" in question:
            dns["response_code"] = "NOERROR"
    action = {"430001": "intrusion-detected", "430002": "connection-started", "430003": "connection-finished",
              "430004": "file-detected", "430005": "malware-detected"}.get(message_id)
    if action:
        event["event"]["action"] = action
    return message_id


