"""Parsers for firewall and network IDS sources (catalogue: dataset name to class).

Each parser is named by the ``event.dataset`` it produces; ``community_id`` holds the
Community ID v1 flow hash the others (and other groups) use.
"""

PARSERS: dict[str, str] = {
    "checkpoint.firewall": "parsers.firewall.checkpoint:CheckpointFirewallParser",
    "fortinet.firewall": "parsers.firewall.fortinet:FortinetFirewallParser",
    "juniper.junos": "parsers.firewall.juniper_junos:JuniperJunosParser",
    "juniper.srx": "parsers.firewall.juniper_srx:JuniperSrxParser",
    "panw.panos": "parsers.firewall.panos:PanosParser",
    "pfsense.log": "parsers.firewall.pfsense:PfsenseLogParser",
    "snort.log": "parsers.firewall.snort:SnortLogParser",
    "sonicwall.firewall": "parsers.firewall.sonicwall:SonicwallFirewallParser",
    "sophos.xg": "parsers.firewall.sophos:SophosXgParser",
    "suricata.eve": "parsers.firewall.suricata:SuricataEveParser",
}
