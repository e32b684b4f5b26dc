#!/usr/bin/env bash
# A call through a redirect server, end to end with the example programs (RFC 3261
# §8.1.3.4): examples/registrar on a free port (domain 127.0.0.1, users bob:pw and
# alice:secret), examples/uas registered there as sip:bob@127.0.0.1, and examples/uac
# calling sip:bob@127.0.0.1:<registrar port>. The registrar challenges the INVITE (401,
# --redirect-requires-auth), the uac answers with alice's credentials, the registrar
# redirects with a 302 whose Contact is the uas's, and the uac sends the INVITE again to
# that Contact (CSeq 3, the same Call-ID, no Authorization): the uas answers 180 and 200,
# the uac ACKs, holds the call 1 s and sends BYE; the uac must exit 0.
#
#   run_redirect_call.sh <registrar> <uas> <uac> <scratch dir>
#
# Every process started here is always killed (TERM, then KILL); every wait is bounded.
set -u
registrar=$1
uas=$2
uac=$3
work=$4
mkdir -p "$work"
rm -f "$work"/*.out "$work"/*.err

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}
trap stop_all EXIT

fail() {
  echo "FAIL: $*"
  for f in registrar.out registrar.err uas.out uas.err uac.out uac.err; do
    [ -f "$work/$f" ] && { echo "--- $f"; cat "$work/$f"; }
  done
  exit 1
}
sip() { tr -d '\r' <"$work/$1"; }

"$registrar" --bind 127.0.0.1 --port 0 --realm example.com --domain 127.0.0.1 \
  --user bob:pw --user alice:secret --full >"$work/registrar.out" 2>"$work/registrar.err" &
pids+=($!)
registrar_pid=$!
port=""
for _ in $(seq 50); do
  port=$(sed -n 's/^listening on udp 127\.0\.0\.1:\([0-9][0-9]*\), realm example\.com$/\1/p' \
    "$work/registrar.out" 2>/dev/null)
  [ -n "$port" ] && break
  kill -0 "$registrar_pid" 2>/dev/null || fail "the registrar exited before listening"
  sleep 0.1
done
[ -n "$port" ] || fail "the registrar did not start listening within 5 s"

"$uas" --bind 127.0.0.1 --port 0 --register "sip:127.0.0.1:$port" --aor sip:bob@127.0.0.1 \
  --username bob --password pw --full >"$work/uas.out" 2>"$work/uas.err" &
pids+=($!)
uas_pid=$!
for _ in $(seq 50); do
  grep -q "^registration registered (200)$" "$work/uas.out" 2>/dev/null && break
  kill -0 "$uas_pid" 2>/dev/null || fail "the uas exited before it was registered"
  sleep 0.1
done
grep -q "^registration registered (200)$" "$work/uas.out" || fail "the uas was not registered within 5 s"
uas_port=$(sed -n 's/^listening on udp 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/uas.out")
[ -n "$uas_port" ] || fail "no listening line from the uas"

timeout 30 "$uac" --call "sip:bob@127.0.0.1:$port" --username alice --password secret \
  --duration 1 --full >"$work/uac.out" 2>"$work/uac.err"
rc=$?
[ "$rc" -ne 124 ] || fail "the uac hung (killed by timeout)"
[ "$rc" -eq 0 ] || fail "the uac exited $rc (the call through the redirect did not complete)"

target="sip:uas@127\.0\.0\.1:$uas_port"
grep -Eq "^call redirected to $target \(302\)$" "$work/uac.out" ||
  fail "the uac did not report the redirect to the uas's Contact"
sip uac.out | grep -q "^SIP/2.0 302 Moved Temporarily$" || fail "the uac did not receive the 302"
for method in INVITE ACK BYE; do
  grep -Eq "RECEIVED from udp 127\.0\.0\.1:[0-9]+  $method $target SIP/2\.0$" "$work/uas.out" ||
    fail "the uas did not receive the $method for $target"
done
# The INVITE the uas got: the registrar's was CSeq 1 (401) and 2 (302); this one is 3,
# without the credentials meant for the registrar.
sip uas.out | grep -q "^CSeq: 3 INVITE$" || fail "the redirected INVITE is not CSeq 3"
awk '/RECEIVED from udp .*  INVITE /,/^\r?$/' "$work/uas.out" | grep -q "^Authorization:" &&
  fail "the redirected INVITE carried the registrar's Authorization"
grep -q "^call established (200)$" "$work/uac.out" || fail "the uac did not report the 200"
grep -q "^hang-up: ok (200)$" "$work/uac.out" || fail "the uac's BYE did not get a 200"
echo "PASS: INVITE -> 401 -> 302 from the registrar, then INVITE/200/ACK/BYE with the uas on port $uas_port"
