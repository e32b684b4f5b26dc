#!/usr/bin/env python3
"""Memory pinned by big datagrams (hostile-traffic item 2), against examples/uas.

    run_big_datagrams.py <uas> <scratch dir> [requests]

The attack: OPTIONS requests with 31 KB bodies over UDP, as fast as the uas answers them.
Each one creates a non-INVITE server transaction that RFC 3261 keeps for Timer J (32 s),
and without a byte budget each kept its whole request: 50,000 of them took the uas from
11 MB to 979 MB. The requests come from 40 loopback addresses, so that the per-source
request rate limit (another defence) does not hide what this test is about.

The uas runs with its defaults: the transaction layer's byte budget for held messages is
64 MiB. The script sends 6,000 requests (186 MB of bodies, three times the budget) and
asserts that the uas's resident memory never grows by more than the budget plus 48 MiB
of slack (socket buffers, allocator), that every request got an answer (200, or a 503
with Retry-After once the budget is full), and that a plain OPTIONS is still answered
200 after the held transactions have expired (Timer J, 32 s). Bounded: about 50 s.
"""
import os
import re
import socket
import sys
import time

import uas_process

BUDGET = 64 * 1024 * 1024
SLACK = 48 * 1024 * 1024
BODY = 31 * 1024


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1)) * 1024


def options(host, port, sport, n, body):
    head = (
        "OPTIONS sip:uas@127.0.0.1:%d SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-big-%d;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:big@%s>;tag=b%d\r\n"
        "To: <sip:uas@127.0.0.1>\r\n"
        "Call-ID: big-%d@%s\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: %d\r\n\r\n" % (port, host, sport, n, host, n, n, host, len(body)))
    return head.encode() + body


def main():
    uas, work = sys.argv[1], sys.argv[2]
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 6000
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "uas.out")
    p, port = uas_process.start(uas, log)
    try:
        if port is None:
            print("FAIL: uas did not start")
            sys.exit(1)
        base = rss(p.pid)

        socks = []
        for i in range(40):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            s.bind(("127.0.0.%d" % (20 + i), 0))
            s.settimeout(5)
            socks.append(s)
        body = b"x" * BODY
        codes = {}
        peak = base
        # In windows of 40 (one per source), each window answered before the next: the
        # uas is never pushed past what its socket buffer holds, so nothing is lost on
        # the way and every request must be answered.
        for n0 in range(0, total, len(socks)):
            for i, s in enumerate(socks):
                host, sport = s.getsockname()
                s.sendto(options(host, port, sport, n0 + i, body), ("127.0.0.1", port))
            for s in socks:
                try:
                    data = s.recv(70000)
                except socket.timeout:
                    print("FAIL: request unanswered within 5 s (uas alive: %s)" % (p.poll() is None))
                    sys.exit(1)
                code = int(data.split(b" ", 2)[1])
                codes[code] = codes.get(code, 0) + 1
                if code == 503 and b"\r\nRetry-After:" not in data:
                    print("FAIL: 503 without Retry-After")
                    sys.exit(1)
            if n0 % 400 == 0:
                peak = max(peak, rss(p.pid))
        peak = max(peak, rss(p.pid))
        grew = peak - base
        print("%d OPTIONS with %d-byte bodies: answers %s; RSS %.1f MB -> peak %.1f MB (+%.1f MB)"
              % (total, BODY, codes, base / 1e6, peak / 1e6, grew / 1e6))
        if sum(codes.values()) != total or set(codes) - {200, 503}:
            print("FAIL: expected a 200 or a 503 for every request")
            sys.exit(1)
        if grew > BUDGET + SLACK:
            print("FAIL: RSS grew by %.1f MB, more than the 64 MiB budget + 48 MiB" % (grew / 1e6))
            sys.exit(1)
        # Timer J (32 s) lets the held transactions go; then a plain OPTIONS gets a 200.
        time.sleep(34)
        s = socks[0]
        host, sport = s.getsockname()
        s.sendto(options(host, port, sport, total + 1, b""), ("127.0.0.1", port))
        data = s.recv(70000)
        if not data.startswith(b"SIP/2.0 200"):
            print("FAIL: after Timer J a plain OPTIONS got: %r" % data[:40])
            sys.exit(1)
        print("PASS: after Timer J: RSS %.1f MB, a plain OPTIONS is answered 200" % (rss(p.pid) / 1e6))
    finally:
        uas_process.stop(p)


if __name__ == "__main__":
    main()
