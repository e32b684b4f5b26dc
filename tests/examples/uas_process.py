"""examples/uas as a child process of a test driver (run_reflection.py,
run_big_datagrams.py): started on a free UDP port of 127.0.0.1 with its defaults, its
port read from its "listening on" line, stopped (TERM, then KILL) on the way out."""
import re
import subprocess
import time


def start(uas, log, extra=()):
    """(process, port), or (process, None) when it did not listen within 10 s."""
    with open(log, "w") as out:
        p = subprocess.Popen([uas, "--bind", "127.0.0.1", "--port", "0", "--quiet", *extra],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline and p.poll() is None:
        with open(log, errors="replace") as f:
            m = re.search(r"listening on udp 127\.0\.0\.1:(\d+)", f.read())
        if m:
            return p, int(m.group(1))
        time.sleep(0.05)
    return p, None


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            p.kill()
