#!/usr/bin/env bash
# Builds PageShot's container image from the Dockerfile and proves it works, with podman
# as root (no Docker daemon needed):
#   - /healthz and /readyz answer, the HEALTHCHECK passes;
#   - a page served from the host is captured (its pixels checked);
#   - no process in the container runs as root;
#   - a killed Chromium leaves no zombie, and the next capture works;
#   - SIGTERM drains a running capture, then the process exits 0 within the drain time.
# Where no registry is reachable (the CI machine), the base image is bootstrapped from the
# Debian mirror (scripts/build-base-image.sh); set BASE_IMAGE=debian:bookworm-slim to
# build from the registry's instead, or IMAGE=<tag> to test an image built already.
# Installs podman, buildah, mmdebstrap and runc with
# apt when missing. Run by .ci/run after the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir="$PWD"

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test-image.sh runs podman as root: run it with sudo." >&2
  exit 1
fi
missing=()
for tool in podman buildah mmdebstrap runc; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]}…" >&2
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah mmdebstrap runc >/dev/null
fi
source scripts/node-env.sh
export CONTAINERS_CONF="$root_dir/config/containers.conf"

image="${IMAGE:-localhost/pageshot:test}"
container=pageshot-image-test-$$
port=$((20000 + RANDOM % 20000))
site_port=$((40000 + RANDOM % 20000))
workdir="$(mktemp -d)"
site_pid=""
cleanup() {
  podman rm -f -v "$container" >/dev/null 2>&1 || true
  [ -z "$site_pid" ] || kill "$site_pid" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; podman logs --tail 20 "$container" >&2 2>/dev/null || true; exit 1; }
pass() { echo "ok: $*"; }
elapsed() { echo $(( $(date +%s) - $1 )); }

# --- build ------------------------------------------------------------------------------
started=$(date +%s)
if [ -z "${IMAGE:-}" ]; then
  base="${BASE_IMAGE:-localhost/pageshot-base:bookworm}"
  [ -n "${BASE_IMAGE:-}" ] || bash scripts/build-base-image.sh "$base"
  build_args=(--network host --format docker --jobs 2 --build-arg "BASE_IMAGE=$base" -t "$image")
  # This machine reaches the npm registry through a TLS-intercepting proxy: hand the build
  # the host's CA bundle (read-only, build time only).
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    build_args+=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg EXTRA_CA_BUNDLE=/run/host-ca.crt)
  fi
  # Debian packages apt already downloaded here are reused through an overlay (what the
  # build adds or deletes there never reaches the host).
  if compgen -G '/var/cache/apt/archives/*.deb' >/dev/null; then
    build_args+=(-v /var/cache/apt/archives:/var/cache/apt/archives:O)
  fi
  podman build "${build_args[@]}" . >"$workdir/build.log" 2>&1 || { tail -40 "$workdir/build.log" >&2; fail "podman build"; }
  pass "image built in $(elapsed "$started") s ($(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%d MB", $1 / 1000000 }'))"
fi

# --- a page on the host to capture --------------------------------------------------------
# A teal page, and one that answers after 3 s (a capture still running when SIGTERM comes).
node -e '
  const http = require("node:http");
  const page = "<!doctype html><style>html,body{margin:0;background:#00a0a0}</style><h1>image test</h1>";
  http.createServer((req, res) => {
    const send = () => { res.setHeader("content-type", "text/html"); res.end(page); };
    if (req.url.startsWith("/slow")) setTimeout(send, 3000); else send();
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$site_port" &
site_pid=$!

# --- run -------------------------------------------------------------------------------------
api_key=pageshot-image-test-key-$RANDOM$RANDOM$RANDOM
podman run -d --name "$container" --network host \
  -e PORT="$port" -e API_KEY="$api_key" -e PAGESHOT_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8 \
  -e PAGESHOT_SHUTDOWN_TIMEOUT_MS=20000 "$image" >/dev/null 2>"$workdir/run.err" || { cat "$workdir/run.err" >&2; fail "podman run"; }
base_url="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
  curl -fsS "$base_url/readyz" >/dev/null 2>&1 && break
  sleep 1
done
[ "$(curl -fsS "$base_url/healthz")" = '{"status":"ok"}' ] || fail "/healthz"
pass "/healthz answers"
grep -q '"status":"ready"' <<<"$(curl -fsS "$base_url/readyz")" || fail "/readyz: $(curl -sS "$base_url/readyz")"
pass "/readyz answers ready"
podman healthcheck run "$container" >/dev/null 2>&1 || fail "the image's HEALTHCHECK"
pass "the image's HEALTHCHECK passes"
sandbox=$(curl -fsS "$base_url/status" | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s).browser.sandbox))')
pass "Chromium's sandbox in the container: $sandbox"

# --- non-root -----------------------------------------------------------------------------
users=$(podman top "$container" user | tail -n +2 | sort -u | tr '\n' ' ')
[ -n "$users" ] && [[ " $users " != *" root "* ]] || fail "processes run as: $users"
pass "every process runs as: $users"

# --- a capture --------------------------------------------------------------------------------
capture() { # output-file [path] → HTTP status
  curl -sS -o "$1" -w '%{http_code}' -X POST "$base_url/screenshot" \
    -H "authorization: Bearer $api_key" -H 'content-type: application/json' \
    -d "{\"url\": \"http://127.0.0.1:$site_port${2:-/}\", \"width\": 400, \"height\": 300}"
}
# The pixel at (5, 290), below the heading: the page's teal, as Chromium painted it.
pixel() {
  node -e '
    const { PNG } = require("pngjs");
    const png = PNG.sync.read(require("node:fs").readFileSync(process.argv[1]));
    const i = (290 * png.width + 5) * 4;
    console.log(png.width + "x" + png.height, png.data.slice(i, i + 3).join(","));
  ' "$1"
}
status=$(capture "$workdir/shot.png")
[ "$status" = 200 ] || fail "capture answered $status: $(head -c 300 "$workdir/shot.png")"
[ "$(pixel "$workdir/shot.png")" = "400x300 0,160,160" ] || fail "captured pixels: $(pixel "$workdir/shot.png")"
pass "a page on the host captured: 400x300, teal where the page is teal"

# --- a killed browser leaves no zombie --------------------------------------------------------
# Chromium's browser process is the one without --type=; SIGKILL it, as the kernel's OOM
# killer would. Its children are re-parented to PID 1 (tini), which must reap them.
podman exec "$container" bash -c '
  for dir in /proc/[0-9]*; do
    cmd=$( { tr "\0" " " < "$dir/cmdline"; } 2>/dev/null) || continue
    case "$cmd" in */chromium/chromium*) [[ "$cmd" == *--type=* ]] || kill -KILL "${dir#/proc/}" ;; esac
  done'
sleep 3
zombies=$(podman exec "$container" bash -c 'for s in /proc/[0-9]*/stat; do read -r _ _ state _ < "$s" 2>/dev/null && [ "$state" = Z ] && echo "$s"; done; true' | wc -l)
[ "$zombies" -eq 0 ] || fail "$zombies zombie processes after the browser was killed"
status=$(capture "$workdir/again.png")
[ "$status" = 200 ] || fail "capture after the browser kill answered $status"
crashes=$(curl -fsS "$base_url/status" | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s).browser.crashes))')
[ "$crashes" -ge 1 ] || fail "/status counts no browser crash"
pass "browser killed: no zombie, relaunched, the next capture works"

# --- SIGTERM drains, then exits 0 -------------------------------------------------------------
capture "$workdir/slow.png" /slow >"$workdir/slow.status" &
capture_pid=$!
sleep 1
stop_started=$(date +%s)
# (podman's complaint that there is no systemd to hold the HEALTHCHECK timer is noise here.)
podman stop --time 30 "$container" >/dev/null 2>>"$workdir/run.err"
stop_seconds=$(elapsed "$stop_started")
wait "$capture_pid" || true
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
[ "$exit_code" = 0 ] || fail "exit code $exit_code after SIGTERM"
[ "$stop_seconds" -lt 20 ] || fail "SIGTERM took ${stop_seconds} s (drain time 20 s)"
[ "$(cat "$workdir/slow.status")" = 200 ] || fail "the capture running at SIGTERM answered $(cat "$workdir/slow.status")"
# Read whole first: under pipefail, grep -q closing the pipe early fails the pipeline (SIGPIPE).
grep -q '"msg":"stopped"' <<<"$(podman logs "$container" 2>&1)" || fail "no 'stopped' log line"
pass "SIGTERM: the running capture finished (200), exit 0 after ${stop_seconds} s"
echo "image test passed in $(elapsed "$started") s"
