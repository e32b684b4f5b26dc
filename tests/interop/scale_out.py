#!/usr/bin/env python3
"""Scale-out cases (issue 14): sipkit instances behind a load balancer we did not write.

usage: scale_out.py CASE --uas BIN --work DIR [--rate R] [--duration S] [--calls N]
                    [--timeout S]
cases:
  reuseport examples/uas --threads 2: two agents, each on its own thread, share one UDP port
            with SO_REUSEPORT and each has a port of its own in its Contact. sipp's
            built-in uac places --calls calls at --rate calls/s with one socket per call
            (-t un: a new source port each), so the kernel spreads them over both agents.
            Then, 20 times, a call whose in-dialog requests come from a new socket: the
            INVITE from one UDP socket to the shared port, the ACK and the BYE from
            another one to the Contact of the 200. Passes when sipp completes every call
            with none failed, every BYE from a new socket is answered 200 by the agent
            that holds the dialog, those calls reached both agents, and at exit each
            agent reports calls (their sum: every call placed).
  dispatcher  Kamailio's dispatcher module (tests/interop/kamailio_dispatcher.cfg) in front
            of two examples/uas (UDP). sipp (proxy_uac.xml) places --calls calls at --rate
            calls/s, each held --duration s, through Kamailio. A few seconds in, one uas is
            killed (SIGKILL, as a crash); Kamailio's OPTIONS probes (every second) take it
            out, and an INVITE it never answered fails over to the survivor. Later it is
            started again on the same port and the probes put it back. Passes when
              - the calls that failed are at most the calls the dead instance held when it
                died (INVITE received, no BYE yet: their BYE or final response cannot
                come) plus a margin of 3 for messages in flight;
              - every call the survivor took completed (its log shows a BYE for each);
              - the restarted instance took new calls, and completed them.
Exit status 0 on pass, 1 on failure (with the reason and the peers' log tails).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from peers import (Failure, Processes, deadline, free_port, need, raise_on_signals,  # noqa: E402
                   sipp_argv, sipp_stats, sipp_summary, wait_listening)
from interop import messages, start_kamailio, stop_kamailio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def start_uas(procs, a, port, name):
    # A proxy in front means one source for every call: no per-source rate limit.
    argv = [a.uas, "--bind", "127.0.0.1", "--port", str(port), "--transport", "udp",
            "--max-request-rate", "0", "--full"]
    proc = procs.start(name, argv, os.path.join(a.work, f"{name}.log"), cwd=a.work)
    wait_listening(proc, port, "udp")
    return proc


def calls_seen(log):
    """Call-IDs of the INVITEs and of the BYEs a uas received (retransmissions once)."""
    invites, byes = set(), set()
    for direction, _proto, _port, first, headers in messages(log):
        if direction != "RECEIVED from":
            continue
        call_id = (headers.get("call-id") or [""])[0]
        if first.startswith("INVITE "):
            invites.add(call_id)
        elif first.startswith("BYE "):
            byes.add(call_id)
    return invites, byes


def case_dispatcher(procs, a):
    kport, port_a, port_b = free_port(), free_port(), free_port()
    ds_list = os.path.join(a.work, "dispatcher.list")
    with open(ds_list, "w") as f:
        f.write(f"1 sip:127.0.0.1:{port_a}\n1 sip:127.0.0.1:{port_b}\n")
    uas_a = start_uas(procs, a, port_a, "uas_a")
    uas_b = start_uas(procs, a, port_b, "uas_b")
    kam = start_kamailio(procs, a, "kamailio_dispatcher.cfg", kport, [f'DS_LIST="{ds_list}"'])
    target = f"sip:service@127.0.0.1:{kport}"
    argv = sipp_argv(need("sipp"), a.work, "uac", "udp", free_port(),
                     ["-sf", os.path.join(HERE, "proxy_uac.xml"), f"127.0.0.1:{kport}",
                      "-key", "uas_uri", target],
                     ["-r", str(a.rate), "-m", str(a.calls), "-d", str(int(a.duration * 1000)),
                      "-timeout", f"{a.timeout - 20}s"])
    uac = procs.start("sipp uac", argv, os.path.join(a.work, "uac.log"), cwd=a.work)
    run_time = a.calls / a.rate
    kill_at, restart_at = 0.3 * run_time, 0.55 * run_time

    # Both instances take calls before the crash (round-robin).
    time.sleep(kill_at)
    for p in (uas_a, uas_b, kam):
        if not p.alive():
            raise Failure(f"{p.name} exited early:\n{p.tail()}")
    procs.stop(uas_b, signal.SIGKILL)
    held_b, byes_b = calls_seen(uas_b.log)
    lost = held_b - byes_b
    print(f"killed uas_b after {kill_at:.1f} s: it had taken {len(held_b)} calls, "
          f"{len(lost)} still up")
    if not held_b:
        raise Failure(f"uas_b took no call before it was killed:\n{kam.tail()}")

    time.sleep(restart_at - kill_at)
    uas_b2 = start_uas(procs, a, port_b, "uas_b_restarted")
    print(f"restarted uas_b after {restart_at:.1f} s")

    rc = uac.wait(run_time + a.duration + 40, watch=[kam, uas_a])
    s = sipp_stats(a.work, "uac")
    print(f"sipp uac: exit status {rc}; {sipp_summary(s)}")
    failed = s.get("FailedCall(C)", 0)
    ok = s.get("SuccessfulCall(C)", 0)
    if ok + failed != a.calls:
        raise Failure(f"sipp finished {ok + failed} of {a.calls} calls:\n{uac.tail()}")
    if failed > len(lost) + 3:
        raise Failure(f"{failed} calls failed, more than the {len(lost)} the dead instance "
                      f"held (+3): failover or probing did not work\n{kam.tail()}")

    # The survivors: every call they took ended with its BYE.
    time.sleep(1.0)  # the last BYEs' ladder lines
    for proc in (uas_a, uas_b2):
        invites, byes = calls_seen(proc.log)
        print(f"{proc.name}: {len(invites)} calls taken, {len(invites - byes)} without BYE")
        if invites - byes:
            raise Failure(f"{proc.name}: {len(invites - byes)} calls without BYE, e.g. "
                          f"{sorted(invites - byes)[:3]}")
        if not invites:
            raise Failure(f"{proc.name} took no call: the dispatcher did not "
                          f"{'put it back' if proc is uas_b2 else 'use it'}\n{kam.tail()}")
    for proc in (uas_a, uas_b2):
        rc = procs.stop(proc, signal.SIGINT)
        if rc != 0:
            raise Failure(f"{proc.name} exited with status {rc} on SIGINT:\n{proc.tail()}")
    stop_kamailio(procs, kam)


def sip_exchange(sock, message, dest, want, timeout=5.0):
    """Send `message` from `sock` to `dest` and return the first response whose status is
    in `want` (provisional ones are skipped)."""
    sock.sendto(message.encode(), dest)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65535)
        except socket.timeout:
            break
        text = data.decode(errors="replace")
        status = int(text.split(" ", 2)[1]) if text.startswith("SIP/2.0 ") else 0
        if status in want:
            return text
        if status >= 200:
            raise Failure(f"expected {want}, got:\n{text}")
    raise Failure(f"no {want} to:\n{message}")


def header(text, name):
    m = re.search(rf"^{name}:\s*(.*?)\r?$", text, re.MULTILINE | re.IGNORECASE)
    return m.group(1) if m else ""


def call_from_two_sockets(port, n):
    """One call: INVITE from socket a to the shared port; ACK and BYE from socket b to the
    Contact of the 200. Returns the Contact's port (which agent holds the dialog)."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    try:
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        call_id, tag = f"two-sockets-{n}-{os.getpid()}@127.0.0.1", f"t{n}"
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 30000 RTP/AVP 0\r\n")
        invite = (f"INVITE sip:uas@127.0.0.1:{port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP 127.0.0.1:{pa};branch=z9hG4bK-inv-{n}-{os.getpid()}\r\n"
                  f"From: <sip:tester@127.0.0.1>;tag={tag}\r\nTo: <sip:uas@127.0.0.1>\r\n"
                  f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
                  f"Contact: <sip:tester@127.0.0.1:{pb}>\r\nMax-Forwards: 70\r\n"
                  f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
        ok = sip_exchange(a, invite, ("127.0.0.1", port), {200})
        to = header(ok, "To")
        contact = re.search(r"<sip:[^@>]*@?([0-9.]+):([0-9]+)", header(ok, "Contact"))
        if not contact:
            raise Failure(f"200 without a usable Contact:\n{ok}")
        target = (contact.group(1), int(contact.group(2)))
        common = (f"From: <sip:tester@127.0.0.1>;tag={tag}\r\nTo: {to}\r\n"
                  f"Call-ID: {call_id}\r\nMax-Forwards: 70\r\n")
        ack = (f"ACK sip:uas@{target[0]}:{target[1]} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{pb};branch=z9hG4bK-ack-{n}-{os.getpid()}\r\n"
               f"{common}CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
        b.sendto(ack.encode(), target)
        bye = (f"BYE sip:uas@{target[0]}:{target[1]} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{pb};branch=z9hG4bK-bye-{n}-{os.getpid()}\r\n"
               f"{common}CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n")
        sip_exchange(b, bye, target, {200})
        return target[1]
    finally:
        a.close()
        b.close()


def case_reuseport(procs, a):
    port = free_port(span=3)  # the shared port, then each agent's own
    argv = [a.uas, "--bind", "127.0.0.1", "--port", str(port), "--transport", "udp",
            "--threads", "2", "--max-request-rate", "0", "--quiet"]
    uas = procs.start("examples/uas --threads 2", argv, os.path.join(a.work, "uas.log"),
                      cwd=a.work)
    for p in (port, port + 1, port + 2):
        wait_listening(uas, p, "udp")
    argv = sipp_argv(need("sipp"), a.work, "uac", "udp", free_port(),
                     ["-sn", "uac", f"127.0.0.1:{port}"],
                     ["-r", str(a.rate), "-m", str(a.calls), "-max_socket", "2000",
                      "-timeout", f"{a.timeout - 20}s", "-timeout_error"])
    argv[argv.index("u1")] = "un"  # a socket (source port) per call
    uac = procs.start("sipp uac", argv, os.path.join(a.work, "uac.log"), cwd=a.work)
    rc = uac.wait(a.calls / a.rate + 40, watch=[uas])
    s = sipp_stats(a.work, "uac")
    print(f"sipp uac (a source port per call): exit status {rc}; {sipp_summary(s)}")
    if rc != 0 or s.get("SuccessfulCall(C)") != a.calls or s.get("FailedCall(C)") != 0:
        raise Failure(f"not every call succeeded:\n{uac.tail()}\n{uas.tail()}")

    owners = [call_from_two_sockets(port, n) for n in range(20)]
    print(f"20 calls with ACK and BYE from a second socket, to the Contact: agents' ports "
          f"{sorted(set(owners))}")
    if set(owners) != {port + 1, port + 2}:
        raise Failure(f"the 20 calls did not reach both agents (Contacts {sorted(set(owners))})")

    rc = procs.stop(uas, signal.SIGINT)
    if rc != 0:
        raise Failure(f"examples/uas exited with status {rc} on SIGINT:\n{uas.tail()}")
    with open(uas.log, errors="replace") as f:
        taken = [int(n) for n in re.findall(r"^agent \d+ took (\d+) calls", f.read(), re.M)]
    print(f"calls per agent: {taken}")
    if len(taken) != 2 or min(taken) == 0 or sum(taken) != a.calls + 20:
        raise Failure(f"expected both agents to take calls, {a.calls + 20} in all; got {taken}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("case", choices=["dispatcher", "reuseport"])
    p.add_argument("--uas", required=True)
    p.add_argument("--work", required=True, help="scratch directory, emptied first")
    p.add_argument("--calls", type=int, default=600)
    p.add_argument("--rate", type=int, default=40)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--timeout", type=int, default=100)
    a = p.parse_args()
    a.work, a.uas = os.path.abspath(a.work), os.path.abspath(a.uas)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    raise_on_signals()
    deadline(a.timeout)
    try:
        if not os.access(a.uas, os.X_OK):
            raise Failure(f"--uas {a.uas}: not an executable (is examples/uas built?)")
        with Processes() as procs:
            {"dispatcher": case_dispatcher, "reuseport": case_reuseport}[a.case](procs, a)
    except Failure as e:
        print(f"FAIL: {a.case}: {e}\n(all output is in {a.work})", flush=True)
        return 1
    print(f"PASS: {a.case} (uas {a.uas})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
