"""Parsers for Windows event logs (catalogue: dataset name to class).

One reader and mapper serves every name: ``winlog`` picks ``event.dataset`` per channel
(``system.security``, ``windows.sysmon_operational``, ``windows.powershell``...); the
other names let ``--parser system.security`` (etc.) work as in Elastic.

Contract for detection rules (Sigma): ``winlog.channel``, ``winlog.provider_name``,
``winlog.event_id`` and ``winlog.record_id`` (text, as Winlogbeat and Elastic store
them), ``winlog.computer_name`` and ``winlog.event_data.<Name>`` with the original
Windows names and every value as text (blanks in names become ``_``; unnamed data
items are ``param1``...). ``parsers.windows.winlog.read_evtx(path)`` yields parsed
events of an ``.evtx`` file in record order.
"""

PARSERS: dict[str, str] = {
    "winlog": "parsers.windows.winlog:WinlogParser",
    "system.security": "parsers.windows.winlog:SystemSecurityParser",
    "windows.sysmon_operational": "parsers.windows.winlog:SysmonParser",
    "windows.powershell": "parsers.windows.winlog:PowershellParser",
    "windows.powershell_operational": "parsers.windows.winlog:PowershellOperationalParser",
    "windows.forwarded": "parsers.windows.winlog:ForwardedParser",
    "windows.windows_defender": "parsers.windows.winlog:DefenderParser",
}
