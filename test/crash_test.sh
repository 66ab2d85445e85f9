#!/bin/bash
# Crash test: kill -9 the server while 8 clients record orders and returns
# and the expiry job runs; after restart every acknowledged order is there,
# the ledger checks are clean, replaying every acknowledged order writes
# nothing twice, and running the expiry job again writes nothing twice.
# Run with `make crash-test` (as root, or as a user after make install).
set -u
. "$(dirname "$0")/tap/lib.sh"

CLIENTS=${CRASH_CLIENTS:-8}
SECONDS_BEFORE_KILL=${CRASH_SECONDS:-8}
DIR=$(tap_scratch)
PORT=$((57500 + $$ % 400))
trap 'tap_stop_cluster "$DIR"; rm -rf "$DIR"' EXIT
tap_start_cluster "$DIR" "$PORT" "fsync = on" || { echo "not ok 1 - cluster starts"; exit 1; }

tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE crash" >/dev/null
tap_sql "$DIR" "$PORT" crash "
CREATE EXTENSION pg_loyalty;
INSERT INTO loyalty.program (code, name, point_value, points_lifetime) VALUES ('crash', 'Crash', 1000, '30 days');
INSERT INTO loyalty.rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM loyalty.program;
SELECT loyalty.enroll('crash', 'C' || i) FROM generate_series(1, 20) i;" >/dev/null

# One client: record orders (and return every fifth) until the server dies;
# a document is acknowledged only after its transaction committed.
client() {
    local c=$1 i=0 ack="$DIR/ack.$1"
    : >"$ack"
    while true; do
        i=$((i + 1))
        doc="K$c-$i"
        if "${AS_PG[@]}" "$BINDIR/psql" -X -q -A -t -h "$DIR" -p "$PORT" -d crash -c \
            "SELECT loyalty.record_order('crash', 'C$(( (c + i) % 20 + 1 ))', '$doc', total => $(( (i % 9 + 1) * 10000 )), ordered_at => now() - interval '$(( (i % 2) * 40 )) days')" \
            >/dev/null 2>&1; then
            echo "$doc $(( (i % 9 + 1) * 10000 )) C$(( (c + i) % 20 + 1 )) $(( (i % 2) * 40 ))" >>"$ack"
        else
            break
        fi
        if [ $((i % 5)) -eq 0 ]; then
            "${AS_PG[@]}" "$BINDIR/psql" -X -q -h "$DIR" -p "$PORT" -d crash -c \
                "SELECT loyalty.return_order('crash', '$doc', 'R-$doc', amount => 10000)" >/dev/null 2>&1 || break
        fi
    done
}

# The expiry job, run again and again while the orders come in.
expiry() {
    while "${AS_PG[@]}" "$BINDIR/psql" -X -q -h "$DIR" -p "$PORT" -d crash \
        -c "SELECT * FROM loyalty.expire_points(program => 'crash')" >/dev/null 2>&1; do
        sleep 0.2
    done
}

for c in $(seq 1 "$CLIENTS"); do client "$c" & done
expiry &
sleep "$SECONDS_BEFORE_KILL"
PID=$(head -1 "$DIR/data/postmaster.pid")
CHILDREN=$(pgrep -P "$PID")
kill -9 "$PID" $CHILDREN
wait
for _ in $(seq 1 50); do
    pgrep -P "$PID" >/dev/null || kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
echo "# killed the postmaster (pid $PID) with $CLIENTS clients running"
rm -f "$DIR/data/postmaster.pid"
"${AS_PG[@]}" "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
tap_is "the server restarts after kill -9" "$?" "0"

ACKED=$(cat "$DIR"/ack.* | wc -l)
echo "# acknowledged orders: $ACKED"
tap_check "clients acknowledged orders before the crash" test "$ACKED" -gt 0
cat "$DIR"/ack.* | awk '{print $1}' | sort >"$DIR/acked.txt"
tap_sql "$DIR" "$PORT" crash "SELECT document FROM loyalty.member_order" | sort >"$DIR/present.txt"
MISSING=$(comm -23 "$DIR/acked.txt" "$DIR/present.txt" | wc -l)
tap_is "no acknowledged order is lost" "$MISSING" "0"
tap_is "check_ledger() is clean after the crash" \
    "$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.check_ledger()")" "0"

BEFORE=$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.ledger")
while read -r doc amount customer days; do
    echo "SELECT loyalty.record_order('crash', '$customer', '$doc', total => $amount, ordered_at => now() - interval '$days days');"
done <<<"$(cat "$DIR"/ack.*)" >"$DIR/replay.sql"
"${AS_PG[@]}" "$BINDIR/psql" -X -q -h "$DIR" -p "$PORT" -d crash -f "$DIR/replay.sql" >/dev/null 2>"$DIR/replay.err"
AFTER=$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.ledger")
tap_is "replaying every acknowledged order writes nothing twice" "$AFTER" "$BEFORE"
tap_is "no replay failed" "$(grep -c ERROR "$DIR/replay.err")" "0"

EXPIRED=$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.ledger WHERE kind = 'expire'")
echo "# expiry entries before the restart's catch-up: $EXPIRED"
for _ in $(seq 1 20); do
    left=$(tap_sql "$DIR" "$PORT" crash "SELECT members FROM loyalty.expire_points(program => 'crash')")
    [ "$left" = "0" ] && break
done
AFTER_CATCHUP=$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.ledger")
tap_is "the expiry job run again after catching up writes nothing" \
    "$(tap_sql "$DIR" "$PORT" crash "SELECT members || '/' || lots FROM loyalty.expire_points(program => 'crash')")" "0/0"
tap_is "and adds no ledger entry" "$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.ledger")" "$AFTER_CATCHUP"
tap_is "no expired lot keeps points" \
    "$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.lot WHERE expires_at <= now() AND remaining OPERATOR(loyalty.>) 0")" "0"
tap_is "check_ledger() is clean after the expiry catch-up" \
    "$(tap_sql "$DIR" "$PORT" crash "SELECT count(*) FROM loyalty.check_ledger()")" "0"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
