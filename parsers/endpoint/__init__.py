"""Parsers for antivirus and endpoint (EDR) sources (catalogue: dataset name to class).

Named by the ``event.dataset`` they produce, as Elastic names its data streams where one
exists (``eset_protect.event``, ``symantec_endpoint.log``); ``clamav.log`` and
``kaspersky.ksc`` have no Elastic counterpart.
"""

PARSERS: dict[str, str] = {
    "cisco.amp": "parsers.endpoint.cisco_amp:CiscoAmpParser",
    "clamav.log": "parsers.endpoint.clamav:ClamavParser",
    "crowdstrike.falcon": "parsers.endpoint.crowdstrike:CrowdstrikeFalconParser",
    "eset_protect.event": "parsers.endpoint.eset:EsetProtectParser",
    "kaspersky.ksc": "parsers.endpoint.kaspersky:KasperskyKscParser",
    "microsoft.defender_atp": "parsers.endpoint.defender_atp:DefenderAtpParser",
    "microsoft.m365_defender": "parsers.endpoint.m365_defender:M365DefenderParser",
    "symantec_endpoint.log": "parsers.endpoint.symantec:SymantecEndpointParser",
}
