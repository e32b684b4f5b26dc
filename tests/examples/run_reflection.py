#!/usr/bin/env python3
"""Reflection through spoofed INVITEs (hostile-traffic item 3), against examples/uas.

    run_reflection.py <uas> <uac> <scratch dir>

The attack: INVITEs whose source address (and Via) name a victim that never answers,
as an attacker who forges the source address would send them. Here each victim is a UDP
socket on its own loopback address (127.0.0.11 ...): it sends the INVITEs itself, never
replies, and counts every byte that examples/uas sends it.

  1. single:  one victim sends one small INVITE (no SDP, about 230 bytes).
  2. flood:   four victims send 250 INVITEs/s together for 6 s (1,500 INVITEs).
  3. Meanwhile a legitimate caller (examples/uac from 127.0.0.1) places calls during the
     flood: every one must connect.

Then the script keeps counting until 64 s (64*T1, the life of a 2xx that is never ACKed
and of its BYE) plus a margin have passed since each victim's first INVITE, and asserts
for every victim: bytes the uas sent it <= 3 x bytes it sent the uas. The uas runs with
its defaults (no flag weakens a defence). Bounded: about 75 s, every process killed.
"""
import os
import select
import socket
import subprocess
import sys
import time

import uas_process

RATIO_LIMIT = 3.0
WINDOW_S = 64.0 + 4.0  # 64*T1 and a margin for the last BYE's Timer F


def fail(msg, log=None):
    print("FAIL: " + msg)
    if log and os.path.exists(log):
        print("--- uas output (tail)")
        with open(log, errors="replace") as f:
            print("".join(f.readlines()[-40:]))
    sys.exit(1)


def invite(victim, port, n, tag):
    host, vport = victim.getsockname()
    call_id = "refl-%s-%d@%s" % (tag, n, host)
    return (
        "INVITE sip:uas@127.0.0.1:%d SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-refl-%s-%d\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:a@%s>;tag=f%s%d\r\n"
        "To: <sip:uas@127.0.0.1>\r\n"
        "Call-ID: %s\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:a@%s:%d>\r\n"
        "Content-Length: 0\r\n\r\n" % (port, host, vport, tag, n, host, tag, n, call_id, host, vport)
    ).encode()


def main():
    uas, uac, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "uas.out")
    procs = []
    try:
        p, port = uas_process.start(uas, log)
        procs.append(p)
        if port is None:
            fail("uas did not listen within 10 s", log)
        uas_addr = ("127.0.0.1", port)

        def victim(addr):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
            s.bind((addr, 0))
            s.setblocking(False)
            return {"sock": s, "sent": 0, "received": 0, "first": None, "name": addr}

        victims = {"single": victim("127.0.0.11")}
        flooders = [victim("127.0.0.%d" % i) for i in range(12, 16)]
        everyone = [victims["single"]] + flooders

        def drain():
            ready, _, _ = select.select([v["sock"] for v in everyone], [], [], 0)
            for s in ready:
                v = next(x for x in everyone if x["sock"] is s)
                while True:
                    try:
                        data = s.recv(70000)
                    except BlockingIOError:
                        break
                    v["received"] += len(data)

        def send(v, data):
            v["sock"].sendto(data, uas_addr)
            v["sent"] += len(data)
            if v["first"] is None:
                v["first"] = time.time()

        # 1. one spoofed INVITE
        send(victims["single"], invite(victims["single"]["sock"], port, 0, "single"))

        # 2. the flood, 250 INVITEs/s over four victims for 6 s, with legitimate calls
        legit = []
        flood_start = time.time()
        n = 0
        next_call = flood_start + 0.5
        while time.time() - flood_start < 6.0:
            target = flood_start + n / 250.0
            now = time.time()
            if now < target:
                drain()
                time.sleep(min(0.002, target - now))
                continue
            v = flooders[n % len(flooders)]
            send(v, invite(v["sock"], port, n, "flood"))
            n += 1
            if now >= next_call and len(legit) < 4:
                legit.append(subprocess.Popen(
                    [uac, "--call", "sip:uas@127.0.0.1:%d" % port, "--duration", "0",
                     "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL))
                procs.append(legit[-1])
                next_call = now + 1.2
        print("flood: %d INVITEs from %d spoofed sources in %.1f s" %
              (n, len(flooders), time.time() - flood_start))

        # 3. legitimate calls during the flood
        for i, c in enumerate(legit):
            try:
                out, _ = c.communicate(timeout=40)
            except subprocess.TimeoutExpired:
                fail("legitimate call %d did not end within 40 s" % i, log)
            if c.returncode != 0:
                fail("legitimate call %d failed (exit %d):\n%s" %
                     (i, c.returncode, out.decode(errors="replace")), log)
        print("legitimate calls during the flood: %d connected" % len(legit))

        # 4. count until every victim's window has passed
        end = max(v["first"] for v in everyone) + WINDOW_S
        while time.time() < end:
            drain()
            time.sleep(0.05)
        drain()
        if p.poll() is not None:
            fail("uas died", log)

        worst = 0.0
        for v in everyone:
            ratio = v["received"] / v["sent"]
            worst = max(worst, ratio)
            print("%s: sent %d bytes, got back %d bytes: %.2fx" %
                  (v["name"], v["sent"], v["received"], ratio))
        if worst > RATIO_LIMIT:
            fail("a spoofed source got %.2fx what it sent (limit %.1fx)" % (worst, RATIO_LIMIT), log)
        print("PASS: worst amplification %.2fx over %.0f s" % (worst, WINDOW_S))
    finally:
        for p in procs:
            uas_process.stop(p)


if __name__ == "__main__":
    main()
