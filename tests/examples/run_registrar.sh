#!/usr/bin/env bash
# Runs examples/registrar end to end against examples/uac: the registrar in the background
# on a free port (--port 0; the port is read from its "listening on" line), realm
# example.com, user alice:secret, then uac --register (and --message-to / --call) against it.
#
#   run_registrar.sh <registrar> <uac> <scratch dir> ok|wrong-password|md5-only|redirect|min-expires
#
# ok:             uac --register sip:127.0.0.1:PORT --aor sip:alice@example.com --username alice
#                 --password secret --duration 1 must exit 0; it answers the challenge with
#                 SHA-256 (the first one offered), and the registrar prints
#                 "sip:alice@example.com has 1 binding(s)", then "has 0 binding(s)" (the
#                 unregister).
# wrong-password: the same with --password wrong: the uac must exit non-zero after a second
#                 401, the registrar must log the failed authentication and print no binding.
# md5-only:       registrar --md5-only: the challenge offers MD5 only, the uac answers with
#                 algorithm=MD5, and the registration and unregistration succeed as for ok.
# redirect:       while a uac keeps alice registered (--duration 5, in the background), lookups
#                 sent to the registrar as outbound proxy (--proxy sip:127.0.0.1:PORT, so the
#                 Request-URI keeps the AOR), with alice's credentials (the registrar's default
#                 --redirect-requires-auth answers a lookup 401 first, which the uac answers
#                 once), are redirected: MESSAGE to sip:alice@example.com
#                 and sip:alice@EXAMPLE.COM get a 302 whose Contact is the registered uac's, an
#                 INVITE gets a 302 (the uac runs with --max-redirects 0, so the 302 ends its
#                 call; run_redirect_call.sh follows one), and MESSAGE to sip:bob@example.com gets a 404; after the
#                 background uac has unregistered, MESSAGE to alice gets a 404.
# min-expires:    registrar --min-expires 7200 --max-expires 7200: the uac's REGISTER (Expires:
#                 3600, the registration_options default) gets 423 with Min-Expires: 7200, the
#                 uac retries with Expires: 7200, which is granted (1 binding, expires=7200).
# The programs run with --full (whole messages in the ladder). Every process started here is
# always killed (TERM, then KILL), and every step is bounded in time.
set -u
registrar=$1
uac=$2
work=$3
mode=$4
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
  for f in registrar.out registrar.err uac.out uac.err lookup-*.out lookup-*.err after.out after.err; do
    [ -f "$work/$f" ] && { echo "--- $f"; cat "$work/$f"; }
  done
  exit 1
}

# ---------------------------------------------------------------- the registrar
reg_args=(--bind 127.0.0.1 --port 0 --realm example.com --user alice:secret --full)
case "$mode" in
  md5-only) reg_args+=(--md5-only) ;;
  min-expires) reg_args+=(--min-expires 7200 --max-expires 7200) ;;
  ok | wrong-password | redirect) ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
"$registrar" "${reg_args[@]}" >"$work/registrar.out" 2>"$work/registrar.err" &
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

password=secret
[ "$mode" = wrong-password ] && password=wrong
duration=1
[ "$mode" = redirect ] && duration=5
uac_args=(--register "sip:127.0.0.1:$port" --aor sip:alice@example.com --username alice
  --password "$password" --duration "$duration" --full)

# The registrar prints "<aor> has N binding(s)" (and flushes it with the next ladder line).
# With --full the whole messages are in the ladder, with CRLF line ends: sip <file> strips the
# CRs so that the checks below can anchor on line ends.
bindings() { grep -E "^sip:alice@example\.com has [0-9]+ binding\(s\)$" "$work/registrar.out"; }
sip() { tr -d '\r' <"$work/$1"; }

# ---------------------------------------------------------------- redirect: lookups
if [ "$mode" = redirect ]; then
  timeout 30 "$uac" "${uac_args[@]}" >"$work/uac.out" 2>"$work/uac.err" &
  pids+=($!)
  uac_pid=$!
  for _ in $(seq 50); do
    bindings | grep -q "has 1 binding" && break
    kill -0 "$uac_pid" 2>/dev/null || fail "the registering uac exited before alice was bound"
    sleep 0.1
  done
  bindings | grep -q "has 1 binding" || fail "alice was not registered within 5 s"
  uac_port=$(sed -n 's/^sipkit info \[transport\] listening on UDP 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
    "$work/uac.err")
  [ -n "$uac_port" ] || fail "no listening line from the registering uac"

  # lookup <name> <uac args...>: runs one uac lookup with the registrar as outbound proxy,
  # answering its 401 with alice's credentials.
  lookup() {
    local name=$1
    shift
    timeout 30 "$uac" --proxy "sip:127.0.0.1:$port" --username alice --password secret --full "$@" \
      >"$work/lookup-$name.out" 2>"$work/lookup-$name.err"
    local rc=$?
    [ "$rc" -ne 124 ] || fail "lookup $name: the uac hung (killed by timeout)"
  }
  lookup alice --message-to sip:alice@example.com --message hi
  grep -Eq "^MESSAGE: .* \(302\)$" "$work/lookup-alice.out" ||
    fail "MESSAGE to sip:alice@example.com did not get a 302"
  sip lookup-alice.out | grep -Eq "^Contact: <sip:uac@127\.0\.0\.1:$uac_port>;expires=[0-9]+$" ||
    fail "the 302 does not carry the registered Contact sip:uac@127.0.0.1:$uac_port"

  lookup alice-upper --message-to sip:alice@EXAMPLE.COM --message hi
  grep -Eq "^MESSAGE: .* \(302\)$" "$work/lookup-alice-upper.out" ||
    fail "MESSAGE to sip:alice@EXAMPLE.COM did not get a 302 (the AOR host is case-insensitive)"

  lookup invite --call sip:alice@example.com --duration 1 --max-redirects 0
  grep -q "^call terminated (302)$" "$work/lookup-invite.out" ||
    fail "INVITE to sip:alice@example.com did not get a 302"

  lookup bob --message-to sip:bob@example.com --message hi
  grep -Eq "^MESSAGE: .* \(404\)$" "$work/lookup-bob.out" ||
    fail "MESSAGE to the unknown sip:bob@example.com did not get a 404"

  kill -0 "$uac_pid" 2>/dev/null || fail "the registering uac ended before the lookups were done"
  wait "$uac_pid"
  rc=$?
  [ "$rc" -ne 124 ] || fail "the registering uac hung (killed by timeout)"
  [ "$rc" -eq 0 ] || fail "the registering uac exited $rc"
  bindings | tail -n 1 | grep -q "has 0 binding" || fail "the registrar did not show the unregister"

  timeout 30 "$uac" --proxy "sip:127.0.0.1:$port" --username alice --password secret \
    --message-to sip:alice@example.com --message hi \
    >"$work/after.out" 2>"$work/after.err"
  grep -Eq "^MESSAGE: .* \(404\)$" "$work/after.out" ||
    fail "MESSAGE to alice after the unregister did not get a 404"
  echo "PASS: lookups for registered alice got 302 (Contact port $uac_port), unknown bob and unregistered alice 404"
  exit 0
fi

# ---------------------------------------------------------------- register, wait, unregister
timeout 30 "$uac" "${uac_args[@]}" >"$work/uac.out" 2>"$work/uac.err"
rc=$?
[ "$rc" -ne 124 ] || fail "the uac hung (killed by timeout)"

if [ "$mode" = wrong-password ]; then
  [ "$rc" -ne 0 ] || fail "the uac exited 0 with a wrong password"
  grep -q "^registration failed (401)$" "$work/uac.out" || fail "the uac did not report the 401"
  grep -q "^authentication of alice failed: " "$work/registrar.out" ||
    fail "the registrar did not log the failed authentication"
  ! grep -q "binding(s)$" "$work/registrar.out" || fail "the registrar bound a contact"
  echo "PASS: wrong password refused with 401, no binding (uac exit $rc)"
  exit 0
fi

[ "$rc" -eq 0 ] || fail "the uac exited $rc"
[ "$(bindings | head -n 1)" = "sip:alice@example.com has 1 binding(s)" ] ||
  fail "the registrar did not show alice's binding first"
[ "$(bindings | tail -n 1)" = "sip:alice@example.com has 0 binding(s)" ] ||
  fail "the registrar did not show the unregister last"
[ "$(bindings | wc -l)" -eq 2 ] || fail "expected exactly two binding lines"
grep -q "^unregister: ok (200)$" "$work/uac.out" || fail "the uac did not report the unregister"

case "$mode" in
  ok)
    grep -Eq '^Authorization: Digest username="alice", realm="example\.com", .*algorithm=SHA-256' \
      "$work/uac.out" || fail "the uac did not answer with SHA-256"
    ;;
  md5-only)
    sip uac.out | grep -q '^WWW-Authenticate: Digest .*algorithm=SHA-256' &&
      fail "the --md5-only registrar offered SHA-256"
    grep -Eq '^Authorization: Digest username="alice", realm="example\.com", .*algorithm=MD5' \
      "$work/uac.out" || fail "the uac did not answer with MD5"
    ;;
  min-expires)
    sip uac.out | grep -q "^SIP/2.0 423 Interval Too Brief$" || fail "no 423 for Expires: 3600"
    sip uac.out | grep -q "^Min-Expires: 7200$" || fail "the 423 has no Min-Expires: 7200"
    # The first REGISTER asked for 3600, the retry for the Min-Expires.
    [ "$(sip uac.out | grep -E '^Expires: [0-9]+$' | head -n 3 | tr '\n' ' ')" = \
      "Expires: 3600 Expires: 3600 Expires: 7200 " ] ||
      fail "the uac did not retry with Expires: 7200 after the 423"
    sip uac.out | grep -Eq "^Contact: <sip:uac@127\.0\.0\.1:[0-9]+>;expires=7200$" ||
      fail "the 200 did not grant 7200 s"
    ;;
esac
echo "PASS: $mode: alice registered (1 binding) and unregistered (0 bindings)"
