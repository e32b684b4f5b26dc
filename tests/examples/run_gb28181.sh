#!/usr/bin/env bash
# Runs examples/gb28181_catalog end to end: the device in the background on a free port
# (--port 0; the port is read from its "listening on" line), then the platform against it.
#
#   run_gb28181.sh <gb28181_catalog> <scratch dir> ok|wrong-device
#
# ok:           the platform must exit 0 and print every channel ID of the device's
#               catalog (5 channels, so the device splits it over several MESSAGEs).
# wrong-device: the platform queries another DeviceID; the device answers 200 but sends
#               no catalog, so the platform must time out and exit non-zero.
# The device is always killed (TERM, then KILL), and every step is bounded in time.
set -u
prog=$1
work=$2
mode=$3
device_id=34020000001320000001
mkdir -p "$work"
rm -f "$work"/device.out "$work"/device.err "$work"/platform.out "$work"/platform.err

"$prog" --role device --bind 127.0.0.1 --port 0 --device-id "$device_id" --channels 5 \
  >"$work/device.out" 2>"$work/device.err" &
device_pid=$!

stop_device() {
  kill -TERM "$device_pid" 2>/dev/null
  for _ in $(seq 20); do
    kill -0 "$device_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$device_pid" 2>/dev/null
  wait "$device_pid" 2>/dev/null
}
trap stop_device EXIT

fail() {
  echo "FAIL: $*"
  for f in device.out device.err platform.out platform.err; do
    [ -f "$work/$f" ] && { echo "--- $f"; cat "$work/$f"; }
  done
  exit 1
}

port=""
for _ in $(seq 50); do
  port=$(sed -n 's/^device [0-9]* listening on udp 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
    "$work/device.out" 2>/dev/null)
  [ -n "$port" ] && break
  kill -0 "$device_pid" 2>/dev/null || fail "the device exited before listening"
  sleep 0.1
done
[ -n "$port" ] || fail "the device did not start listening within 5 s"

if [ "$mode" = wrong-device ]; then
  target="sip:34020000001320000099@127.0.0.1:$port"
  timeout_s=1
else
  target="sip:$device_id@127.0.0.1:$port"
  timeout_s=5
fi
timeout 30 "$prog" --role platform --bind 127.0.0.1 --port 0 --device "$target" \
  --timeout "$timeout_s" >"$work/platform.out" 2>"$work/platform.err"
rc=$?

if [ "$mode" = wrong-device ]; then
  [ "$rc" -ne 0 ] || fail "the platform exited 0 for a device that never answered"
  [ "$rc" -ne 124 ] || fail "the platform hung (killed by timeout)"
  grep -q "query answered, but 0 of ? catalog item(s) within 1 s" "$work/platform.err" ||
    fail "the platform did not report the timeout"
  grep -q "ignored: query for DeviceID '34020000001320000099'" "$work/device.err" ||
    fail "the device did not log the query for another DeviceID"
  echo "PASS: wrong DeviceID answered 200, no catalog, platform timed out (exit $rc)"
  exit 0
fi

[ "$rc" -eq 0 ] || fail "the platform exited $rc"
grep -q "^Catalog of $device_id (SN [0-9]*): 5 item(s)$" "$work/platform.out" ||
  fail "no catalog header line"
for k in 1 2 3 4 5; do
  grep -q "^  3402000000131000000$k  Camera $k  *ON$" "$work/platform.out" ||
    fail "channel 3402000000131000000$k missing from the printed catalog"
done
echo "PASS: platform printed the 5 channels of $device_id"
