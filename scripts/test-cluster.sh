#!/usr/bin/env bash
# Runs compose.yaml (an api node, two worker nodes, Redis, PostgreSQL) with podman-compose
# and proves what docs/deploy.md says of that cluster:
#   1. a capture through the api node is made by a worker (its pixels checked);
#   2. an async job tells its webhook, signed (Standard Webhooks signature verified);
#   3. a worker SIGKILLed mid-job: the other worker runs the job again, once, to the end;
#   4. Redis SIGKILLed: captures and jobs answer 503 JOBS_UNAVAILABLE (Retry-After: 1),
#      /readyz names Redis, /healthz stays ok; Redis started again: a job queued before
#      the kill is still there (AOF), and captures and jobs work again.
# The page and the webhook receiver live in a container of the same project
# (scripts/cluster-fixture.cjs), so the workers reach them on the project's own network.
# Reuses the PageShot image scripts/test-image.sh built (PAGESHOT_IMAGE, default
# localhost/pageshot:test) and builds Redis and PostgreSQL from Debian's packages on the
# registry-free base (scripts/build-service-images.sh; kept between runs). Run as root
# after scripts/test-image.sh (.ci/run does); installs podman-compose with apt when missing.
# Every container, volume and network it makes is removed at the end, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir="$PWD"
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - $1 )); }

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test-cluster.sh runs podman as root: run it with sudo." >&2
  exit 1
fi
missing=()
for tool in podman podman-compose mmdebstrap runc; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing podman, podman-compose, mmdebstrap, runc…" >&2
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose buildah mmdebstrap runc >/dev/null
fi
source scripts/node-env.sh
export CONTAINERS_CONF="$root_dir/config/containers.conf"

export PAGESHOT_IMAGE="${PAGESHOT_IMAGE:-localhost/pageshot:test}"
export PAGESHOT_REDIS_IMAGE="${PAGESHOT_REDIS_IMAGE:-localhost/pageshot-redis:bookworm}"
export PAGESHOT_POSTGRES_IMAGE="${PAGESHOT_POSTGRES_IMAGE:-localhost/pageshot-postgres:bookworm}"
if ! podman image exists "$PAGESHOT_IMAGE"; then
  echo "FAIL: no image $PAGESHOT_IMAGE: run scripts/test-image.sh first (it builds it), or set PAGESHOT_IMAGE." >&2
  exit 1
fi

project="pageshot-cluster-$$"
api_port=$((20000 + RANDOM % 20000))
fixture_port=$((40000 + RANDOM % 20000))
while [ "$fixture_port" = "$api_port" ]; do fixture_port=$((40000 + RANDOM % 20000)); done
workdir="$(mktemp -d)"
export API_KEY="pageshot-cluster-test-key-$RANDOM$RANDOM$RANDOM"
export PAGESHOT_PORT="127.0.0.1:$api_port"
export PAGESHOT_TEST_FIXTURE_PORT="$fixture_port"
export PAGESHOT_TEST_SUBNET=""
label="label=io.podman.compose.project=$project"

cleanup() {
  local ids
  ids=$(podman ps -aq --filter "$label" 2>/dev/null || true)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    podman unpause $ids >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    podman rm -f -v -t 0 $ids >/dev/null 2>&1 || true
  fi
  podman volume ls -q --filter "$label" 2>/dev/null | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network ls -q --filter "$label" 2>/dev/null | xargs -r podman network rm -f >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # (so that the EXIT trap cleans up after a CI timeout too)
fail() {
  echo "FAIL: $*" >&2
  for name in $(podman ps -a --filter "$label" --format '{{.Names}}' 2>/dev/null); do
    echo "--- $name ($(podman inspect --format '{{.State.Status}}' "$name" 2>/dev/null))" >&2
    podman logs --tail 15 "$name" 2>&1 | cut -c1-400 >&2 || true
  done
  exit 1
}
pass() { echo "ok: $* [$(elapsed "$step_started") s]"; }
step_started=$(date +%s)

compose() {
  podman-compose -p "$project" -f compose.yaml -f config/containers/compose.cluster-test.yaml "$@" >>"$workdir/compose.log" 2>&1
}
container() { echo "${project}_$1"; }   # service_N → container name
# Polls `$@` (a command) every half second until it succeeds, for at most $deadline seconds.
until_ok() {
  local deadline=$1; shift
  local end=$(( $(date +%s) + deadline ))
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.5
  done
}
# The JSON on standard input, evaluated as the JavaScript expression $1 over `j`.
jget() { node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const j=JSON.parse(s);const v=eval(process.argv[1]);console.log(typeof v==="object"?JSON.stringify(v):String(v))})' "$1"; }

base_url="http://127.0.0.1:$api_port"
fixture_url="http://127.0.0.1:$fixture_port"
# request METHOD PATH [JSON] → the HTTP status; the body in $workdir/body, headers in $workdir/headers.
request() {
  local args=(-sS --max-time 60 -o "$workdir/body" -D "$workdir/headers" -w '%{http_code}' -X "$1" "$base_url$2" -H "authorization: Bearer $API_KEY")
  [ -z "${3:-}" ] || args+=(-H 'content-type: application/json' -d "$3")
  curl "${args[@]}" || echo 000
}
body() { cat "$workdir/body"; }
header() { tr -d '\r' <"$workdir/headers" | awk -v name="$1" 'tolower($1) == tolower(name) ":" { print $2 }' | tail -1; }
# The pixel at (5, 290), below the heading: the page's teal, as Chromium painted it.
pixel() {
  node -e '
    const { PNG } = require("pngjs");
    const png = PNG.sync.read(require("node:fs").readFileSync(process.argv[1]));
    const i = (290 * png.width + 5) * 4;
    console.log(png.width + "x" + png.height, png.data.slice(i, i + 3).join(","));
  ' "$1"
}
capture() { # output-file → HTTP status (a synchronous capture through the api node)
  curl -sS --max-time 90 -o "$1" -D "$workdir/headers" -w '%{http_code}' -X POST "$base_url/screenshot" \
    -H "authorization: Bearer $API_KEY" -H 'content-type: application/json' \
    -d '{"url": "http://fixture:8080/", "width": 400, "height": 300}' || echo 000
}
submit() { # JSON body → the job's id (fails the test unless 202)
  local status
  status=$(request POST /v1/jobs "$1")
  [ "$status" = 202 ] || fail "POST /v1/jobs answered $status: $(body)"
  body | jget j.id
}
job_status() { request GET "/v1/jobs/$1" >/dev/null; body | jget 'j.status ?? j.code'; }
job_is() { [ "$(job_status "$1")" = "$2" ]; }
fixture_log() { curl -fsS --max-time 5 "$fixture_url/log"; }
healthy() { podman healthcheck run "$1" >/dev/null 2>&1; }
ip_of() { podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }

# --- images -------------------------------------------------------------------------------
bash scripts/build-service-images.sh "$PAGESHOT_REDIS_IMAGE" "$PAGESHOT_POSTGRES_IMAGE"
pass "Redis and PostgreSQL images ready ($PAGESHOT_REDIS_IMAGE, $PAGESHOT_POSTGRES_IMAGE)"

# --- start --------------------------------------------------------------------------------
# podman-compose 1.0 neither waits for depends_on's service_healthy nor creates networks
# with a subnet we choose: start the stores first, wait for their own health checks, read
# the network's subnet (the guard must let the workers reach the fixture there), then the rest.
step_started=$(date +%s)
export PAGESHOT_TEST_SUBNET=0.0.0.0/32   # a placeholder until the network exists
compose up -d --no-build redis postgres || fail "podman-compose up redis postgres (see $workdir/compose.log)"
until_ok 60 healthy "$(container redis_1)" || fail "Redis' health check (redis-cli ping)"
until_ok 60 healthy "$(container postgres_1)" || fail "PostgreSQL's health check (pg_isready)"
PAGESHOT_TEST_SUBNET=$(podman network inspect "${project}_default" | jget 'j[0].subnets[0].subnet')
pass "Redis and PostgreSQL healthy (redis-cli ping, pg_isready); network $PAGESHOT_TEST_SUBNET"

step_started=$(date +%s)
compose up -d --no-build || true   # (it reports the stores' containers as existing already)
for name in api_1 worker_1 worker_2 fixture_1; do
  [ "$(podman inspect --format '{{.State.Running}}' "$(container $name)" 2>/dev/null)" = true ] || fail "$name is not running (see podman-compose's log)"
done
until_ok 120 healthy "$(container api_1)" || fail "the api node's health check (/readyz)"
until_ok 120 healthy "$(container worker_1)" || fail "worker 1's health check (/readyz)"
until_ok 120 healthy "$(container worker_2)" || fail "worker 2's health check (/readyz)"
until_ok 30 fixture_log >/dev/null || fail "the fixture does not answer"
workers() { curl -fsS "$base_url/status" | jget 'j.cluster?.workers'; }
two_workers() { [ "$(workers)" = 2 ]; }
until_ok 30 two_workers || fail "/status on the api node counts $(workers) workers, not 2"
ready=$(curl -sS "$base_url/readyz")
[[ "$ready" == *'"status":"ready"'* ]] || fail "/readyz on the api node: $ready"
pass "api node ready, 2 workers connected (/status cluster.workers), every health check passes"

# --- 1. a capture through the api node ------------------------------------------------------
step_started=$(date +%s)
status=$(capture "$workdir/shot.png")
[ "$status" = 200 ] || fail "capture answered $status: $(head -c 300 "$workdir/shot.png")"
[ "$(pixel "$workdir/shot.png")" = "400x300 0,160,160" ] || fail "captured pixels: $(pixel "$workdir/shot.png")"
worker_ips=" $(ip_of "$(container worker_1)") $(ip_of "$(container worker_2)") "
from=$(fixture_log | jget 'j.hits.filter((h) => h.path === "/").at(-1)?.from')
[[ "$worker_ips" == *" $from "* ]] || fail "the page was loaded from $from, not from a worker ($worker_ips)"
pass "POST /screenshot on the api node: 200, 400x300, teal; the page was loaded by a worker ($from)"

# --- 2. an async job and its signed webhook ---------------------------------------------------
step_started=$(date +%s)
status=$(request POST /v1/me/webhook-secret)
[ "$status" = 201 ] || fail "POST /v1/me/webhook-secret answered $status: $(body)"
secret=$(body | jget j.secret)
job=$(submit '{"url": "http://fixture:8080/", "width": 400, "height": 300, "webhookUrl": "http://fixture:8080/hook", "metadata": {"test": "cluster"}}')
hook_for() { fixture_log | jget "j.hooks.find((h) => JSON.parse(h.body).data?.id === '$job') ?? ''" >"$workdir/hook.json" && [ -n "$(cat "$workdir/hook.json")" ]; }
until_ok 90 hook_for || fail "no webhook for job $job within 90 s (job: $(job_status "$job"))"
# Standard Webhooks: the library verifies the signature and the timestamp; then the same
# delivery with one byte of its body changed must be refused.
verify='
  const { Webhook } = require("standardwebhooks");
  const hook = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const webhook = new Webhook(process.argv[2].replace(/^whsec_/, ""));
  const payload = webhook.verify(hook.body, hook.headers);
  let tampered = "accepted";
  try { webhook.verify(hook.body.replace("succeeded", "succeedee"), hook.headers); } catch { tampered = "refused"; }
  console.log([payload.type, payload.data.id, payload.data.status, payload.data.metadata.test, tampered].join(" "));
'
verified=$(node -e "$verify" "$workdir/hook.json" "$secret") || fail "the webhook's signature does not verify: $(cat "$workdir/hook.json" | head -c 600)"
[ "$verified" = "job.succeeded $job succeeded cluster refused" ] || fail "the webhook verified as: $verified"
status=$(request GET "/v1/jobs/$job/result")
[ "$status" = 200 ] || fail "GET /v1/jobs/$job/result answered $status"
cp "$workdir/body" "$workdir/job.png"
[ "$(pixel "$workdir/job.png")" = "400x300 0,160,160" ] || fail "the job's pixels: $(pixel "$workdir/job.png")"
delivered() { request GET "/v1/jobs/$job" >/dev/null; [ "$(body | jget 'j.webhook?.status')" = delivered ]; }
until_ok 30 delivered || fail "the job's webhook status: $(body)"
pass "async job $job: succeeded, its result teal, webhook delivered and signed (standardwebhooks verifies it, refuses a changed body)"

# --- 3. a worker killed mid-job --------------------------------------------------------------
step_started=$(date +%s)
token="t$RANDOM$RANDOM"
job=$(submit "{\"url\": \"http://fixture:8080/slow/$token\", \"width\": 400, \"height\": 300}")
first_from() { fixture_log | jget "j.hits.filter((h) => h.path === '/slow/$token')[0]?.from"; }
started_somewhere() { [ "$(first_from)" != undefined ]; }
until_ok 60 started_somewhere || fail "no worker started job $job within 60 s"
victim_ip=$(first_from)
if [ "$(ip_of "$(container worker_1)")" = "$victim_ip" ]; then
  victim=$(container worker_1) survivor=$(container worker_2)
elif [ "$(ip_of "$(container worker_2)")" = "$victim_ip" ]; then
  victim=$(container worker_2) survivor=$(container worker_1)
else
  fail "the slow page was loaded from $victim_ip, no worker's address"
fi
survivor_ip=$(ip_of "$survivor")
[ "$(job_status "$job")" = running ] || fail "job $job is $(job_status "$job") while its page loads"
killed_at=$(date +%s)
killed_ms=$(( $(date +%s%N) / 1000000 ))
podman kill --signal KILL "$victim" >/dev/null
until_ok 90 job_is "$job" succeeded || fail "job $job after its worker was killed: $(body)"
recovered=$(elapsed "$killed_at")
attempts=$(request GET "/v1/jobs/$job" >/dev/null; body | jget j.attempts)
second_from=$(fixture_log | jget "j.hits.filter((h) => h.path === '/slow/$token')[1]?.from")
[ "$second_from" = "$survivor_ip" ] || fail "the job ran again from $second_from, not from the other worker ($survivor_ip)"
[ "$attempts" = 2 ] || fail "job $job counts $attempts attempts, not 2"
slow_hits=$(fixture_log | jget "j.hits.filter((h) => h.path === '/slow/$token').length")
[ "$slow_hits" = 2 ] || fail "the slow page was loaded $slow_hits times, not twice"
retaken_ms=$(( $(fixture_log | jget "j.hits.filter((h) => h.path === '/slow/$token')[1].at") - killed_ms ))
pass "worker ${victim#"${project}_"} SIGKILLed mid-job: the other worker loaded the page again ${retaken_ms} ms after the kill (PAGESHOT_JOB_LOCK_MS=5000) and the job succeeded after ${recovered} s, attempts 2, the page loaded twice in all"
# podman counts its own kill as a stop by the user, so restart: unless-stopped leaves the
# worker down (a crash would restart it): start it by hand, as an operator would.
[ "$(podman inspect --format '{{.State.Running}}' "$victim")" = true ] || podman start "$victim" >/dev/null 2>>"$workdir/podman.err"
until_ok 120 healthy "$victim" || fail "the killed worker did not come back"
until_ok 30 two_workers || fail "/status counts $(workers) workers after the killed one came back"

# --- 4. Redis killed and started again ------------------------------------------------------
step_started=$(date +%s)
# The workers are frozen first, so a job queued now stays queued through the outage; the
# outage is then seen by the api node and, once they are thawed, by the workers too.
podman pause "$(container worker_1)" "$(container worker_2)" >/dev/null 2>>"$workdir/podman.err"
queued=$(submit '{"url": "http://fixture:8080/", "width": 400, "height": 300}')
[ "$(job_status "$queued")" = queued ] || fail "job $queued is $(job_status "$queued") with every worker frozen"
# (podman complains on standard error that there is no systemd to run the health-check
# timers: noise here, kept in $workdir/podman.err; the script runs the checks itself.)
# SIGKILL, as a crash or the OOM killer would: no shutdown save, so only the append-only
# file can bring the queued job back. (podman counts its own kill as a stop by the user:
# restart: unless-stopped leaves Redis down until it is started below.)
podman kill --signal KILL "$(container redis_1)" >/dev/null 2>>"$workdir/podman.err"
podman unpause "$(container worker_1)" "$(container worker_2)" >/dev/null 2>>"$workdir/podman.err"
down_at=$(date +%s)
outage_started=$(date +%s%N)
status=$(capture "$workdir/down.png")
answer_ms=$(( ($(date +%s%N) - outage_started) / 1000000 ))
code=$(jget j.code <"$workdir/down.png" 2>/dev/null || echo "?")
[ "$status $code" = "503 JOBS_UNAVAILABLE" ] || fail "a capture with Redis down answered $status $code: $(head -c 300 "$workdir/down.png")"
[ "$(header retry-after)" = 1 ] || fail "Retry-After on JOBS_UNAVAILABLE: '$(header retry-after)'"
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t=$(date +%s%N); status=$(request POST /v1/jobs '{"url": "http://fixture:8080/"}'); jobs_ms=$(ms_since "$t")
[ "$status $(body | jget j.code)" = "503 JOBS_UNAVAILABLE" ] || fail "POST /v1/jobs with Redis down answered $status $(body)"
t=$(date +%s%N); status=$(request GET "/v1/jobs/$queued"); read_ms=$(ms_since "$t")
[ "$status $(body | jget j.code)" = "503 JOBS_UNAVAILABLE" ] || fail "GET /v1/jobs/:id with Redis down answered $status $(body)"
t=$(date +%s%N); status=$(capture "$workdir/down2.png"); again_ms=$(ms_since "$t")
[ "$status $(jget j.code <"$workdir/down2.png" 2>/dev/null || echo "?")" = "503 JOBS_UNAVAILABLE" ] || fail "a second capture with Redis down answered $status"
echo "   answer times with Redis down: capture ${answer_ms} ms, POST /v1/jobs ${jobs_ms} ms, GET /v1/jobs/:id ${read_ms} ms, capture again ${again_ms} ms"
ready_status=$(curl -sS -o "$workdir/ready" -w '%{http_code}' "$base_url/readyz")
[ "$ready_status" = 503 ] && grep -qi redis "$workdir/ready" || fail "/readyz with Redis down answered $ready_status $(cat "$workdir/ready")"
[ "$(curl -fsS "$base_url/healthz")" = '{"status":"ok"}' ] || fail "/healthz with Redis down"
pass "Redis SIGKILLed: POST /screenshot, POST /v1/jobs, GET /v1/jobs/:id answer 503 JOBS_UNAVAILABLE (Retry-After: 1; first answer in ${answer_ms} ms), /readyz 503 naming Redis, /healthz ok"

step_started=$(date +%s)
podman start "$(container redis_1)" >/dev/null 2>>"$workdir/podman.err"
until_ok 60 healthy "$(container redis_1)" || fail "Redis' health check after its restart"
answers() { [ "$(request GET "/v1/jobs/$queued")" != 503 ]; }
until_ok 60 answers || fail "GET /v1/jobs/:id still answers 503 a minute after Redis came back: $(body)"
kept=$(body | jget 'j.status ?? j.code')
[[ " queued running succeeded " == *" $kept "* ]] || fail "job $queued, queued before Redis was killed, is now: $(body)"
# The log is read whole first: under pipefail, `grep -q` closing the pipe at its first match
# would fail the pipeline with podman's SIGPIPE.
redis_log=$(podman logs "$(container redis_1)" 2>&1)
grep -q 'DB loaded from append only file' <<<"$redis_log" || fail "Redis did not load its append-only file: $(podman logs --tail 5 "$(container redis_1)" 2>&1)"
until_ok 60 job_is "$queued" succeeded || fail "job $queued queued before the outage: $(body)"
back=$(elapsed "$down_at")
status=$(capture "$workdir/after.png")
[ "$status" = 200 ] && [ "$(pixel "$workdir/after.png")" = "400x300 0,160,160" ] || fail "a capture after Redis came back answered $status"
job=$(submit '{"url": "http://fixture:8080/", "width": 400, "height": 300}')
until_ok 60 job_is "$job" succeeded || fail "a job after Redis came back: $(body)"
ready=$(curl -sS "$base_url/readyz")
[[ "$ready" == *'"status":"ready"'* ]] || fail "/readyz after Redis came back: $ready"
pass "Redis started again (AOF loaded): the job queued before the kill was kept (read back as $kept), then succeeded, new captures and jobs work, /readyz ready"

echo "cluster test passed in $(elapsed "$started") s"
