#!/usr/bin/env bash
# The raw-SQL reference of issue 5: how many create-user and add-member transactions per
# second PostgreSQL itself sustains on this machine when each writes exactly the rows
# Townsquare's transactions write (see the .sql files next to this script). It creates a scratch
# database, migrates it with the townsquare binary (same tables, same indexes), runs
# pgbench and drops the database.
#
#   scripts/pgbench/run.sh [-c CLIENTS] [-j THREADS] [-T SECONDS] [-g GROUPS] [-p PRELOAD]
#                          [-M prepared|extended|simple] [--keep]
#
# Connection: the usual libpq variables, PGHOST (127.0.0.1), PGPORT (5432), PGUSER
# (postgres), PGPASSWORD. TOWNSQUARE_BIN names a townsquare binary (built if unset).
# PRELOAD users (-p, default 10000) are inserted first, so that the tables are not empty
# and the lookup scripts have users to find (-p 0 skips both).
# The last lines are machine-readable: REF_CREATE_TPS=…, REF_CREATE_CTE_TPS=…,
# REF_CREATE_REPLAY_TPS=…, REF_ADD_TPS=…, REF_ADD_REPLAY_TPS=…, REF_LOOKUP_REPLAY_TPS=…, REF_LOOKUP_ONE_TPS=…
# (scripts/pgbench/side-by-side.sh reads them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
clients=16 threads=2 seconds=20 groups=100 preload=10000 mode=prepared keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	-c) clients=$2; shift 2 ;;
	-j) threads=$2; shift 2 ;;
	-T) seconds=$2; shift 2 ;;
	-g) groups=$2; shift 2 ;;
	-p) preload=$2; shift 2 ;;
	-M) mode=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
for tool in pgbench psql; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (Debian: apt-get install postgresql-client postgresql-contrib)" >&2; exit 2; }
done

work=$(mktemp -d)
db="ts_pgbench_$$"
looppid=
cleanup() {
	[ -n "$looppid" ] && kill "$looppid" 2>/dev/null
	if [ "$keep" = 0 ]; then
		psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	else
		echo "kept database $db" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

bin=${TOWNSQUARE_BIN:-}
if [ -z "$bin" ]; then
	bin="$work/townsquare"
	(cd "$repo" && go build -o "$bin" ./cmd/townsquare)
fi
userinfo=$PGUSER
[ -n "${PGPASSWORD:-}" ] && userinfo="$PGUSER:$PGPASSWORD"
url="postgres://$userinfo@$PGHOST:$PGPORT/$db?sslmode=disable"

psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
"$bin" migrate --database "$url" >/dev/null
vars=$(psql -q -d "$db" -At -v groups="$groups" -f "$here/setup.sql")
team=$(echo "$vars" | sed -n 's/^team=//p'); ch1=$(echo "$vars" | sed -n 's/^ch1=//p'); ch2=$(echo "$vars" | sed -n 's/^ch2=//p')
defs=(-D team="$team" -D ch1="$ch1" -D ch2="$ch2" -D groups="$groups" -D preload="$preload")

if [ "$preload" -gt 0 ]; then
	psql -q -d "$db" -v n="$preload" -v team="$team" -v ch1="$ch1" -v ch2="$ch2" -f "$here/preload.sql" >/dev/null
fi
psql -q -d "$db" -c "VACUUM ANALYZE" >/dev/null
if [ "$(psql -d "$db" -Atc "SHOW autovacuum")" = off ]; then
	echo "note: autovacuum is off on this server; VACUUM ANALYZE runs every 10 s on $db instead" >&2
	"$here/analyze-loop.sh" "$db" 10 &
	looppid=$!
fi

# bench NAME SCRIPT ARGS...: runs pgbench and prints its tps.
bench() {
	local name=$1 script=$2; shift 2
	local out
	out=$(pgbench -n -M "$mode" -c "$clients" -j "$threads" "${defs[@]}" -f "$here/$script" "$@" "$db" 2>&1) || {
		echo "$out" >&2; echo "run.sh: pgbench $name failed" >&2; exit 1; }
	if echo "$out" | grep -q "number of failed transactions: [1-9]"; then
		echo "$out" >&2; echo "run.sh: pgbench $name had failed transactions" >&2; exit 1
	fi
	echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

pgver=$(psql -d "$db" -Atc "SHOW server_version")
echo "raw-SQL reference: PostgreSQL $pgver, pgbench -M $mode, $clients clients, $threads threads, $seconds s per script, $(nproc) CPUs"
create=$(bench create_user create_user.sql -T "$seconds")
printf '  %-20s %-58s %10.1f tps\n' create_user "users+email+team+2 channel rows, 5 INSERTs in 1 tx" "$create"
cte=$(bench create_user_cte create_user_cte.sql -T "$seconds")
printf '  %-20s %-58s %10.1f tps\n' create_user_cte "the same rows in 1 statement (the limit)" "$cte"
replay=$(bench create_user_replay create_user_replay.sql -T "$seconds")
printf '  %-20s %-58s %10.1f tps\n' create_user_replay "the store's 1 statement today (was 9 in a tx)" "$replay"

if [ "$preload" -gt 0 ]; then
	lreplay=$(bench lookup_replay lookup_replay.sql -T "$seconds")
	printf '  %-20s %-58s %10.1f tps\n' lookup_replay "userName eq: the store's 1 statement today (was 8)" "$lreplay"
	lone=$(bench lookup_one lookup_one.sql -T "$seconds")
	printf '  %-20s %-58s %10.1f tps\n' lookup_one "userName eq: the same answer in 1 statement" "$lone"
fi

# add_member and add_member_replay take users in turn; each needs one per transaction.
psql -q -d "$db" -c "INSERT INTO pgb_queue SELECT row_number() OVER (ORDER BY pk), id FROM users WHERE id NOT LIKE 'id%' AND user_name NOT LIKE 'pre%'; ANALYZE" >/dev/null
avail=$(psql -d "$db" -Atc "SELECT COUNT(*) FROM pgb_queue")
per=$(( avail / (2 * clients) - 1 ))
[ "$per" -gt 2000 ] && per=2000
if [ "$per" -lt 10 ]; then
	echo "run.sh: only $avail users to add; raise -T" >&2; exit 1
fi
add=$(bench add_member add_member.sql -t "$per")
printf '  %-20s %-58s %10.1f tps\n' add_member "group version+member row, team and channels moved, 1 tx" "$add"
addreplay=$(bench add_member_replay add_member_replay.sql -t "$per")
printf '  %-20s %-58s %10.1f tps\n' add_member_replay "the store's 6 statements today (was 18)" "$addreplay"
echo "REF_CREATE_TPS=$create"
echo "REF_CREATE_CTE_TPS=$cte"
echo "REF_CREATE_REPLAY_TPS=$replay"
echo "REF_ADD_TPS=$add"
echo "REF_ADD_REPLAY_TPS=$addreplay"
if [ "$preload" -gt 0 ]; then
	echo "REF_LOOKUP_REPLAY_TPS=$lreplay"
	echo "REF_LOOKUP_ONE_TPS=$lone"
fi
