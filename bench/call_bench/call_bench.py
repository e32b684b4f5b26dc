#!/usr/bin/env python3
"""Call-rate benchmark: sipp's built-in `uac` scenario at rising call rates against
examples/uas (UDP) and, in the same run, against sipp's own built-in `uas` as the reference.

usage: call_bench.py [--rates 100,200,...] [--seconds S] [--max-retrans PCT]
                     [--instances 1,2] [--baseline UAS_BINARY] [--cost BINARY[,BINARY]]
                     [--uac-cost BINARY[,BINARY]] [--target-cpu N --client-cpu M]
                     [--repeat N] [--work DIR] (UAS_BINARY | --reference-only)

A rate is "held" when a step of rate*seconds calls ends with every call successful, none
failed, sipp's cumulative call rate within 5% of the rate asked for, and retransmissions
under --max-retrans percent of the calls (sipp retransmits INVITE and BYE after 500 ms
without an answer: the target fell behind). The rates rise until one is not held. The
numbers are the client's view (sipp uac's -trace_stat file); "CPU" is the target's
user+system time over the step's wall time, and CPU per call compares the targets even
when the single-threaded sipp uac, not a target, is what gives out first.
--instances N[,M...]: examples/uas with --threads N for each value (N agents sharing the
port with SO_REUSEPORT, README "Scaling out"); with more than one agent sipp's uac uses a
socket per call (-t un), so that the kernel spreads the calls over the agents (the sipp
reference keeps its one socket). CPU is then the sum over the agents' threads.
--baseline: a second examples/uas (another build, e.g. main's) measured in the same run.
--cost: bench/uas_call_cost of each build given, run first: heap allocations, bytes,
grammar runs and thread CPU per call of an in-process UAS (no sipp; see its header).
--uac-cost: the same with bench/uac_call_cost (an in-process UAC placing the calls).
--target-cpu/--client-cpu: pin each target to one core and sipp's uac to another
(`taskset`), so that a target's CPU per call is not spread over cores it shares with
the client. --repeat N: the whole climb N times; after the usual table, CPU per call
of each target against the reference at every rate both held in the same run, per run
and the median of the runs (the comparison at the same rate; the table's ratio compares
each target's highest held rate, which may differ).
Exit status: 0 when every target held some rate; 1 when UAS_BINARY is missing (the sipp
reference still runs) or a target held none; 2 for bad usage.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

# The process, port, sipp-statistics and rate-step helpers are the interop harness's.
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "interop"))
from peers import (Failure, Processes, climb, free_port, group_cpu_seconds, judge_step,  # noqa
                   need, print_results, print_step, raise_on_signals, sipp_argv, sipp_stats,
                   wait_listening)


def step(a, target, rate, again):
    """One rate step against a fresh target (an overloaded step leaves no backlog behind
    for the next). Returns a result dict; never raises for a merely slow target."""
    calls = rate * a.seconds
    name = target["name"].replace(" ", "_") + target.get("run_suffix", "")
    work = os.path.join(a.work, f"{name}_{rate}_again" if again else f"{name}_{rate}")
    os.makedirs(work)
    agents = target.get("agents", 1)
    port = free_port(span=1 if agents == 1 else agents + 1)  # shared port + each agent's
    sipp = need("sipp")
    pin_target = ["taskset", "-c", str(a.target_cpu)] if a.target_cpu is not None else []
    pin_client = ["taskset", "-c", str(a.client_cpu)] if a.client_cpu is not None else []
    with Processes(verbose=a.verbose) as procs:
        if target["binary"]:
            argv = [target["binary"], "--bind", "127.0.0.1", "--port", str(port),
                    "--transport", "udp", "--quiet",
                    # one sipp from one address: past the per-source rate limit (a flood
                    # defence), off as for any load test from one address
                    "--max-request-rate", "0"]
            if agents > 1:
                argv += ["--threads", str(agents)]
        else:
            argv = sipp_argv(sipp, work, "uas", "udp", port, ["-sn", "uas"], [])
        uas = procs.start(target["name"], pin_target + argv, os.path.join(work, "uas.log"), cwd=work)
        wait_listening(uas, port, "udp")
        cpu0, t0 = group_cpu_seconds(uas.popen.pid), time.monotonic()
        # A held step ends about `seconds` after it starts. One running much longer has
        # calls waiting on retransmissions (up to Timer B, 32 s) and is cut short: sipp
        # writes its statistics on SIGINT. (-timeout alone lets sipp wait for open calls.)
        limit = a.seconds * 2 + 10
        argv = sipp_argv(sipp, work, "uac", "udp", free_port(),
                         ["-sn", "uac", f"127.0.0.1:{port}"],
                         ["-m", str(calls), "-r", str(rate), "-timeout", f"{limit}s"])
        if agents > 1:  # a socket per call: the kernel spreads the calls over the agents
            argv[argv.index("u1")] = "un"
            argv += ["-max_socket", "15000"]  # below RLIMIT_NOFILE
        uac = procs.start("sipp uac", pin_client + argv, os.path.join(work, "uac.log"), cwd=work)
        try:
            rc = uac.wait(limit, watch=[uas])
        except Failure:
            if not uas.alive():
                raise  # the target crashed: that is no rate limit
            procs.stop(uac, signal.SIGINT)
            rc = f"none, stopped after {limit} s"
        cpu = (group_cpu_seconds(uas.popen.pid) - cpu0) / (time.monotonic() - t0)
    r = judge_step(sipp_stats(work, "uac"), rate, calls, rc, cpu, a.max_retrans)
    print_step(target["name"], r, width=14)
    target.setdefault("by_rate", {})[rate] = r  # a repeated step replaces the cut-short one
    return r


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def print_same_rate(runs, rates):
    """CPU per call of each target against the reference (the last target) at every rate
    both held in the same run: per run, and the median over the runs."""
    print("\nCPU per call against the reference at the same rate (both held, same run):")
    for i, name in enumerate(t["name"] for t in runs[0][:-1]):
        for rate in rates:
            cells, ratios = [], []
            for run in runs:
                ours, ref = run[i].get("by_rate", {}).get(rate), run[-1].get("by_rate", {}).get(rate)
                if ours and ref and ours["held"] and ref["held"]:
                    ratio = ours["us_per_call"] / max(ref["us_per_call"], 1e-9)
                    ratios.append(ratio)
                    cells.append(f"{ours['us_per_call']:.0f}/{ref['us_per_call']:.0f} us {ratio:.2f}")
                else:
                    cells.append("not both held")
            if ratios:
                print(f"  {name} / {runs[0][-1]['name']} at {rate} calls/s: " + "; ".join(cells)
                      + f" -> median {median(ratios):.2f} over {len(ratios)} run(s)", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("uas", metavar="UAS_BINARY", nargs="?",
                   help="examples/uas in a build directory (not needed with --reference-only)")
    # Finer steps at the top, where a loopback run on a small machine tends to end.
    p.add_argument("--rates", default="100,200,400,800,1600,2400,3200,4000,4800,6400,8000,"
                                      "9600,12800",
                   help="comma-separated calls/s, tried in order (default: %(default)s)")
    p.add_argument("--seconds", type=int, default=5, help="length of each step")
    p.add_argument("--max-retrans", type=float, default=1.0,
                   help="retransmissions, in %% of calls, under which a rate is held")
    p.add_argument("--reference-only", action="store_true",
                   help="measure sipp's uas only (the CTest smoke run)")
    p.add_argument("--instances", default="1",
                   help="comma-separated agent counts for examples/uas --threads (default 1)")
    p.add_argument("--baseline", help="another examples/uas measured in the same run")
    p.add_argument("--cost", default="",
                   help="comma-separated bench/uas_call_cost binaries, run before the steps")
    p.add_argument("--uac-cost", default="",
                   help="comma-separated bench/uac_call_cost binaries, run before the steps")
    p.add_argument("--cost-calls", type=int, default=20000,
                   help="calls per --cost / --uac-cost run")
    p.add_argument("--work", default="call_bench.work", help="scratch dir, emptied first")
    p.add_argument("--target-cpu", type=int, help="core each target is pinned to (taskset)")
    p.add_argument("--client-cpu", type=int, help="core sipp's uac is pinned to (taskset)")
    p.add_argument("--repeat", type=int, default=1, help="run the whole climb this many times")
    p.add_argument("-v", "--verbose", action="store_true", help="print every command")
    a = p.parse_args()
    if not a.uas and not a.reference_only:
        p.error("UAS_BINARY is required (or --reference-only)")
    try:
        rates = [int(x) for x in a.rates.split(",")]
    except ValueError:
        p.error(f"--rates {a.rates}: not a list of integers")
    a.work = os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    if a.repeat < 1:
        p.error("--repeat must be at least 1")
    raise_on_signals()
    if a.target_cpu is not None or a.client_cpu is not None:
        need("taskset")

    missing = None
    targets = []
    if not a.reference_only:
        if os.access(a.uas, os.X_OK):
            for n in [int(x) for x in a.instances.split(",")]:
                targets.append({"name": "sipkit uas" if n == 1 else f"sipkit uas x{n}",
                                "binary": os.path.abspath(a.uas), "agents": n})
        else:
            missing = f"uas binary {a.uas} is missing (build examples/uas first)"
            print(f"call_bench: {missing}; running the sipp reference only", flush=True)
    if a.baseline:
        targets.append({"name": "baseline uas", "binary": os.path.abspath(a.baseline),
                        "agents": 1})
    targets.append({"name": "sipp uas", "binary": None})

    for binary in [b for b in (a.cost + "," + a.uac_cost).split(",") if b]:
        print(f"{os.path.basename(binary)} {binary}:", flush=True)
        if subprocess.run([binary, "--calls", str(a.cost_calls)]).returncode != 0:
            print(f"call_bench: FAIL: {binary} did not complete its calls")
            return 1

    runs, status = [], 0
    for n in range(a.repeat):
        run = [dict(t, run_suffix=f"_run{n + 1}" if a.repeat > 1 else "") for t in targets]
        if a.repeat > 1:
            print(f"run {n + 1} of {a.repeat}:", flush=True)
        try:
            climb(run, rates, lambda t, rate, again: step(a, t, rate, again))
        except Failure as e:
            print(f"call_bench: FAIL: {e}\n(output in {a.work})")
            return 1
        except KeyboardInterrupt:
            return 1
        # CPU per call tells the targets apart where the one sipp uac driving both is the
        # limit (then both "hold" the same rate).
        status |= print_results(run, width=14)
        runs.append(run)
    if len(targets) > 1:
        print_same_rate(runs, rates)
    if missing:
        print(f"call_bench: {missing}")
        return 1
    return status


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
