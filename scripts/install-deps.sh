#!/usr/bin/env bash
# Installs the real servers the test suite starts on loopback (PostgreSQL,
# MariaDB, Prometheus, unbound, NSD) and the tools the benchmarks compare
# against (GoAccess; vmtouch keeps their input in the page cache). Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }

ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
have mariadbd || have /usr/sbin/mariadbd || need+=(mariadb-server)
have prometheus || need+=(prometheus)
have unbound || have /usr/sbin/unbound || need+=(unbound)
have nsd || have /usr/sbin/nsd || need+=(nsd)
have goaccess || need+=(goaccess)
have vmtouch || need+=(vmtouch)
have dig || need+=(bind9-dnsutils)
have git || need+=(git)
have /usr/bin/time || need+=(time)
# The HTML report's browser test renders the page in headless Chromium.
have chromium || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' own services must not start (or be enabled) on this machine:
# the tests start private instances on loopback.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
