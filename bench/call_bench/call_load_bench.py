#!/usr/bin/env python3
"""Sustained call rate: bench/call_load (not sipp) drives examples/uas and, in the same
run, sipp's built-in `uas` as the reference, each target pinned to one core and the client
to the other, for `--seconds` (default 60) at each rate, rising until one is not held.

usage: call_load_bench.py --call-load BINARY [--rates 4000,6000,...] [--seconds S]
                          [--max-retrans PCT] [--target-cpu N] [--client-cpu N]
                          [--nice N] [--no-reference] [--uas-arg ARG]... [--work DIR]
                          [--syscalls] [-v] (UAS_BINARY | --reference-only)

Why not sipp's uac: one sipp uac process gives out near 4,000-5,600 calls/s on a small
machine, before either target does. call_load (bench/call_bench/call_load.cpp) plays the
same scenario (INVITE with SDP, ACK, BYE; RFC 3261 retransmissions of INVITE and BYE at
T1 doubling) from message templates with sendmmsg/recvmmsg, at a fraction of sipp's CPU.

The "held" rule is call_bench's (tests/interop/peers.py judge_step): every call of the step
completed, none failed, retransmissions (INVITE and BYE resent by the client) under
--max-retrans percent of the calls, and the rate at which calls were started within 5% of
the rate asked for. "CPU" is the target's user+system time over the step's wall time;
CPU per call = that time over the calls. The client's own CPU is printed too (a step
whose client used ~100% of its core says nothing about the target), and the datagrams the
kernel dropped at each side's socket (a full receive buffer: that side fell behind).
With --syscalls, `perf stat` counts the target's system calls (tracepoints
syscalls:sys_enter_*), page faults and context switches over the step and prints them per
completed call: exact counts, unlike CPU on a shared machine (needs perf and root, or
kernel.perf_event_paranoid <= -1).
Exit status: 0 when every target held some rate; 1 otherwise; 2 for bad usage.
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
from peers import (Failure, Processes, climb, free_port, group_cpu_seconds, judge_step,  # noqa
                   need, print_results, print_step, raise_on_signals, sipp_argv,
                   wait_listening)


def read_result(log):
    """call_load's RESULT line as {sipp statistics name: number}."""
    with open(log, errors="replace") as f:
        lines = [l for l in f if l.startswith("RESULT ")]
    if not lines:
        raise Failure(f"call_load wrote no RESULT line (see {log})")
    stats = {}
    for key, value in re.findall(r"(\S+)=(\S+)", lines[-1]):
        stats[key] = float(value) if "." in value else int(value)
    return stats


def socket_drops(port):
    """Datagrams dropped at the UDP socket bound to 127.0.0.1:`port` (its receive buffer
    was full): the last column of /proc/net/udp; None when not found."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == want:
                return int(fields[-1])
    return None


def prioritise(a, pid):
    """`--nice` for a process that leads its own session: with autogroup scheduling
    (kernel.sched_autogroup_enabled, the default on desktop and many VM kernels) CPU is
    shared between sessions first, so a process's own nice value only ranks it within its
    session; the session's autogroup nice (/proc/<pid>/autogroup) ranks it against the
    builds of other sessions. Needs CAP_SYS_NICE for negative values."""
    if not a.nice:
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(a.nice))
    except OSError as e:
        print(f"call_load_bench: cannot set the autogroup nice of {pid}: {e}", flush=True)


# The system calls a UDP server makes per datagram or per wake-up, sipkit's and sipp's.
SYSCALLS = ("sendto sendmmsg sendmsg recvfrom recvmmsg recvmsg epoll_wait epoll_pwait epoll_ctl "
            "timerfd_settime futex poll ppoll read write brk mmap munmap madvise").split()


def start_syscall_count(procs, work, pid):
    events = ["raw_syscalls:sys_enter", "page-faults", "context-switches"]
    events += ["syscalls:sys_enter_" + s for s in SYSCALLS]
    out = os.path.join(work, "perf_stat.csv")
    return procs.start("perf stat", [need("perf"), "stat", "-x", ",", "-o", out, "-e",
                                     ",".join(events), "-p", str(pid)],
                       os.path.join(work, "perf_stat.log")), out


def print_syscalls(path, calls):
    """perf stat's CSV counts per completed call, the non-zero ones."""
    try:
        with open(path) as f:
            rows = [l.strip().split(",") for l in f]
    except OSError as e:
        print(f"  {'':<14} no system call counts: {e}", flush=True)
        return
    parts = []
    for row in rows:
        if len(row) > 2 and row[0].replace(".", "", 1).isdigit() and float(row[0]) > 0:
            name = row[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter",
                                                                      "all system calls")
            parts.append(f"{name} {float(row[0]) / max(calls, 1):.3f}")
    print(f"  {'':<14} per call: " + ", ".join(parts), flush=True)


def step(a, target, rate, again):
    calls = rate * a.seconds
    name = target["name"].replace(" ", "_")
    work = os.path.join(a.work, f"{name}_{rate}_again" if again else f"{name}_{rate}")
    os.makedirs(work)
    port = free_port()
    prio = ["nice", "-n", str(a.nice)] if a.nice else []
    pin_target = prio + ["taskset", "-c", str(a.target_cpu)]
    pin_client = prio + ["taskset", "-c", str(a.client_cpu)]
    with Processes(verbose=a.verbose) as procs:
        if target["binary"]:
            argv = [target["binary"], "--bind", "127.0.0.1", "--port", str(port),
                    "--transport", "udp", "--quiet", "--max-request-rate", "0",
                    *a.uas_arg]
        else:
            # The socket buffer examples/uas sets (transport_config::udp_receive_buffer):
            # sipp's default of 64 KiB drops datagrams in bursts at a few thousand calls/s.
            argv = sipp_argv(need("sipp"), work, "uas", "udp", port, ["-sn", "uas"],
                             ["-buff_size", str(4 << 20)])
        uas = procs.start(target["name"], pin_target + argv, os.path.join(work, "uas.log"),
                          cwd=work)
        prioritise(a, uas.popen.pid)
        wait_listening(uas, port, "udp")
        counter = start_syscall_count(procs, work, uas.popen.pid) if a.syscalls else None
        cpu0, t0 = group_cpu_seconds(uas.popen.pid), time.monotonic()
        limit = a.seconds * 2 + 45  # a held step ends in `seconds`; Timer B is 32 s
        argv = pin_client + [a.call_load, "--port", str(port), "--rate", str(rate),
                             "--calls", str(calls), "--max-wait", "35", "--progress"]
        log = os.path.join(work, "call_load.log")
        client = procs.start("call_load", argv, log, cwd=work)
        prioritise(a, client.popen.pid)
        try:
            rc = client.wait(limit, watch=[uas])
        except Failure:
            if not uas.alive():
                raise
            procs.stop(client, signal.SIGINT)
            rc = f"none, stopped after {limit} s"
        wall = time.monotonic() - t0
        cpu_s = group_cpu_seconds(uas.popen.pid) - cpu0
        target_drops = socket_drops(port)
        if counter:
            procs.stop(counter[0], signal.SIGINT)  # perf stat writes its counts on SIGINT
    stats = read_result(log)
    r = judge_step(stats, rate, calls, rc, cpu_s / wall, a.max_retrans)
    # CPU per call from the calls made, not from the step's wall time: the step may run
    # past `seconds` while the last calls end.
    r["us_per_call"] = 1e6 * cpu_s / max(stats.get("SuccessfulCall(C)", 0), 1)
    r["ok_retrans"] = stats.get("OkRetransReceived", 0)
    r["client_cpu"] = stats.get("ClientCpu", 0.0) / wall
    print_step(target["name"], r, width=14)
    print(f"  {'':<14} 2xx resent by the target: {r['ok_retrans']}; datagrams dropped at "
          f"the target's socket {target_drops}, at the client's "
          f"{stats.get('ClientDrops')}; BYEs from the target {stats.get('ByeReceived')}; "
          f"step wall time {wall:.1f} s", flush=True)
    if counter:
        print_syscalls(counter[1], stats.get("SuccessfulCall(C)", 0))
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("uas", metavar="UAS_BINARY", nargs="?")
    p.add_argument("--call-load", required=True, help="bench/call_load in a build directory")
    p.add_argument("--rates", default="4000,6000,8000,10000,12000")
    p.add_argument("--seconds", type=int, default=60, help="length of each step")
    p.add_argument("--max-retrans", type=float, default=1.0)
    p.add_argument("--target-cpu", type=int, default=0, help="core the target is pinned to")
    p.add_argument("--client-cpu", type=int, default=1, help="core call_load is pinned to")
    p.add_argument("--nice", type=int, default=0,
                   help="run target and client under `nice -n N`, their sessions' autogroups "
                        "too (e.g. -20 as root, so that builds sharing the cores take little "
                        "of theirs)")
    p.add_argument("--reference-only", action="store_true", help="sipp's uas only")
    p.add_argument("--uas-arg", action="append", default=[],
                   help="one more argument for examples/uas (repeat the option for each)")
    p.add_argument("--no-reference", action="store_true",
                   help="examples/uas only (e.g. to extend a run past its highest rate)")
    p.add_argument("--work", default="call_load_bench.work", help="scratch dir, emptied first")
    p.add_argument("--syscalls", action="store_true",
                   help="count the target's system calls per call with perf stat")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    if not a.uas and not a.reference_only:
        p.error("UAS_BINARY is required (or --reference-only)")
    try:
        rates = [int(x) for x in a.rates.split(",")]
    except ValueError:
        p.error(f"--rates {a.rates}: not a list of integers")
    need("taskset")
    a.call_load = os.path.abspath(a.call_load)
    a.work = os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    raise_on_signals()
    targets = []
    if not a.reference_only:
        targets.append({"name": "sipkit uas", "binary": os.path.abspath(a.uas)})
    if not a.no_reference:
        targets.append({"name": "sipp uas", "binary": None})
    try:
        climb(targets, rates, lambda t, rate, again: step(a, t, rate, again))
    except Failure as e:
        print(f"call_load_bench: FAIL: {e}\n(output in {a.work})")
        return 1
    except KeyboardInterrupt:
        return 1
    return print_results(targets, width=14)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
