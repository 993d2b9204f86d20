# Shared by run-load.sh, run-redis-load.sh and run-callgrind.sh (sourced, not run): the
# servers' lifetime and CPU pins, the credentials the servers and wrk use, and the wrk script
# of the POST case. They need `$bin` (the release binaries) and `$work` (a temporary
# directory: `bench_processes` makes one, run-callgrind.sh its own).

# Sets `work` (a temporary directory), `pids` (the servers a script starts: append to it) and
# the CPU pins `server_pin` (the server under test) and `side_pin` (wrk, redis-server) when
# taskset and two CPUs are there; on exit every started server is stopped and `work` removed.
bench_processes() {
  work=$(mktemp -d)
  pids=()
  trap bench_stop_processes EXIT
  trap 'exit 130' INT TERM
  server_pin=()
  side_pin=()
  if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    server_pin=(taskset -c 0)
    side_pin=(taskset -c 1)
  fi
}

bench_stop_processes() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}

# Exports a random HS256 secret, the issuer, the audience and a fresh ES256 key pair's public
# key for the servers; sets `hs256_token` and `es256_token` (valid one hour) for wrk.
bench_credentials() {
  SECURE_API_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)
  SECURE_API_ISSUER=secure-api-bench
  SECURE_API_AUDIENCE=items-api
  SECURE_API_ES256_PUBLIC_KEY="$work/es256-public.pem"
  export SECURE_API_JWT_SECRET SECURE_API_ISSUER SECURE_API_AUDIENCE SECURE_API_ES256_PUBLIC_KEY
  "$bin/mint" keygen-es256 "$work/es256-private.pem" "$SECURE_API_ES256_PUBLIC_KEY" >/dev/null
  hs256_token=$("$bin/mint" hs256 --ttl 3600)
  es256_token=$("$bin/mint" es256 "$work/es256-private.pem" --ttl 3600)
}

# Writes `$work/post.lua`: wrk sends the quickstart's item as a JSON POST.
bench_post_script() {
  cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"widget","price":9.5}'
wrk.headers["Content-Type"] = "application/json"
LUA
}

# bench_wait_listening NAME PID OUTPUT TRIES: waits until the server NAME (process PID, its
# output in the file OUTPUT) says it is listening; after TRIES tenths of a second, or if it
# exits, prints its output and exits the script.
bench_wait_listening() {
  local name="$1" pid="$2" output="$3" limit="$4" tries=0
  until grep -q "listening on http://" "$output" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt "$limit" ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "$(basename "$0"): $name did not start:" >&2
      cat "$output" >&2
      exit 1
    fi
    sleep 0.1
  done
}
