#!/usr/bin/env bash
# Proves that Latchkey's OpenAPI document generates working clients: it
# builds latchkey, starts `latchkey serve` on a free loopback port with a
# throwaway SQLite database, fetches the document the server serves, and
# generates three clients from it with their generators' default settings:
#
#   oapi-codegen (Go)                  oapicodegen/
#   ogen (Go)                          ogen/
#   openapi-typescript + openapi-fetch ts/
#
# Each is compiled (the TypeScript under tsc --strict) and runs one small
# program against the server: create a project, issue a license, validate
# it on the runtime route DevPayr's SDKs call. Any failure fails the script.
# The generators are fetched by version (Go module proxy, npm), so a fresh
# machine with Go and Node.js is enough; generated code goes into ignored
# paths (api/, schema.d.ts, dist/) and is never committed. Run by .ci/run.
set -euo pipefail

OAPI_CODEGEN=github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
OGEN=github.com/ogen-go/ogen/cmd/ogen@v1.25.0

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '== openapi: %s\n' "$*"; }

log "building latchkey"
(cd "$root" && go build -o "$work/latchkey" ./cmd/latchkey)

data="$work/data"
log "creating a user and an API key (latchkey admin)"
"$work/latchkey" admin create-user --data-dir "$data" --email openapi@acme.test \
  --password 'openapi acceptance password' --org Acme >/dev/null
key=$("$work/latchkey" admin create-key --data-dir "$data" --email openapi@acme.test --name openapi-acceptance)
case "$key" in sk_live_*) ;; *) echo "create-key printed no key: $key" >&2; exit 1 ;; esac

log "starting latchkey serve on a free loopback port"
"$work/latchkey" serve --data-dir "$data" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server_pid=$!
addr=
for _ in $(seq 1 100); do
  addr=$(grep -o 'msg=listening addr=127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1 | cut -d= -f3 || true)
  [ -n "$addr" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; echo "latchkey serve exited" >&2; exit 1; }
  sleep 0.2
done
[ -n "$addr" ] || { cat "$work/serve.log" >&2; echo "latchkey serve did not start" >&2; exit 1; }
export LATCHKEY_URL="http://$addr" LATCHKEY_API_KEY="$key"
log "server at $LATCHKEY_URL"

# The document is the one embedded in the binary; when curl is at hand,
# check that the server serves exactly it.
doc="$work/openapi.json"
cp "$root/internal/httpapi/openapi.json" "$doc"
if command -v curl >/dev/null; then
  curl -fsS "$LATCHKEY_URL/api/v1/openapi.json" | cmp -s - "$doc" ||
    { echo "GET /api/v1/openapi.json differs from internal/httpapi/openapi.json" >&2; exit 1; }
fi

failed=()

log "oapi-codegen (default configuration): generate, compile, run"
if (
  cd "$here/oapicodegen"
  rm -rf api && mkdir api
  go run "$OAPI_CODEGEN" -generate types,client -package api -o api/api.gen.go "$doc"
  go vet ./...
  go run .
); then :; else failed+=(oapi-codegen); fi

log "ogen: generate, compile, run"
if (
  cd "$here/ogen"
  rm -rf api
  # ogen notes every header name it canonicalises (X-Request-ID is sent as
  # X-Request-Id, the same header); show the rest when it fails.
  go run "$OGEN" --target api --package api --clean "$doc" 2> "$work/ogen.log" ||
    { grep -v 'Header name is not canonical' "$work/ogen.log" >&2; exit 1; }
  go vet ./...
  go run .
); then :; else failed+=(ogen); fi

log "openapi-typescript + openapi-fetch: generate, type-check (strict), run"
if (
  cd "$here/ts"
  [ -d node_modules/openapi-fetch ] || npm ci --no-audit --no-fund --loglevel=error
  npx --no-install openapi-typescript "$doc" -o schema.d.ts
  npx --no-install tsc --noEmit -p .
  rm -rf dist
  npx --no-install tsc -p .
  node dist/main.js
); then :; else failed+=(openapi-typescript); fi

if [ "${#failed[@]}" -gt 0 ]; then
  echo "openapi acceptance failed: ${failed[*]}" >&2
  echo "--- latchkey serve log" >&2
  tail -n 50 "$work/serve.log" >&2
  exit 1
fi
log "all three generated clients work against a live server"
