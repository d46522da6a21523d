"""Parsers for Linux sources and generic formats (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {
    "system.syslog": "parsers.linux.system:SystemSyslogParser",
    "system.auth": "parsers.linux.system:SystemAuthParser",
    "iptables.log": "parsers.linux.iptables:IptablesParser",
    "auditd.log": "parsers.linux.auditd:AuditdParser",
    "cef.log": "parsers.cef:CefParser",
    "leef.log": "parsers.leef:LeefParser",
    "ecs.document": "parsers.ecs_document:EcsDocumentParser",
}
