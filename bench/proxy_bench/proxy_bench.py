#!/usr/bin/env python3
"""Proxy benchmark: sipp uac -> proxy -> sipp uas (UDP, loopback) at rising call rates,
through examples/proxy (stateful, --record-route) and, in the same run, through Kamailio
configured as a stateful record-routing proxy (bench/proxy_bench/kamailio.cfg: tm + rr +
sl, no database). Run on demand; never part of the build or of CTest.

usage: proxy_bench.py [--rates 100,200,...] [--seconds S] [--max-retrans PCT]
                      [--kamailio-workers N] [--kamailio-shm MB] [--work DIR]
                      [--no-kamailio | --no-sipkit] PROXY_BINARY

Each call is tests/interop/proxy_uac.xml against tests/interop/uas_record_route.xml:
INVITE (Request-URI = the sipp uas) through the proxy, 100/180/200 back, ACK and BYE by
the Record-Route route set through the proxy, 200 back: eight messages relayed per call
(the proxy's own 100 Trying aside). A rate is "held" when a step of
rate*seconds calls ends with every call successful, none failed, sipp's cumulative call
rate within 5% of the rate asked for, and retransmissions under --max-retrans percent of
the calls. The rates rise until one is not held. "CPU" is the proxy's user+system time
(every process of its process group: Kamailio runs several) over the step's wall time,
read from /proc; CPU per call compares the proxies even where the single-threaded sipp
uac, not a proxy, is what gives out first.
Exit status: 0 when every proxy held some rate; 1 otherwise; 2 for bad usage.
"""
import argparse
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP = os.path.join(HERE, "..", "..", "tests", "interop")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, INTEROP)
from peers import (Failure, Processes, climb, free_port, group_cpu_seconds, judge_step,  # noqa
                   need, print_results, print_step, raise_on_signals, sipp_argv, sipp_stats,
                   wait_listening)


def start_proxy(procs, a, target, work, port):
    if target["kind"] == "sipkit":
        argv = [target["binary"], "--bind", "127.0.0.1", "--port", str(port), "--quiet",
                "--record-route", "--max-request-rate", "0"]
        proc = procs.start(target["name"], argv, os.path.join(work, "proxy.log"), cwd=work)
    else:
        run = os.path.join(work, "kamailio-run")
        os.makedirs(run)
        argv = [need("kamailio"), "-DD", "-E", "-f", os.path.join(HERE, "kamailio.cfg"),
                "-A", f"SIP_PORT={port}", "-A", f"WORKERS={a.kamailio_workers}",
                "-Y", run, "-P", os.path.join(run, "kamailio.pid"), "-w", run,
                # tm keeps every transaction ~5 s after it ends (wait timer): at a few
                # thousand calls/s that is tens of thousands of cells of ~8 KB each, and a
                # smaller pool fails with "out of mem" (500s) long before the CPU does.
                "-m", str(a.kamailio_shm), "-M", "16"]
        proc = procs.start(target["name"], argv, os.path.join(work, "proxy.log"),
                           death_signal=signal.SIGTERM)
    wait_listening(proc, port, "udp")
    time.sleep(0.3)  # Kamailio forks its workers after binding
    return proc


def step(a, target, rate, again):
    """One rate step against a fresh proxy and a fresh sipp uas. Returns a result dict."""
    calls = rate * a.seconds
    name = target["name"].replace(" ", "_")
    work = os.path.join(a.work, f"{name}_{rate}_again" if again else f"{name}_{rate}")
    os.makedirs(work)
    pport, uport = free_port(), free_port()
    sipp = need("sipp")
    with Processes(verbose=a.verbose) as procs:
        # The built-in uas does not copy Record-Route into its 2xx (RFC 3261 12.1.1):
        # uas_record_route.xml does, so that ACK and BYE take the route set.
        uas = procs.start("sipp uas", sipp_argv(sipp, work, "uas", "udp", uport,
                                                ["-sf", os.path.join(INTEROP,
                                                                     "uas_record_route.xml")],
                                                []),
                          os.path.join(work, "uas.log"), cwd=work)
        wait_listening(uas, uport, "udp")
        proxy = start_proxy(procs, a, target, work, pport)
        pgid = proxy.popen.pid  # started in a session of its own: pgid == pid
        cpu0, t0 = group_cpu_seconds(pgid), time.monotonic()
        limit = a.seconds * 2 + 10
        argv = sipp_argv(sipp, work, "uac", "udp", free_port(),
                         ["-sf", os.path.join(INTEROP, "proxy_uac.xml"), f"127.0.0.1:{pport}",
                          "-key", "uas_uri", f"sip:uas@127.0.0.1:{uport}"],
                         ["-m", str(calls), "-r", str(rate), "-d", "0",
                          "-timeout", f"{limit}s"])
        uac = procs.start("sipp uac", argv, os.path.join(work, "uac.log"), cwd=work)
        try:
            rc = uac.wait(limit, watch=[proxy, uas])
        except Failure:
            if not proxy.alive():
                raise  # the proxy crashed: that is no rate limit
            procs.stop(uac, signal.SIGINT)
            rc = f"none, stopped after {limit} s"
        cpu = (group_cpu_seconds(pgid) - cpu0) / (time.monotonic() - t0)
    r = judge_step(sipp_stats(work, "uac"), rate, calls, rc, cpu, a.max_retrans)
    print_step(target["name"], r)
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("proxy", metavar="PROXY_BINARY", help="examples/proxy in a build directory")
    p.add_argument("--rates", default="100,200,400,800,1200,1600,2400,3200,4000,4800,6400",
                   help="comma-separated calls/s, tried in order (default: %(default)s)")
    p.add_argument("--seconds", type=int, default=5, help="length of each step")
    p.add_argument("--max-retrans", type=float, default=1.0,
                   help="retransmissions, in %% of calls, under which a rate is held")
    p.add_argument("--kamailio-workers", type=int, default=1,
                   help="Kamailio's UDP workers (children); 1 = one core, like the proxy")
    p.add_argument("--kamailio-shm", type=int, default=1024,
                   help="Kamailio's shared memory in MB (-m; default %(default)s)")
    p.add_argument("--no-kamailio", action="store_true", help="measure examples/proxy only")
    p.add_argument("--no-sipkit", action="store_true", help="measure Kamailio only")
    p.add_argument("--work", default="proxy_bench.work", help="scratch dir, emptied first")
    p.add_argument("-v", "--verbose", action="store_true", help="print every command")
    a = p.parse_args()
    try:
        rates = [int(x) for x in a.rates.split(",")]
    except ValueError:
        p.error(f"--rates {a.rates}: not a list of integers")
    if not os.access(a.proxy, os.X_OK):
        p.error(f"{a.proxy}: not an executable (build the proxy target first)")
    a.work = os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    raise_on_signals()

    targets = []
    if not a.no_sipkit:
        targets.append({"name": "sipkit proxy", "kind": "sipkit",
                        "binary": os.path.abspath(a.proxy)})
    if not a.no_kamailio:
        targets.append({"name": "kamailio", "kind": "kamailio", "binary": None})
    try:
        climb(targets, rates, lambda t, rate, again: step(a, t, rate, again))
    except Failure as e:
        print(f"proxy_bench: FAIL: {e}\n(output in {a.work})")
        return 1
    except KeyboardInterrupt:
        return 1
    return print_results(targets, what="proxy")

if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
