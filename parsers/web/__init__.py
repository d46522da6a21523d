"""Parsers for web sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {
    "apache.access": "parsers.web.apache:ApacheAccessParser",
    "apache.error": "parsers.web.apache:ApacheErrorParser",
    "nginx.access": "parsers.web.nginx:NginxAccessParser",
    "nginx.error": "parsers.web.nginx:NginxErrorParser",
    "nginx.ingress_controller": "parsers.web.nginx:NginxIngressParser",
    "iis.access": "parsers.web.iis:IisAccessParser",
    "iis.error": "parsers.web.iis:IisErrorParser",
    "haproxy.log": "parsers.web.haproxy:HaproxyParser",
    "modsecurity.auditlog": "parsers.web.modsecurity:ModsecAuditParser",
    "http.raw": "parsers.web.http_raw:HttpRawParser",
}
