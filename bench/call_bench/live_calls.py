#!/usr/bin/env python3
"""Memory per established call held by examples/uas: RSS delta / live calls.

usage: live_calls.py --call-load BINARY [--calls 5000] [--rate 500] [--hold 60]
                     [--work DIR] [-v] UAS_BINARY

examples/uas answers `--calls` calls placed by bench/call_load at `--rate` calls/s, each
held `--hold` seconds before the BYE. Its VmRSS (/proc/<pid>/status) is read
  - before: after a warm-up of 200 short calls and 35 s more (their transactions gone),
  - live:   once every call is established and 35 s have passed since the last INVITE,
            so that no INVITE transaction lingers (RFC 6026 Timer L, 32 s): what remains
            is the dialogs and calls themselves,
  - after:  when every call has ended, and again 35 s later (BYE transactions gone).
Bytes per call = (live - before) / calls. RSS counts pages touched, so the figure includes
allocator slack and the hash tables' growth; tests/ua/call_memory_test counts the heap
bytes of one call exactly. Exit status 0 when every call completed.
"""
import argparse
import os
import re
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "interop"))
from peers import Failure, Processes, free_port, raise_on_signals, wait_listening  # noqa


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def last_progress(log):
    """call_load's last --progress line as a dict of ints."""
    try:
        with open(log, errors="replace") as f:
            lines = [l for l in f if l.startswith("t=")]
    except OSError:
        return {}
    if not lines:
        return {}
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("uas", metavar="UAS_BINARY")
    p.add_argument("--call-load", required=True)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--hold", type=int, default=60, help="seconds each call is held")
    p.add_argument("--work", default="live_calls.work")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    linger = 35  # Timer L / J (32 s) and a margin
    if a.hold <= linger + 5:
        p.error(f"--hold must exceed {linger + 5} s: the live reading waits {linger} s")
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    raise_on_signals()
    port = free_port()
    with Processes(verbose=a.verbose) as procs:
        uas = procs.start("sipkit uas", [os.path.abspath(a.uas), "--bind", "127.0.0.1", "--port",
                                         str(port), "--transport", "udp", "--quiet",
                                         "--max-request-rate", "0"],
                          os.path.join(work, "uas.log"), cwd=work)
        wait_listening(uas, port, "udp")
        pid = uas.popen.pid
        started = rss_kib(pid)
        warm = procs.start("warm-up", [os.path.abspath(a.call_load), "--port", str(port),
                                       "--rate", "200", "--calls", "200"],
                           os.path.join(work, "warmup.log"), cwd=work)
        if warm.wait(60, watch=[uas]) != 0:
            raise Failure("the warm-up calls did not all complete")
        print(f"warm-up done; waiting {linger} s for its transactions to end", flush=True)
        time.sleep(linger)
        before = rss_kib(pid)
        log = os.path.join(work, "call_load.log")
        client = procs.start("call_load", [os.path.abspath(a.call_load), "--port", str(port),
                                           "--rate", str(a.rate), "--calls", str(a.calls),
                                           "--hold-ms", str(a.hold * 1000), "--progress"],
                             log, cwd=work)
        ramp = a.calls / a.rate
        end = time.monotonic() + ramp + linger
        while time.monotonic() < end:
            if not client.alive() or not uas.alive():
                raise Failure("call_load or the uas ended before the calls were live")
            time.sleep(0.5)
        prog = last_progress(log)
        live_calls = prog.get("live", 0)
        live = rss_kib(pid)
        print(f"{live_calls} live calls (call_load t={prog.get('t')} s)", flush=True)
        rc = client.wait(a.hold + ramp + 60, watch=[uas])
        ended = rss_kib(pid)
        time.sleep(linger)
        after = rss_kib(pid)
    with open(log) as f:
        result = [l for l in f if l.startswith("RESULT ")]
    print(result[-1].strip() if result else "call_load: no RESULT line")
    per_call = (live - before) * 1024 / max(live_calls, 1)
    print(f"examples/uas VmRSS: at start {started} KiB, before the calls {before} KiB, "
          f"with {live_calls} live calls {live} KiB, when they ended {ended} KiB, "
          f"{linger} s later {after} KiB")
    print(f"memory per established call: {per_call:.0f} bytes (RSS delta / live calls)")
    if live_calls != a.calls:
        print(f"live_calls: only {live_calls} of {a.calls} calls were live at the reading")
        return 1
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        sys.exit(main())
    except Failure as e:
        print(f"live_calls: FAIL: {e}")
        sys.exit(1)
