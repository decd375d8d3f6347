#!/usr/bin/env bash
# One command for the figures of docs/performance.md: the raw-SQL reference (run.sh) and
# the HTTP ceiling (scimload --ceiling self) measured in the same run as Townsquare under
# scimload, on a scratch database that is dropped afterwards.
#
#   scripts/pgbench/side-by-side.sh [--backend postgres|sqlite] [--servers 1|2]
#                                   [--ref-seconds S] [--no-ref] [--keep] [-- SCIMLOAD FLAGS]
#
#   e.g. scripts/pgbench/side-by-side.sh -- --users 10000 --groups 100 --members 50 --big 10000
#
# Environment: PGHOST/PGPORT/PGUSER/PGPASSWORD (default 127.0.0.1:5432, postgres), PORT
# (first server port, default 18090), OUT (directory for the logs and the JSON report,
# default $TMPDIR/townsquare-perf-<time>), TOWNSQUARE_BIN and SCIMLOAD_BIN (built from this checkout
# when unset). With --servers 2, two server processes share the database, scimload
# alternates between them. The provisioning rules are checked afterwards (townsquare check).
# The servers run with their rate limits and connection cap off (TOWNSQUARE_RATE_LIMIT=0,
# TOWNSQUARE_AUTH_FAIL_LIMIT=0, TOWNSQUARE_MAX_CONNS=0): the load is one token at full speed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
backend=postgres servers=1 refsecs=20 noref=0 keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--backend) backend=$2; shift 2 ;;
	--servers) servers=$2; shift 2 ;;
	--ref-seconds) refsecs=$2; shift 2 ;;
	--no-ref) noref=1; shift ;;
	--keep) keep=1; shift ;;
	--) shift; break ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "side-by-side.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
loadflags=("$@")

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
port=${PORT:-18090}
out=${OUT:-${TMPDIR:-/tmp}/townsquare-perf-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
work=$(mktemp -d)
db="ts_side_$$"
pids=()  # what this script started (the servers, or /usr/bin/time around them)
spids=() # the server processes themselves: /usr/bin/time ignores SIGINT

stop_servers() {
	for p in "${spids[@]}"; do
		kill -INT "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	pids=() spids=()
}

looppid=
cleanup() {
	stop_servers
	[ -n "$looppid" ] && kill "$looppid" 2>/dev/null
	if [ "$backend" = postgres ] && [ "$keep" = 0 ]; then
		psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

bin=${TOWNSQUARE_BIN:-}
if [ -z "$bin" ]; then
	bin="$work/townsquare"
	(cd "$repo" && go build -o "$bin" ./cmd/townsquare)
fi
load=${SCIMLOAD_BIN:-}
if [ -z "$load" ]; then
	load="$work/scimload"
	(cd "$repo" && go build -o "$load" ./cmd/scimload)
fi

refargs=()
if [ "$backend" = postgres ] && [ "$noref" = 0 ]; then
	echo "== raw-SQL reference (scripts/pgbench/run.sh -T $refsecs)"
	TOWNSQUARE_BIN="$bin" "$here/run.sh" -T "$refsecs" | tee "$out/pgbench.txt"
	refargs=(--ref-create-tps "$(sed -n 's/^REF_CREATE_TPS=//p' "$out/pgbench.txt")"
		--ref-add-tps "$(sed -n 's/^REF_ADD_TPS=//p' "$out/pgbench.txt")")
fi

case "$backend" in
postgres)
	userinfo=$PGUSER
	[ -n "${PGPASSWORD:-}" ] && userinfo="$PGUSER:$PGPASSWORD"
	dsn="postgres://$userinfo@$PGHOST:$PGPORT/$db?sslmode=disable"
	psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
	dbargs=(--db-comm postgres)
	if [ "$(psql -d "$db" -Atc "SHOW autovacuum")" = off ]; then
		echo "note: autovacuum is off on this server; VACUUM ANALYZE runs every 30 s on $db instead" | tee "$out/autovacuum.txt"
		"$here/analyze-loop.sh" "$db" 30 &
		looppid=$!
	fi
	;;
sqlite)
	dsn="$work/townsquare.db"
	dbargs=()
	;;
*) echo "side-by-side.sh: --backend postgres or sqlite" >&2; exit 2 ;;
esac
"$bin" migrate --database "$dsn" >/dev/null

timev=()
[ -x /usr/bin/time ] && timev=(/usr/bin/time)
urls="" serverpids=""
for i in $(seq 0 $((servers - 1))); do
	p=$((port + i))
	tv=()
	[ ${#timev[@]} -gt 0 ] && tv=(/usr/bin/time -v -o "$out/server$i-time.txt")
	# scimload sends thousands of requests a second with one token: the per-token and
	# per-address limits and the connection cap are off for the measurement. (The
	# environment twins of --rate-limit, --auth-fail-limit and --max-conns, so that a
	# TOWNSQUARE_BIN older than them still starts.)
	TOWNSQUARE_TOKEN=t0ken TOWNSQUARE_RATE_LIMIT=0 TOWNSQUARE_AUTH_FAIL_LIMIT=0 TOWNSQUARE_MAX_CONNS=0 \
		"${tv[@]}" "$bin" serve --addr "127.0.0.1:$p" --database "$dsn" >"$out/server$i.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null || { echo "server $i did not start; see $out/server$i.log" >&2; exit 1; }
	spid=${pids[-1]}
	if [ ${#tv[@]} -gt 0 ]; then
		spid=$(ps -o pid= --ppid "${pids[-1]}" | tr -d ' ' | head -1)
	fi
	spids+=("$spid")
	urls="$urls${urls:+,}http://127.0.0.1:$p/scim/v2"
	serverpids="$serverpids${serverpids:+,}$spid"
done

echo "== scimload against $servers server(s) on $backend (server pids $serverpids)"
set +e
"$load" --url "$urls" --token t0ken --ceiling self --server-pid "$serverpids" "${dbargs[@]}" "${refargs[@]}" \
	--json-out "$out/scimload.json" "${loadflags[@]}" 2>"$out/scimload.log" | tee "$out/scimload.txt"
rc=${PIPESTATUS[0]}
set -e

stop_servers
for f in "$out"/server*-time.txt; do
	[ -f "$f" ] && echo "$(basename "$f" -time.txt): $(grep 'Maximum resident set size' "$f" | sed 's/^\s*//') (/usr/bin/time -v)"
done
echo "== provisioning rules after the run (townsquare check)"
"$bin" check --database "$dsn" 2>&1 | tail -20 || rc=1
grep -c 'database is locked' "$out"/server*.log | sed 's/^/"database is locked" in server log: /' || true
echo "logs and JSON in $out"
exit "$rc"
