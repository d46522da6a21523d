"""The Security channel to ECS, after Elastic's ``system.security`` ingest pipeline.

Event ids give ``event.category``/``type``/``action`` (the names Elastic uses); the
``EventData`` fields give ``user.*`` (the subject), ``user.target.*``/``group.*`` (what
an account-management event acts on), ``user.effective.*``, ``process.*``,
``source.*`` and ``winlog.logon.*``. The raw ``winlog.event_data`` is left whole,
because detection rules are written against the original Windows names.
"""

from __future__ import annotations

from typing import Any, Final

from parsers.windows.fields import (
    add_categories,
    clean,
    put,
    put_command_line,
    put_process,
    related,
    to_int,
)
from soc_core.event import Event, set_field

_IAM_USER_CHANGE = (["iam"], ["user", "change"])
_IAM_USER_DELETE = (["iam"], ["user", "deletion"])
_IAM_GROUP_CHANGE = (["iam"], ["group", "change"])
_IAM_GROUP_CREATE = (["iam"], ["group", "creation"])
_IAM_GROUP_DELETE = (["iam"], ["group", "deletion"])
_AUTH_START = (["authentication"], ["start"])
_TASK = ["iam", "configuration"]

# event.code -> (category, type, action), as in Elastic's system.security pipeline; the
# object-access, share and filtering-platform ids (4656-4663, 4946-4948, 5140-5157) and
# 4608/4609, which that pipeline leaves uncategorised, follow the same naming style.
ACTIONS: Final[dict[str, tuple[list[str], list[str], str]]] = {
    "1100": (["process"], ["end"], "logging-service-shutdown"),
    "1102": (["iam"], ["admin", "change"], "audit-log-cleared"),
    "1104": (["iam"], ["admin"], "logging-full"),
    "1105": (["iam"], ["admin"], "auditlog-archieved"),
    "1108": (["iam"], ["admin"], "logging-processing-error"),
    "4608": (["process"], ["start"], "windows-started-up"),
    "4609": (["process"], ["end"], "windows-shutdown-initiated"),
    "4610": (["configuration"], ["access"], "authentication-package-loaded"),
    "4611": (["configuration"], ["change"], "trusted-logon-process-registered"),
    "4614": (["configuration"], ["access"], "notification-package-loaded"),
    "4616": (["configuration"], ["change"], "system-time-changed"),
    "4622": (["configuration"], ["access"], "security-package-loaded"),
    "4624": (*_AUTH_START, "logged-in"),
    "4625": (*_AUTH_START, "logon-failed"),
    "4634": (["authentication"], ["end"], "logged-out"),
    "4647": (["authentication"], ["end"], "logged-out"),
    "4648": (*_AUTH_START, "logged-in-explicit"),
    "4656": (["file"], ["access"], "object-handle-requested"),
    "4657": (["registry", "configuration"], ["change"], "registry-value-modified"),
    "4658": (["file"], ["access"], "object-handle-closed"),
    "4660": (["file"], ["deletion"], "object-deleted"),
    "4662": (["iam"], ["access"], "object-operation-performed"),
    "4663": (["file"], ["access"], "object-access-attempted"),
    "4670": (["iam", "configuration"], ["change", "admin"], "permissions-changed"),
    "4672": (["iam"], ["admin"], "logged-in-special"),
    "4673": (["iam"], ["admin"], "privileged-service-called"),
    "4674": (["iam"], ["admin"], "privileged-operation"),
    "4688": (["process"], ["start"], "created-process"),
    "4689": (["process"], ["end"], "exited-process"),
    "4697": (["iam", "configuration"], ["admin", "change"], "service-installed"),
    "4698": (_TASK, ["creation", "admin"], "scheduled-task-created"),
    "4699": (_TASK, ["deletion", "admin"], "scheduled-task-deleted"),
    "4700": (_TASK, ["change", "admin"], "scheduled-task-enabled"),
    "4701": (_TASK, ["change", "admin"], "scheduled-task-disabled"),
    "4702": (_TASK, ["change", "admin"], "scheduled-task-updated"),
    "4706": (["configuration"], ["creation"], "domain-trust-added"),
    "4707": (["configuration"], ["deletion"], "domain-trust-removed"),
    "4713": (["configuration"], ["change"], "kerberos-policy-changed"),
    "4714": (["configuration"], ["change"], "encrypted-data-recovery-policy-changed"),
    "4715": (["configuration"], ["change"], "object-audit-policy-changed"),
    "4716": (["configuration"], ["change"], "trusted-domain-information-changed"),
    "4717": (["iam", "configuration"], ["admin", "change"], "system-security-access-granted"),
    "4718": (["iam", "configuration"], ["admin", "deletion"], "system-security-access-removed"),
    "4719": (["iam", "configuration"], ["admin", "change"], "changed-audit-config"),
    "4720": (["iam"], ["user", "creation"], "added-user-account"),
    "4722": (*_IAM_USER_CHANGE, "enabled-user-account"),
    "4723": (*_IAM_USER_CHANGE, "changed-password"),
    "4724": (*_IAM_USER_CHANGE, "reset-password"),
    "4725": (*_IAM_USER_DELETE, "disabled-user-account"),
    "4726": (*_IAM_USER_DELETE, "deleted-user-account"),
    "4727": (*_IAM_GROUP_CREATE, "added-group-account"),
    "4728": (*_IAM_GROUP_CHANGE, "added-member-to-group"),
    "4729": (*_IAM_GROUP_CHANGE, "removed-member-from-group"),
    "4730": (*_IAM_GROUP_DELETE, "deleted-group-account"),
    "4731": (*_IAM_GROUP_CREATE, "added-group-account"),
    "4732": (*_IAM_GROUP_CHANGE, "added-member-to-group"),
    "4733": (*_IAM_GROUP_CHANGE, "removed-member-from-group"),
    "4734": (*_IAM_GROUP_DELETE, "deleted-group-account"),
    "4735": (*_IAM_GROUP_CHANGE, "modified-group-account"),
    "4737": (*_IAM_GROUP_CHANGE, "modified-group-account"),
    "4738": (*_IAM_USER_CHANGE, "modified-user-account"),
    "4739": (["configuration"], ["change"], "domain-policy-changed"),
    "4740": (*_IAM_USER_CHANGE, "locked-out-user-account"),
    "4741": (["iam"], ["creation", "admin"], "added-computer-account"),
    "4742": (["iam"], ["change", "admin"], "changed-computer-account"),
    "4743": (["iam"], ["deletion", "admin"], "deleted-computer-account"),
    "4744": (*_IAM_GROUP_CREATE, "added-distribution-group-account"),
    "4745": (*_IAM_GROUP_CHANGE, "changed-distribution-group-account"),
    "4746": (*_IAM_GROUP_CHANGE, "added-member-to-distribution-group"),
    "4747": (*_IAM_GROUP_CHANGE, "removed-member-from-distribution-group"),
    "4748": (*_IAM_GROUP_DELETE, "deleted-distribution-group-account"),
    "4749": (*_IAM_GROUP_CREATE, "added-distribution-group-account"),
    "4750": (*_IAM_GROUP_CHANGE, "changed-distribution-group-account"),
    "4751": (*_IAM_GROUP_CHANGE, "added-member-to-distribution-group"),
    "4752": (*_IAM_GROUP_CHANGE, "removed-member-from-distribution-group"),
    "4753": (*_IAM_GROUP_DELETE, "deleted-distribution-group-account"),
    "4754": (*_IAM_GROUP_CREATE, "added-group-account"),
    "4755": (*_IAM_GROUP_CHANGE, "modified-group-account"),
    "4756": (*_IAM_GROUP_CHANGE, "added-member-to-group"),
    "4757": (*_IAM_GROUP_CHANGE, "removed-member-from-group"),
    "4758": (*_IAM_GROUP_DELETE, "deleted-group-account"),
    "4759": (*_IAM_GROUP_CREATE, "added-distribution-group-account"),
    "4760": (*_IAM_GROUP_CHANGE, "changed-distribution-group-account"),
    "4761": (*_IAM_GROUP_CHANGE, "added-member-to-distribution-group"),
    "4762": (*_IAM_GROUP_CHANGE, "removed-member-from-distribution-group"),
    "4763": (*_IAM_GROUP_DELETE, "deleted-distribution-group-account"),
    "4764": (*_IAM_GROUP_CHANGE, "type-changed-group-account"),
    "4767": (*_IAM_USER_CHANGE, "unlocked-user-account"),
    "4768": (*_AUTH_START, "kerberos-authentication-ticket-requested"),
    "4769": (*_AUTH_START, "kerberos-service-ticket-requested"),
    "4770": (*_AUTH_START, "kerberos-service-ticket-renewed"),
    "4771": (*_AUTH_START, "kerberos-preauth-failed"),
    "4776": (*_AUTH_START, "credential-validated"),
    "4778": (["authentication", "session"], ["start"], "session-reconnected"),
    "4779": (["authentication", "session"], ["end"], "session-disconnected"),
    "4781": (*_IAM_USER_CHANGE, "renamed-user-account"),
    "4798": (["iam"], ["user", "info"], "group-membership-enumerated"),
    "4799": (["iam"], ["group", "info"], "user-member-enumerated"),
    "4817": (["iam", "configuration"], ["admin", "change"], "object-audit-changed"),
    "4902": (["iam", "configuration"], ["admin", "creation"], "user-audit-policy-created"),
    "4904": (["iam", "configuration"], ["admin", "change"], "security-event-source-added"),
    "4905": (["iam", "configuration"], ["admin", "deletion"], "security-event-source-removed"),
    "4906": (["iam", "configuration"], ["admin", "change"], "crash-on-audit-changed"),
    "4907": (["iam", "configuration"], ["admin", "change"], "audit-setting-changed"),
    "4908": (["iam", "configuration"], ["admin", "change"], "special-group-table-changed"),
    "4912": (["iam", "configuration"], ["admin", "change"], "per-user-audit-policy-changed"),
    "4946": (["configuration"], ["creation"], "windows-firewall-rule-added"),
    "4947": (["configuration"], ["change"], "windows-firewall-rule-modified"),
    "4948": (["configuration"], ["deletion"], "windows-firewall-rule-deleted"),
    "4950": (["configuration"], ["change"], "windows-firewall-setting-changed"),
    "4954": (["configuration"], ["change"], "windows-firewall-group-policy-changed"),
    "4964": (["iam"], ["admin", "group"], "logged-in-special"),
    "5024": (["process"], ["start"], "windows-firewall-service-started"),
    "5025": (["process"], ["end"], "windows-firewall-service-stopped"),
    "5033": (["driver"], ["start"], "windows-firewall-driver-started"),
    "5034": (["driver"], ["end"], "windows-firewall-driver-stopped"),
    "5037": (["driver"], ["end"], "windows-firewall-driver-error"),
    "5140": (["network", "file"], ["info", "access"], "network-share-object-accessed"),
    "5145": (["network", "file"], ["info", "access"], "network-share-object-access-checked"),
    "5156": (["network"], ["connection", "allowed"], "windows-firewall-connection-allowed"),
    "5157": (["network"], ["connection", "denied"], "windows-firewall-connection-blocked"),
}

# winlog.logon.type names (Microsoft's documentation of LogonType).
LOGON_TYPES: Final = {
    "2": "Interactive", "3": "Network", "4": "Batch", "5": "Service",
    "7": "Unlock", "8": "NetworkCleartext", "9": "NewCredentials", "10": "RemoteInteractive",
    "11": "CachedInteractive",
}

# Which events take which users, as the pipeline's "Copy ..." steps list them.
_COPY_TARGET_USER: Final = frozenset({"4624", "4625", "4634", "4647", "4648", "4768", "4769", "4770", "4771",
                                      "4776", "4964"})
_GROUP_EVENTS: Final = frozenset({
    "4727", "4728", "4729", "4730", "4731", "4732", "4733", "4734", "4735", "4737", "4744", "4745", "4746",
    "4747", "4748", "4749", "4750", "4751", "4752", "4753", "4754", "4755", "4756", "4757", "4758", "4759",
    "4760", "4761", "4762", "4763", "4764", "4799"})
_COMPUTER_EVENTS: Final = frozenset({"4741", "4742", "4743"})
_COPY_SUBJECT_USER: Final = frozenset({
    "4657", "4670", "4672", "4673", "4674", "4688", "4689", "4697", "4698", "4699", "4700", "4701", "4702",
    "4706", "4707", "4713", "4716", "4717", "4718", "4719", "4720", "4722", "4723", "4724", "4725", "4726",
    "4738", "4739", "4740", "4767", "4781", "4798", "4817", "4904", "4905", "4907", "4912", "4648",
}) | _GROUP_EVENTS | _COMPUTER_EVENTS
_TARGET_TO_USER_TARGET: Final = frozenset({"4670", "4720", "4722", "4723", "4724", "4725", "4726", "4738", "4740",
                                           "4767", "4798", "4817", "4907"})
_TARGET_TO_EFFECTIVE: Final = frozenset({"4648", "4688"})
_COMMON_AUTH_FIELDS: Final = frozenset({
    "1100", "1102", "1104", "1105", "1108", "4624", "4648", "4625", "4670", "4673", "4674", "4689", "4697",
    "4719", "4720", "4722", "4723", "4724", "4725", "4726", "4738", "4740", "4767", "4768", "4769", "4770",
    "4771", "4798", "4817", "4904", "4905", "4907", "4912"}) | _GROUP_EVENTS | _COMPUTER_EVENTS
_RELATED_SUBJECT: Final = frozenset({"4624", "4648"})
_RELATED_TARGET: Final = frozenset({"4688", "4720", "4722", "4723", "4724", "4725", "4726", "4738", "4740", "4767",
                                    "4798"})
_LOGON_ID_FROM_TARGET: Final = frozenset({"4634", "4647", "4964"})


def _text(value: Any) -> str | None:
    """Text of a present value; unlike ``clean`` keeps "-" (the pipeline copies it)."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _set(event: Event, path: str, value: Any) -> None:
    text = _text(value)
    if text is not None:
        set_field(event, path, text)


def _meaningful(value: Any) -> str | None:
    text = _text(value)
    return None if text in (None, "", "-") else text


def _copy_user(event: Event, prefix: str, source: dict[str, Any], sid_key: str) -> None:
    """``<prefix>.id/name/domain`` from ``Subject*``-style fields (values kept as is)."""
    _set(event, f"{prefix}.id", source.get(sid_key))
    name = _text(source.get("SubjectUserName"))
    if name is not None:
        set_field(event, f"{prefix}.name", name)
        related(event, "user", name)
    _set(event, f"{prefix}.domain", source.get("SubjectDomainName"))


def _copy_target_user(event: Event, data: dict[str, Any]) -> None:
    """Logon-type events: the target account is the user (or user.target if taken)."""
    user = event.setdefault("user", {})
    sid = data.get("TargetUserSid", data.get("TargetSid"))
    if sid is not None:
        if "id" not in user:
            user["id"] = str(sid)
        else:
            user.setdefault("target", {})["id"] = str(sid)
    name = _text(data.get("TargetUserName"))
    if name is not None:
        short = name.split("@", 1)[0]
        if "name" not in user:
            user["name"] = short
        else:
            user.setdefault("target", {})["name"] = short
        related(event, "user", short)
    domain = _text(data.get("TargetDomainName"))
    if domain is not None:
        if "domain" not in user:
            user["domain"] = domain
        else:
            user.setdefault("target", {})["domain"] = domain
    if not user:
        del event["user"]


def _copy_target_to(event: Event, prefix: str, data: dict[str, Any], sid_key: str) -> None:
    """``user.target``/``user.effective`` from ``Target*``, skipping "-" values."""
    sid = _meaningful(data.get(sid_key))
    if sid:
        set_field(event, f"{prefix}.id", sid)
    name = _meaningful(data.get("TargetUserName"))
    if name:
        short = name.split("@", 1)[0]
        set_field(event, f"{prefix}.name", short)
        related(event, "user", short)
    domain = _meaningful(data.get("TargetDomainName"))
    if domain:
        set_field(event, f"{prefix}.domain", domain)


def _copy_group(event: Event, data: dict[str, Any]) -> None:
    """Group management: the member is user.target, the group is group.*."""
    member = _text(data.get("MemberName"))
    if member is not None:
        parts = member.split(",")
        name = parts[0].replace("CN=", "").replace("cn=", "")
        set_field(event, "user.target.name", name)
        related(event, "user", name)
        if len(parts) >= 4:
            set_field(event, "user.target.domain", parts[3].replace("DC=", "").replace("dc=", ""))
    group: dict[str, Any] = {}
    for key in ("TargetUserSid", "TargetSid"):
        if data.get(key) is not None:
            group["id"] = str(data[key])
    if data.get("TargetUserName") is not None:
        group["name"] = str(data["TargetUserName"])
    if data.get("TargetDomainName") is not None:
        group["domain"] = str(data["TargetDomainName"]).replace("DC=", "").replace("dc=", "")
    if group:
        event["group"] = group
    target = (event.get("user") or {}).get("target")
    if isinstance(target, dict):
        target["group"] = dict(group)


def _common_auth_fields(event: Event, data: dict[str, Any]) -> None:
    """Process and network origin of authentication-style events."""
    pid = to_int(data.get("ProcessId"))
    if pid is not None:
        set_field(event, "process.pid", pid)
    executable = _text(data.get("ProcessName"))
    if executable is not None:
        set_field(event, "process.executable", executable)
        set_field(event, "process.name", executable.rsplit("\\", 1)[-1])
    ip = _meaningful(data.get("IpAddress"))
    if ip is not None:
        set_field(event, "source.ip", ip)
    port = _meaningful(data.get("IpPort"))
    if port is not None and to_int(port) is not None:
        set_field(event, "source.port", to_int(port))
    workstation = _text(data.get("WorkstationName"))
    if workstation is not None:
        set_field(event, "source.domain", workstation)
    client = _meaningful(data.get("ClientAddress"))
    if client is not None:
        related(event, "ip", client)


def _session(event: Event, data: dict[str, Any], winlog: dict[str, Any]) -> None:
    """4778/4779 (RDP session reconnect/disconnect)."""
    name = _text(data.get("AccountName"))
    if name is not None:
        set_field(event, "user.name", name)
        related(event, "user", name)
    _set(event, "user.domain", data.get("AccountDomain"))
    client = _text(data.get("ClientAddress"))
    if client is not None and client not in ("-", "Unknown"):
        client = "127.0.0.1" if client == "LOCAL" else client
        set_field(event, "source.ip", client)
        related(event, "ip", client)
    _set(event, "source.domain", data.get("ClientName"))
    if data.get("LogonID") is not None:
        winlog.setdefault("logon", {})["id"] = str(data["LogonID"])


def _process_4688(event: Event, data: dict[str, Any]) -> None:
    put_process(event, "process", data.get("NewProcessName"), data.get("NewProcessId"))
    put_process(event, "process.parent", data.get("ParentProcessName"), data.get("ProcessId"))
    put_command_line(event, "process", data.get("CommandLine"))


def map_security(winlog: dict[str, Any], event: Event) -> None:
    """Fill ECS fields of a Security-channel event from ``winlog``, step by step in the
    order of Elastic's pipeline (later steps overwrite earlier ones, as there)."""
    code = str(winlog.get("event_id", ""))
    data: dict[str, Any] = winlog.get("event_data") or {}
    user_data: dict[str, Any] = winlog.get("user_data") or {}
    entry = ACTIONS.get(code)
    if entry:
        add_categories(event, *entry)
    existing = winlog.get("logon")
    logon: dict[str, Any] = existing if isinstance(existing, dict) else {}
    logon_type = _text(data.get("LogonType"))
    if logon_type in LOGON_TYPES:
        logon["type"] = LOGON_TYPES[logon_type]
    if code in ("4778", "4779"):
        _session(event, data, winlog)
        logon = winlog.setdefault("logon", logon)
    if code in _COPY_TARGET_USER:
        _copy_target_user(event, data)
    if code in _GROUP_EVENTS:
        _copy_group(event, data)
    if code in _COMPUTER_EVENTS:
        computer = {k: str(data[f]) for k, f in (("id", "TargetSid"), ("name", "TargetUserName"),
                                                  ("domain", "TargetDomainName")) if data.get(f) is not None}
        if computer:
            winlog["computerObject"] = computer
    if code in _LOGON_ID_FROM_TARGET and data.get("TargetLogonId") is not None:
        logon["id"] = str(data["TargetLogonId"])
    if code in _COPY_SUBJECT_USER:
        _copy_user(event, "user", data, "SubjectUserSid")
    if code in _TARGET_TO_USER_TARGET:
        _copy_target_to(event, "user.target", data, "TargetSid")
    if code in _TARGET_TO_EFFECTIVE:
        _copy_target_to(event, "user.effective", data, "TargetUserSid")
    if code == "1102":
        _copy_user(event, "user", user_data, "SubjectUserSid")
    if data.get("SubjectLogonId") is not None:
        logon["id"] = str(data["SubjectLogonId"])
    if code == "1102" and user_data.get("SubjectLogonId") is not None:
        logon["id"] = str(user_data["SubjectLogonId"])
    if code in _COMMON_AUTH_FIELDS:
        _common_auth_fields(event, data)
    if code == "4688":
        _process_4688(event, data)
    if code in _RELATED_SUBJECT:
        related(event, "user", _meaningful(data.get("SubjectUserName")))
    if code in _RELATED_TARGET:
        related(event, "user", _meaningful(data.get("TargetUserName")))
    old_name, new_name = _text(data.get("OldTargetUserName")), _text(data.get("NewTargetUserName"))
    if old_name:
        set_field(event, "user.target.name", old_name)
    if new_name:
        set_field(event, "user.changes.name", new_name)
    related(event, "user", _meaningful(new_name), _meaningful(old_name))
    source = event.get("source")
    if isinstance(source, dict) and isinstance(source.get("ip"), str):
        source["ip"] = source["ip"].replace("::ffff:", "")
        related(event, "ip", source["ip"])
    if code == "4625":
        failure = {k: v for k, v in (("status", clean(data.get("Status"))),
                                     ("sub_status", clean(data.get("SubStatus")))) if v}
        if failure:
            logon["failure"] = failure
    if logon:
        winlog["logon"] = logon
    if code in ("4697",) or data.get("ServiceName") is not None:
        put(event, "service.name", data.get("ServiceName"))
    if code in _OBJECT_ACCESS:
        _object_access(event, code, data)


# Object access, file share and filtering-platform events, which Elastic's pipeline
# leaves without ECS fields; mapped here in the same spirit so that hunting on
# user.*, source.*, file.* and process.* also finds them.
_OBJECT_ACCESS: Final = frozenset({"4656", "4657", "4658", "4660", "4663", "5140", "5145", "5156", "5157",
                                   "5158"})
_DIRECTIONS: Final = {"%%14592": "ingress", "%%14593": "egress"}
_PROTOCOLS: Final = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp"}


def _object_access(event: Event, code: str, data: dict[str, Any]) -> None:
    if _meaningful(data.get("SubjectUserName")):
        _copy_user(event, "user", data, "SubjectUserSid")
    if code in ("5140", "5145"):
        ip = _meaningful(data.get("IpAddress"))
        if ip:
            set_field(event, "source.ip", ip.replace("::ffff:", ""))
            related(event, "ip", event["source"]["ip"])
        port = to_int(_meaningful(data.get("IpPort")))
        if port is not None:
            set_field(event, "source.port", port)
        share = clean(data.get("ShareLocalPath")) or clean(data.get("ShareName"))
        target = clean(data.get("RelativeTargetName"))
        path = share.rstrip("\\") + "\\" + target if share and target else share
        if path:
            set_field(event, "file.path", path)
            set_field(event, "file.name", path.rstrip("\\").rsplit("\\", 1)[-1])
    elif code in ("5156", "5157", "5158"):
        direction = _DIRECTIONS.get(str(data.get("Direction", "")))
        if direction:
            set_field(event, "network.direction", direction)
        local, remote = ("Dest", "Source") if direction == "ingress" else ("Source", "Dest")
        for side, prefix in (("source", local), ("destination", remote)):
            ip = _meaningful(data.get(f"{prefix}Address"))
            if ip:
                set_field(event, f"{side}.ip", ip)
                related(event, "ip", ip)
            port = to_int(_meaningful(data.get(f"{prefix}Port")))
            if port is not None:
                set_field(event, f"{side}.port", port)
        transport = _PROTOCOLS.get(str(data.get("Protocol", "")))
        if transport:
            set_field(event, "network.transport", transport)
        put_process(event, "process", data.get("Application"), data.get("ProcessID"))
    else:
        if code == "4657":
            put(event, "registry.path", data.get("ObjectName"))
            put(event, "registry.value", data.get("ObjectValueName"))
        elif data.get("ObjectType") == "File":
            put(event, "file.path", data.get("ObjectName"))
        put_process(event, "process", data.get("ProcessName"), data.get("ProcessId"))
