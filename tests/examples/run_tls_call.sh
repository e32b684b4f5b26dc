#!/usr/bin/env bash
# A TLS call (RFC 3261 §26.2, sips:) from examples/uac to examples/uas, end to end.
#
#   run_tls_call.sh <uas> <uac> <openssl> <scratch dir> ok|mutual|untrusted
#
# Makes a throw-away PKI with the openssl CLI in the scratch dir: a CA, a certificate for
# IP 127.0.0.1 for the uas and one for the uac (the uac's TLS listener presents it, and
# offers it as client certificate). Starts `uas --transport tls --port 0` in the
# background (the port is read from its "listening on" line), then runs
#   uac --call sips:uas@127.0.0.1:PORT --transport tls --ca ca.pem --cert uac.pem
#       --key uac.key --duration 1 --info x --message y
# ok:        uac must exit 0, and the uas ladder must show the INVITE, ACK, INFO, MESSAGE
#            and BYE RECEIVED over tls (and nothing over udp or tcp).
# mutual:    the same with `uas --ca ca.pem --require-client-cert` (mutual TLS).
# untrusted: uac without --ca (system trust anchors, which do not hold our CA) must fail
#            with "certificate verify failed", and the uas must receive no SIP at all.
# The uas is always killed (TERM, then KILL), and every step is bounded in time.
set -u
uas=$1
uac=$2
openssl=$3
work=$4
mode=$5
mkdir -p "$work"
rm -f "$work"/*.pem "$work"/*.key "$work"/*.csr "$work"/*.cnf "$work"/*.out "$work"/*.err

fail() {
  echo "FAIL: $*"
  for f in openssl.err uas.out uas.err uac.out uac.err; do
    [ -f "$work/$f" ] && { echo "--- $f"; cat "$work/$f"; }
  done
  exit 1
}

# ---------------------------------------------------------------- the PKI
ossl() { timeout 30 "$openssl" "$@" 2>>"$work/openssl.err" >/dev/null || fail "openssl $1 failed"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=sipkit example CA" -keyout "$work/ca.key" -out "$work/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
cat >"$work/leaf.cnf" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1
EOF
serial=1
for name in uas uac; do
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name 127.0.0.1" \
    -keyout "$work/$name.key" -out "$work/$name.csr"
  serial=$((serial + 1))
  ossl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -set_serial "$serial" -days 2 -extfile "$work/leaf.cnf" -out "$work/$name.pem"
done

# ---------------------------------------------------------------- the uas
uas_args=(--transport tls --bind 127.0.0.1 --port 0 --cert "$work/uas.pem" --key "$work/uas.key")
[ "$mode" = mutual ] && uas_args+=(--ca "$work/ca.pem" --require-client-cert)
"$uas" "${uas_args[@]}" >"$work/uas.out" 2>"$work/uas.err" &
uas_pid=$!

stop_uas() {
  kill -TERM "$uas_pid" 2>/dev/null
  for _ in $(seq 20); do
    kill -0 "$uas_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$uas_pid" 2>/dev/null
  wait "$uas_pid" 2>/dev/null
}
trap stop_uas EXIT

port=""
for _ in $(seq 50); do
  port=$(sed -n 's/^listening on tls 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/uas.out" 2>/dev/null)
  [ -n "$port" ] && break
  kill -0 "$uas_pid" 2>/dev/null || fail "the uas exited before listening"
  sleep 0.1
done
[ -n "$port" ] || fail "the uas did not start listening within 5 s"

# ---------------------------------------------------------------- the uac
uac_args=(--call "sips:uas@127.0.0.1:$port" --transport tls --cert "$work/uac.pem"
  --key "$work/uac.key" --duration 1 --info x --message y)
[ "$mode" = untrusted ] || uac_args+=(--ca "$work/ca.pem")
timeout 30 "$uac" "${uac_args[@]}" >"$work/uac.out" 2>"$work/uac.err"
rc=$?
[ "$rc" -ne 124 ] || fail "the uac hung (killed by timeout)"

if [ "$mode" = untrusted ]; then
  [ "$rc" -ne 0 ] || fail "the uac exited 0 although it cannot trust the uas certificate"
  grep -q "certificate verify failed" "$work/uac.err" ||
    fail "the uac did not report the certificate check"
  ! grep -q "RECEIVED from" "$work/uas.out" || fail "the uas received SIP over a refused handshake"
  echo "PASS: uac refused the untrusted uas certificate (exit $rc)"
  exit 0
fi

[ "$rc" -eq 0 ] || fail "the uac exited $rc"
# The uas prints its ladder as it goes; the BYE's line is there once the uac has exited.
for method in INVITE ACK INFO MESSAGE BYE; do
  grep -Eq "^\[[0-9:.]+\] RECEIVED from tls 127\.0\.0\.1:[0-9]+  $method sips:uas@127\.0\.0\.1:$port SIP/2\.0$" \
    "$work/uas.out" || fail "no $method RECEIVED over tls in the uas ladder"
done
grep -q "^INFO in call (text/plain): x$" "$work/uas.out" || fail "the uas did not print the INFO"
grep -q "^MESSAGE in call (text/plain): y$" "$work/uas.out" || fail "the uas did not print the MESSAGE"
! grep -Eq "(SENT to|RECEIVED from) (udp|tcp) " "$work/uas.out" "$work/uac.out" ||
  fail "a message of the sips: call went over udp or tcp"
echo "PASS: $mode TLS call: INVITE, ACK, INFO, MESSAGE and BYE received over tls on port $port"
