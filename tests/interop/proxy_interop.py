#!/usr/bin/env python3
"""Interop cases for examples/proxy with real peers (sipp, examples/uas, examples/uac); see
tests/interop/CMakeLists.txt for the CTest cases that call it.

usage: proxy_interop.py CASE --proxy BIN --work DIR [--in udp|tcp] [--out udp|tcp]
                        [--calls N] [--rate R] [--lost PCT] [--stateless]
                        [--uas BIN] [--uac BIN] [--timeout S]
cases:
  through   sipp (proxy_uac.xml) places --calls calls at --rate calls/s over --in to the
            proxy, with the Request-URI of a sipp built-in uas listening on --out
            (";transport=tcp" for TCP): the proxy forwards INVITE, ACK and BYE and the
            responses back. With --lost the caller's sipp loses that percentage of its
            messages (sipp -lost; not the uas's: see case_through) and retransmissions
            through the proxy must recover every call. Passes when
            the uac's sipp exits 0 with every call successful and none failed.
  fork      two contacts registered for sip:bob@example.com (REGISTERs sent by this
            script), one a sipp answering 486 (proxy_uas_busy.xml), the other sipp's
            built-in uas; one call from sipp to sip:bob@example.com. Passes when the call
            succeeds (the 486 is not the answer: the 200 wins, RFC 3261 16.7), and both
            UASes took their INVITE (the busy one also its ACK). With --sequential the
            proxy tries the contacts one at a time in registration order: the busy one
            first, then, on its 486, the other.
  record-route  examples/uac calls examples/uas through the proxy started with
            --record-route: passes when the uac succeeds and the uas got the INVITE and the
            BYE from the proxy's port (the BYE took the Record-Route route set).
  registered-call  the walkthrough of the README: the proxy as registrar for example.com
            with digest users bob and alice and --record-route; examples/uas registers as
            bob (401, then 200), examples/uac registers as alice and calls
            sip:bob@example.com through the proxy. Passes when both registrations were
            bound, the uac succeeds, and the uas got the INVITE and the BYE from the proxy.
  tls-out   examples/uac (UDP) calls sip:uas@...;transport=tls through the proxy started
            with a certificate (a throw-away CA made here with openssl) and --record-route;
            examples/uas listens on TLS only. Passes when the uac succeeds and the uas got
            the INVITE and the BYE over TLS (the proxy's double Record-Route: UDP for the
            caller, TLS for the callee).
  hostile   the proxy with its defaults under hostile traffic from 127.0.0.1: garbage and
            truncated datagrams, INVITEs for unknown AORs (404), INVITEs forwarded to a
            closed port (client transactions that time out), OPTIONS with 30 KB bodies, and
            TCP connections that send garbage; then it must still answer an OPTIONS to its
            own URI with 200 and a REGISTER with 200, and its resident memory must stay
            under 200 MB. --no-rate-limit turns the per-source limit off so that the
            whole flood reaches the proxy core. --rounds N sends the flood N times, 35 s
            apart (the previous round's transactions have expired by then): memory must
            plateau, the last round's peak within 8 MB of the round before (allocators,
            ASan's above all, keep some of the first round's growth).
Exit status 0 on pass, 1 on failure (with the reason and the peers' log tails).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from peers import (Failure, Processes, deadline, need, free_port,  # noqa: E402
                   raise_on_signals, sipp_argv, sipp_stats, sipp_summary, wait_listening,
                   wait_output)
from interop import ladder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "example.com"


def start_proxy(procs, a, port, extra=()):
    """examples/proxy on 127.0.0.1:port (UDP and TCP), domain example.com; one sipp sends
    from one address far above the per-source rate limit, so that limit is off."""
    argv = [a.proxy, "--bind", "127.0.0.1", "--port", str(port), "--domain", DOMAIN,
            "--max-request-rate", "0", "--stats", *extra]
    if a.stateless:
        argv.append("--stateless")
    proxy = procs.start("examples/proxy", argv, os.path.join(a.work, "proxy.log"), cwd=a.work)
    wait_listening(proxy, port, "udp")
    wait_listening(proxy, port, "tcp")
    return proxy


def stop_proxy(procs, proxy):
    rc = procs.stop(proxy, signal.SIGINT)
    print(f"proxy: {proxy.tail(1).strip()}")
    if rc != 0:
        raise Failure(f"examples/proxy exited with status {rc} on SIGINT (expected 0):\n"
                      f"{proxy.tail()}")


def sipp_uas(procs, a, name, transport, port, scenario=None, extra=()):
    scenario = ["-sf", os.path.join(HERE, scenario)] if scenario else ["-sn", "uas"]
    argv = sipp_argv(need("sipp"), a.work, name, transport, port, scenario, list(extra))
    uas = procs.start(f"sipp {name}", argv, os.path.join(a.work, f"{name}.log"), cwd=a.work)
    wait_listening(uas, port, transport)
    return uas


def sipp_uac(procs, a, proxy_port, ruri, calls, rate, extra=(), watch=()):
    """proxy_uac.xml through the proxy; Failure unless every call succeeded."""
    limit = int(calls / rate) + 60
    argv = sipp_argv(need("sipp"), a.work, "uac", a.inbound, free_port(),
                     ["-sf", os.path.join(HERE, "proxy_uac.xml"), f"127.0.0.1:{proxy_port}",
                      "-key", "uas_uri", ruri],
                     ["-m", str(calls), "-r", str(rate), "-d", "0", "-timeout", f"{limit}s",
                      "-timeout_error", *extra])
    uac = procs.start("sipp uac", argv, os.path.join(a.work, "uac.log"), cwd=a.work)
    rc = uac.wait(limit + 10, watch)
    s = sipp_stats(a.work, "uac")
    print(f"uac: exit status {rc}; {sipp_summary(s)}")
    if rc != 0 or s.get("SuccessfulCall(C)") != calls or s.get("FailedCall(C)") != 0:
        errors = os.path.join(a.work, "uac_errors.log")
        more = open(errors, errors="replace").read()[-3000:] if os.path.exists(errors) else ""
        raise Failure(f"uac: expected exit 0 and {calls} successful / 0 failed calls\n"
                      f"{uac.tail()}{more}")
    return s


def case_through(procs, a):
    pport, uport = free_port(), free_port()
    proxy = start_proxy(procs, a, pport)
    # The loss is on the caller's side only: sipp's built-in uas aborts a call when an
    # INVITE retransmission reaches it after its 200 (its scenario expects the ACK next),
    # so a lost 200 on the uas side would fail the call whatever the proxy does.
    lost = ["-lost", str(a.lost)] if a.lost else []
    uas = sipp_uas(procs, a, "uas", a.outbound, uport)
    ruri = f"sip:uas@127.0.0.1:{uport}" + (";transport=tcp" if a.outbound == "tcp" else "")
    sipp_uac(procs, a, pport, ruri, a.calls, a.rate, extra=lost, watch=[proxy, uas])
    stop_proxy(procs, proxy)


def register(proxy_port, user, contact_port, call_id):
    """A REGISTER for sip:<user>@example.com with one Contact, over UDP; Failure unless
    the proxy's registrar answers 200 listing it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        lport = s.getsockname()[1]
        contact = f"sip:{user}@127.0.0.1:{contact_port}"
        msg = (f"REGISTER sip:{DOMAIN} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{call_id};rport\r\n"
               f"Max-Forwards: 70\r\n"
               f"From: <sip:{user}@{DOMAIN}>;tag={call_id}\r\n"
               f"To: <sip:{user}@{DOMAIN}>\r\n"
               f"Call-ID: {call_id}@127.0.0.1\r\n"
               f"CSeq: 1 REGISTER\r\n"
               f"Contact: <{contact}>\r\n"
               f"Expires: 300\r\n"
               f"Content-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), ("127.0.0.1", proxy_port))
        try:
            answer = s.recv(65535).decode(errors="replace")
        except socket.timeout:
            raise Failure(f"no answer to the REGISTER of {contact}") from None
    if not answer.startswith("SIP/2.0 200") or contact not in answer:
        raise Failure(f"REGISTER of {contact} was answered:\n{answer}")
    print(f"registered {contact} for sip:{user}@{DOMAIN}")


def case_fork(procs, a):
    pport, busy_port, ok_port = free_port(), free_port(), free_port()
    proxy = start_proxy(procs, a, pport, ["--sequential"] if a.sequential else [])
    busy = sipp_uas(procs, a, "busy", "udp", busy_port, "proxy_uas_busy.xml", ["-m", "1"])
    ok = sipp_uas(procs, a, "ok", "udp", ok_port, extra=["-m", "1"])
    register(pport, "bob", busy_port, "reg-busy")
    register(pport, "bob", ok_port, "reg-ok")
    sipp_uac(procs, a, pport, f"sip:bob@{DOMAIN}", 1, 1, watch=[proxy])
    for name, proc in (("busy", busy), ("ok", ok)):
        rc = proc.wait(20)
        s = sipp_stats(a.work, name)
        print(f"{name}: exit status {rc}; {sipp_summary(s)}")
        if rc != 0 or s.get("SuccessfulCall(C)") != 1:
            raise Failure(f"the {name} UAS did not complete its one call:\n{proc.tail()}")
    stop_proxy(procs, proxy)


def case_record_route(procs, a):
    pport, uport = free_port(), free_port()
    proxy = start_proxy(procs, a, pport, ["--record-route"])
    uas_argv = [a.uas, "--bind", "127.0.0.1", "--port", str(uport), "--transport", "udp"]
    uas = procs.start("examples/uas", uas_argv, os.path.join(a.work, "uas.log"), cwd=a.work)
    wait_listening(uas, uport, "udp")
    uac_argv = [a.uac, "--proxy", f"sip:127.0.0.1:{pport}", "--call",
                f"sip:uas@127.0.0.1:{uport}", "--duration", "1", "--transport", "udp",
                "--bind", "127.0.0.1", "--port", str(free_port())]
    uac = procs.start("examples/uac", uac_argv, os.path.join(a.work, "uac.log"), cwd=a.work)
    rc = uac.wait(60, watch=[proxy, uas])
    print(f"examples/uac: exit status {rc}")
    if rc != 0:
        raise Failure(f"examples/uac exited with status {rc}:\n{uac.tail()}\n{proxy.tail()}")
    time.sleep(0.5)
    if procs.stop(uas, signal.SIGINT) != 0:
        raise Failure(f"examples/uas did not exit 0 on SIGINT:\n{uas.tail()}")
    seen = {"INVITE": [], "BYE": []}
    for direction, proto, _host, port, token in ladder(os.path.join(a.work, "uas.log")):
        if direction == "RECEIVED from" and token in seen:
            seen[token].append((proto, int(port)))
    print(f"uas saw INVITE from {seen['INVITE']}, BYE from {seen['BYE']} "
          f"(the proxy is udp port {pport})")
    if not seen["INVITE"] or any(src != ("udp", pport) for src in seen["INVITE"]):
        raise Failure(f"the INVITE did not come through the proxy:\n{uas.tail()}")
    if not seen["BYE"] or any(src != ("udp", pport) for src in seen["BYE"]):
        raise Failure("the BYE did not come through the proxy: Record-Route was not used\n"
                      f"{uas.tail()}\n{uac.tail()}")
    stop_proxy(procs, proxy)


def uas_sources(a):
    seen = {"INVITE": [], "BYE": []}
    for direction, proto, _host, port, token in ladder(os.path.join(a.work, "uas.log")):
        if direction == "RECEIVED from" and token in seen:
            seen[token].append((proto, int(port)))
    return seen


def case_registered_call(procs, a):
    w = a.work
    pport, uport = free_port(), free_port()
    argv = [a.proxy, "--bind", "127.0.0.1", "--port", str(pport), "--domain", DOMAIN,
            "--record-route", "--user", "bob:pw", "--user", "alice:pw2", "--stats"]
    proxy = procs.start("examples/proxy", argv, os.path.join(w, "proxy.log"), cwd=w)
    wait_listening(proxy, pport, "udp")
    uas_argv = [a.uas, "--bind", "127.0.0.1", "--port", str(uport), "--transport", "udp",
                "--register", f"sip:127.0.0.1:{pport}", "--aor", f"sip:bob@{DOMAIN}",
                "--username", "bob", "--password", "pw"]
    uas = procs.start("examples/uas", uas_argv, os.path.join(w, "uas.log"), cwd=w)
    wait_output(proxy, rf"sip:bob@{DOMAIN} has 1 binding", 15, watch=[uas],
                what="bob's registration")
    uac_argv = [a.uac, "--register", f"sip:127.0.0.1:{pport}", "--aor", f"sip:alice@{DOMAIN}",
                "--username", "alice", "--password", "pw2", "--proxy",
                f"sip:127.0.0.1:{pport}", "--call", f"sip:bob@{DOMAIN}", "--duration", "1",
                "--transport", "udp", "--bind", "127.0.0.1", "--port", str(free_port())]
    uac = procs.start("examples/uac", uac_argv, os.path.join(w, "uac.log"), cwd=w)
    rc = uac.wait(60, watch=[proxy, uas])
    print(f"examples/uac: exit status {rc}")
    if rc != 0:
        raise Failure(f"examples/uac exited with status {rc}:\n{uac.tail()}\n{proxy.tail()}")
    if not re.search(rf"sip:alice@{DOMAIN} has 1 binding",
                     open(os.path.join(w, "proxy.log"), errors="replace").read()):
        raise Failure(f"alice's registration was not bound:\n{proxy.tail()}")
    time.sleep(0.5)
    if procs.stop(uas, signal.SIGINT) != 0:
        raise Failure(f"examples/uas did not exit 0 on SIGINT:\n{uas.tail()}")
    seen = uas_sources(a)
    print(f"uas saw INVITE from {seen['INVITE']}, BYE from {seen['BYE']} "
          f"(the proxy is udp port {pport})")
    for method in ("INVITE", "BYE"):
        if not seen[method] or any(src != ("udp", pport) for src in seen[method]):
            raise Failure(f"the {method} did not come through the proxy:\n{uas.tail()}")
    stop_proxy(procs, proxy)


def make_certificates(work, names):
    """A CA and, per name, a P-256 certificate for IP 127.0.0.1 signed by it, in work/."""
    openssl = need("openssl")

    def run(*args):
        r = subprocess.run([openssl, *args], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise Failure(f"openssl {args[0]} failed:\n{r.stderr}")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-days", "2", "-subj", "/CN=sipkit proxy test CA", "-keyout", f"{work}/ca.key",
        "-out", f"{work}/ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(f"{work}/leaf.cnf", "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n")
    for serial, name in enumerate(names, start=2):
        run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={name} 127.0.0.1", "-keyout", f"{work}/{name}.key",
            "-out", f"{work}/{name}.csr")
        run("x509", "-req", "-in", f"{work}/{name}.csr", "-CA", f"{work}/ca.pem", "-CAkey",
            f"{work}/ca.key", "-set_serial", str(serial), "-days", "2", "-extfile",
            f"{work}/leaf.cnf", "-out", f"{work}/{name}.pem")


def case_tls_out(procs, a):
    w = a.work
    make_certificates(w, ["proxy", "uas"])
    pport, tport, uport = free_port(), free_port(), free_port()
    proxy = start_proxy(procs, a, pport, ["--record-route", "--tls-port", str(tport),
                                          "--cert", f"{w}/proxy.pem", "--key", f"{w}/proxy.key",
                                          "--ca", f"{w}/ca.pem"])
    wait_listening(proxy, tport, "tcp")
    uas_argv = [a.uas, "--bind", "127.0.0.1", "--port", str(uport), "--transport", "tls",
                "--cert", f"{w}/uas.pem", "--key", f"{w}/uas.key", "--ca", f"{w}/ca.pem"]
    uas = procs.start("examples/uas", uas_argv, os.path.join(w, "uas.log"), cwd=w)
    wait_listening(uas, uport, "tcp")
    uac_argv = [a.uac, "--proxy", f"sip:127.0.0.1:{pport}", "--call",
                f"sip:uas@127.0.0.1:{uport};transport=tls", "--duration", "1",
                "--transport", "udp", "--bind", "127.0.0.1", "--port", str(free_port())]
    uac = procs.start("examples/uac", uac_argv, os.path.join(w, "uac.log"), cwd=w)
    rc = uac.wait(60, watch=[proxy, uas])
    print(f"examples/uac: exit status {rc}")
    if rc != 0:
        raise Failure(f"examples/uac exited with status {rc}:\n{uac.tail()}\n{proxy.tail()}")
    time.sleep(0.5)
    if procs.stop(uas, signal.SIGINT) != 0:
        raise Failure(f"examples/uas did not exit 0 on SIGINT:\n{uas.tail()}")
    line = re.compile(r"^\[[^]]*\] RECEIVED from (\w+) [0-9.]+:[0-9]+\s+(INVITE|BYE) ")
    seen = [m.groups() for m in map(line.match, open(os.path.join(w, "uas.log"),
                                                     errors="replace")) if m]
    print(f"uas received {seen}")
    if ("tls", "INVITE") not in seen or ("tls", "BYE") not in seen:
        raise Failure(f"the uas did not get INVITE and BYE over TLS:\n{uas.tail()}\n"
                      f"{proxy.tail()}")
    stop_proxy(procs, proxy)


def request(method, ruri, lport, n, body="", extra=""):
    return (f"{method} {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKh{n};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:mallory@{DOMAIN}>;tag=h{n}\r\n"
            f"To: <{ruri}>\r\nCall-ID: hostile-{n}@127.0.0.1\r\nCSeq: 1 {method}\r\n"
            f"Contact: <sip:mallory@127.0.0.1:{lport}>\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def ask(port, message, timeout=5.0):
    """Send one datagram from a fresh socket; the first answer's status line, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        s.sendto(message(s.getsockname()[1]), ("127.0.0.1", port))
        try:
            return s.recv(65535).decode(errors="replace").split("\r\n", 1)[0]
        except socket.timeout:
            return None


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def case_hostile(procs, a):
    import random
    rnd = random.Random(12)
    pport, closed = free_port(), free_port()
    argv = [a.proxy, "--bind", "127.0.0.1", "--port", str(pport), "--domain", DOMAIN,
            "--quiet", "--stats"]
    if a.no_rate_limit:  # everything reaches the core, not only a burst per source
        argv += ["--max-request-rate", "0"]
    if a.stateless:
        argv.append("--stateless")
    proxy = procs.start("examples/proxy", argv, os.path.join(a.work, "proxy.log"), cwd=a.work)
    wait_listening(proxy, pport, "udp")
    pid = proxy.popen.pid
    before = rss_mb(pid)
    peaks = []
    for round_number in range(a.rounds):
        if round_number:
            time.sleep(35)  # 64*T1 and more: the previous round's transactions are gone
        peaks.append(flood(rnd, pport, closed, pid))
        print(f"round {round_number + 1}: RSS {before:.1f} MB before, {peaks[-1]:.1f} MB after")
        if not proxy.alive():
            raise Failure(f"the proxy died under hostile traffic:\n{proxy.tail()}")
    peak = max(peaks)
    if len(peaks) > 1 and peaks[-1] > peaks[-2] + 8:
        raise Failure(f"resident memory grows from round to round: {peaks} MB")
    time.sleep(3)  # the per-source rate limit's bucket refills (100/s, burst 200)
    status = ask(pport, lambda p: request("OPTIONS", f"sip:127.0.0.1:{pport}", p, "probe"))
    print(f"OPTIONS to the proxy: {status}")
    if status != "SIP/2.0 200 OK":
        raise Failure(f"the proxy no longer answers OPTIONS (got {status}):\n{proxy.tail()}")
    register(pport, "alice", 5999, "after-flood")
    if peak > 200:
        raise Failure(f"resident memory {peak:.0f} MB after the flood (limit 200 MB)")
    stop_proxy(procs, proxy)


def flood(rnd, pport, closed, pid):
    """One round of hostile traffic at the proxy on `pport`; returns its RSS after it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    lport = sock.getsockname()[1]
    sent = 0

    def send(data):
        nonlocal sent
        try:
            sock.sendto(data, ("127.0.0.1", pport))
            sent += 1
        except (BlockingIOError, OSError):
            time.sleep(0.001)
        while True:  # drain answers so that our buffer never blocks
            try:
                sock.recv(65535)
            except (BlockingIOError, OSError):
                break
    for n in range(2000):
        send(bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 600))))
    invite = request("INVITE", f"sip:nobody@{DOMAIN}", lport, 0)
    for n in range(2000):
        send(invite[:rnd.randrange(1, len(invite))])
    for n in range(3000):
        send(request("INVITE", f"sip:nobody{n}@{DOMAIN}", lport, f"a{n}"))
    for n in range(1000):
        send(request("INVITE", f"sip:victim@127.0.0.1:{closed}", lport, f"b{n}"))
    for n in range(500):
        send(request("OPTIONS", f"sip:127.0.0.1:{pport}", lport, f"c{n}", body="x" * 30000,
                     extra="Content-Type: text/plain\r\n"))
    for n in range(50):
        try:
            with socket.create_connection(("127.0.0.1", pport), timeout=2) as t:
                t.sendall(bytes(rnd.getrandbits(8) for _ in range(2000)))
        except OSError:
            pass
    sock.close()
    print(f"sent {sent} datagrams and 50 TCP connections of garbage")
    return rss_mb(pid)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=["through", "fork", "record-route", "registered-call",
                                    "tls-out", "hostile"])
    p.add_argument("--proxy", required=True, help="path of examples/proxy")
    p.add_argument("--work", required=True, help="scratch directory, emptied first")
    p.add_argument("--in", dest="inbound", choices=["udp", "tcp"], default="udp")
    p.add_argument("--out", dest="outbound", choices=["udp", "tcp"], default="udp")
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--rate", type=int, default=100)
    p.add_argument("--lost", type=int, default=0)
    p.add_argument("--stateless", action="store_true")
    p.add_argument("--sequential", action="store_true", help="fork: sequential forking")
    p.add_argument("--rounds", type=int, default=1, help="hostile: flood rounds, 35 s apart")
    p.add_argument("--no-rate-limit", action="store_true",
                   help="hostile: start the proxy with --max-request-rate 0")
    p.add_argument("--uas", help="path of examples/uas (record-route, registered-call, tls-out)")
    p.add_argument("--uac", help="path of examples/uac (record-route, registered-call, tls-out)")
    p.add_argument("--timeout", type=int, default=100)
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    for role in ("proxy", "uas", "uac"):  # the peers run with the work dir as cwd
        if getattr(a, role):
            setattr(a, role, os.path.abspath(getattr(a, role)))
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    raise_on_signals()
    deadline(a.timeout)
    try:
        for path in (a.proxy, a.uas, a.uac):
            if path is not None and not os.access(path, os.X_OK):
                raise Failure(f"{path}: not an executable (is it built?)")
        with Processes() as procs:
            {"through": case_through, "fork": case_fork,
             "record-route": case_record_route, "registered-call": case_registered_call,
             "tls-out": case_tls_out,
             "hostile": case_hostile}[a.case](procs, a)
    except Failure as e:
        print(f"FAIL: {a.case}: {e}\n(all output is in {a.work})", flush=True)
        return 1
    mode = "stateless" if a.stateless else "stateful"
    if a.case == "tls-out":
        a.outbound = "tls"
    print(f"PASS: {a.case} ({mode}, {a.inbound} -> {a.outbound}"
          f"{f', {a.lost}% lost' if a.lost else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
