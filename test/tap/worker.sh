#!/bin/bash
# The delivery worker against a throwaway cluster: a committed notice is
# delivered once (woken by NOTIFY), a rolled-back one never, and running the
# worker again sends nothing twice.
set -u
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(tap_scratch)
PORT=$((58000 + $$ % 400))
WORKER_PID=
trap '[ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2>/dev/null; tap_stop_cluster "$DIR"; rm -rf "$DIR"' EXIT

make -s -C "$SRC/src/worker" PG_CONFIG="$PG_CONFIG" >"$DIR/build.log" 2>&1
tap_is "the worker builds" "$?" "0"
cp "$SRC/src/worker/loyalty_worker" "$DIR/" 2>/dev/null
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR/loyalty_worker"
tap_start_cluster "$DIR" "$PORT" || { echo "not ok 2 - cluster starts"; exit 1; }

tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE shop" >/dev/null
tap_sql "$DIR" "$PORT" shop "
CREATE EXTENSION pg_loyalty;
INSERT INTO loyalty.program (code, name) VALUES ('shop', 'Shop');
INSERT INTO loyalty.notification_template (program_id, code, channel, body)
  SELECT program_id, 'thanks', 'sms', 'Cam on {{name}}!' FROM loyalty.program;
SELECT loyalty.enroll('shop', 'C1', 'An', phone => '+84900000001');" >/dev/null

# The command appends what it was given: the body and the message id.
cat >"$DIR/send.sh" <<'SH'
#!/bin/sh
body=$(cat)
echo "$LOYALTY_MESSAGE_ID $LOYALTY_RECIPIENT $body" >>"$(dirname "$0")/sent.txt"
SH
chmod 755 "$DIR/send.sh"
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR/send.sh"

"${AS_PG[@]}" "$DIR/loyalty_worker" -d "host=$DIR port=$PORT dbname=shop" -c "$DIR/send.sh" -i 1 \
    >"$DIR/worker.log" 2>&1 &
WORKER_PID=$!
sleep 1

tap_sql "$DIR" "$PORT" shop "
BEGIN;
SELECT loyalty.enqueue_notification(loyalty.member_id('shop', 'C1'), 'sms', 'thanks', 'thanks');
ROLLBACK;
SELECT loyalty.enqueue_notification(loyalty.member_id('shop', 'C1'), 'sms', 'thanks', 'thanks');" >/dev/null

for _ in $(seq 1 50); do
    [ -s "$DIR/sent.txt" ] && break
    sleep 0.2
done
sleep 1
tap_is "one committed notice is delivered" "$(wc -l <"$DIR/sent.txt" 2>/dev/null || echo 0)" "1"
tap_is "the command got the rendered body and the recipient" \
    "$(cut -d' ' -f2- "$DIR/sent.txt" 2>/dev/null)" "+84900000001 Cam on An!"
tap_is "the message is recorded as delivered" \
    "$(tap_sql "$DIR" "$PORT" shop "SELECT string_agg(status, ',') FROM loyalty.notification")" "delivered"

kill "$WORKER_PID" 2>/dev/null
wait "$WORKER_PID" 2>/dev/null
WORKER_PID=
"${AS_PG[@]}" "$DIR/loyalty_worker" -d "host=$DIR port=$PORT dbname=shop" -c "$DIR/send.sh" -1 >>"$DIR/worker.log" 2>&1
tap_is "a second worker run delivers nothing twice" "$(wc -l <"$DIR/sent.txt")" "1"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
