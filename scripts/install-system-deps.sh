#!/usr/bin/env bash
# Installs the Debian packages the tests need (servers they start themselves), only when
# missing. Add a package here the day a test starts needing it (redis-server for Celery
# workers, chromium for dashboard tests): CI runs on fresh machines.
set -euo pipefail
need=()
command -v openssl >/dev/null || need+=(openssl)
# Response actions: a real broker for Celery workers, the kernel firewalls the responders
# drive (inside network namespaces, as root), and iproute2 for `ip netns`.
command -v redis-server >/dev/null || need+=(redis-server)
command -v nft >/dev/null || need+=(nftables)
command -v ipset >/dev/null || need+=(ipset)
command -v iptables >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
# rsyslog forwarding to soc run (tests/soc_api/test_rsyslog_forwarding.py), TLS via GnuTLS
[ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)
compgen -G "/usr/lib/*/rsyslog/lmnsd_gtls.so" >/dev/null || need+=(rsyslog-gnutls)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "installing Debian packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
