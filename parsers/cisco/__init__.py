"""Parsers for Cisco sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {
    "cisco.asa": "parsers.cisco.asa:CiscoAsaParser",
    "cisco.ftd": "parsers.cisco.asa:CiscoFtdParser",
    "cisco.ios": "parsers.cisco.ios:CiscoIosParser",
    "cisco.nexus": "parsers.cisco.ios:CiscoNexusParser",
    "cisco.meraki": "parsers.cisco.meraki:CiscoMerakiParser",
}
