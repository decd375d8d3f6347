#!/usr/bin/env bash
# analyze-loop.sh DB SECONDS: VACUUM ANALYZE the database every SECONDS until killed.
# run.sh and side-by-side.sh start it when the server's autovacuum is off, so that the
# planner sees the tables as they grow, as it does on any server with autovacuum on
# (the default). Without it, plans made for empty tables (sequential scans) stay.
db=$1 every=$2
while sleep "$every"; do
	psql -q -d "$db" -c "VACUUM (ANALYZE)" >/dev/null 2>&1 || true
done
