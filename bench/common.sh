# Shared by run-load.sh and run-callgrind.sh (sourced, not run): the credentials the servers
# and wrk use, and the wrk script of the POST case. Both need `$bin` (the release binaries)
# and `$work` (a temporary directory the caller removes).

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
