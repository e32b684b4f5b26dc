#!/usr/bin/env python3
"""Registrar benchmark: sipp registers users with digest authentication at rising rates
against examples/registrar and, in the same run, against Kamailio's registrar
(bench/registrar_bench/kamailio.cfg: registrar + usrloc in memory (db_mode 0) + auth with
a fixed password, one UDP worker). Run on demand; never part of the build.

usage: registrar_bench.py [--rates 1000,2000,...] [--seconds S] [--max-retrans PCT]
                          [--target-core N] [--sipp-core N] [--kamailio-shm MB]
                          [--work DIR] [--no-kamailio] [NAME=]REGISTRAR_BINARY...

Each "call" of bench/registrar_bench/register_digest.xml is one registration: REGISTER,
401 with a challenge (MD5, qop=auth), REGISTER with credentials, 200. Every call of a
step registers another user (u0, u1, ... from an injection file; each step starts a fresh
registrar, so every registration adds a binding). A rate is "held" when a step of
rate*seconds registrations ends with every one answered 200, none failed, sipp's
cumulative rate within 5% of the rate asked for, and retransmissions under --max-retrans
percent of the registrations. The rates rise until one is not held. Each registrar is
pinned to one core (taskset, --target-core) and sipp to another (--sipp-core); "CPU" is
the registrar's user+system time (every process of its group: Kamailio runs several) over
the step's wall time, read from /proc. Several registrar binaries may be given (e.g.
before=old/registrar after=new/registrar): each is measured in turn, then Kamailio, and
the last table line compares the first binary with Kamailio.
Exit status: 0 when every registrar held some rate; 1 otherwise; 2 for bad usage.
"""
import argparse
import os
import resource
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop"))
from peers import (Failure, Processes, climb, free_port, group_cpu_seconds, judge_step,  # noqa
                   need, print_results, print_step, raise_on_signals, sipp_argv, sipp_stats,
                   wait_listening)

DOMAIN = "example.com"
PASSWORD = "secret"  # every user's; kamailio.cfg sets the same


def write_users(work, count):
    """sipp's injection file (user;[authentication ...];domain, read in order) and the
    registrar's --users-file (user:password) for u0 .. u<count-1>."""
    csv_path, users_path = os.path.join(work, "users.csv"), os.path.join(work, "users.txt")
    with open(csv_path, "w") as csv, open(users_path, "w") as users:
        csv.write("SEQUENTIAL\n")
        for i in range(count):
            csv.write(f"u{i};[authentication username=u{i} password={PASSWORD}];{DOMAIN}\n")
            users.write(f"u{i}:{PASSWORD}\n")
    return csv_path, users_path


def children_cpu_seconds():
    """User + system time of our reaped children."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def pinned(core, argv):
    return [need("taskset"), "-c", str(core), *argv]


def start_registrar(procs, a, target, work, port):
    if target["kind"] == "sipkit":
        argv = [target["binary"], "--bind", "127.0.0.1", "--port", str(port), "--quiet",
                "--realm", DOMAIN, "--users-file", a.users_file, "--md5-only",
                # every registration of a run adds a binding: room for all of them
                "--max-bindings", str(10 * a.max_calls),
                # one sipp from one address: past the per-source rate limit (a flood
                # defence), off as for any load test from one address
                "--max-request-rate", "0"]
        proc = procs.start(target["name"], pinned(a.target_core, argv),
                           os.path.join(work, "registrar.log"), cwd=work)
    else:
        run = os.path.join(work, "kamailio-run")
        os.makedirs(run)
        argv = [need("kamailio"), "-DD", "-E", "-f", os.path.join(HERE, "kamailio.cfg"),
                "-A", f"SIP_PORT={port}", "-A", "WORKERS=1",
                "-Y", run, "-P", os.path.join(run, "kamailio.pid"), "-w", run,
                # usrloc keeps every binding in shared memory, auth its nonce counters
                "-m", str(a.kamailio_shm), "-M", "16"]
        proc = procs.start(target["name"], pinned(a.target_core, argv),
                           os.path.join(work, "registrar.log"), death_signal=signal.SIGTERM)
    wait_listening(proc, port, "udp")
    time.sleep(0.3)  # Kamailio forks its workers after binding
    return proc


def step(a, target, rate, again):
    """One rate step against a fresh registrar. Returns a judge_step() result."""
    calls = rate * a.seconds
    name = target["name"].replace(" ", "_")
    work = os.path.join(a.work, f"{name}_{rate}_again" if again else f"{name}_{rate}")
    os.makedirs(work)
    port = free_port()
    sipp = need("sipp")
    with Processes(verbose=a.verbose) as procs:
        registrar = start_registrar(procs, a, target, work, port)
        pgid = registrar.popen.pid  # started in a session of its own: pgid == pid
        cpu0, t0 = group_cpu_seconds(pgid), time.monotonic()
        # A held step ends about `seconds` after it starts; one running much longer has
        # registrations waiting on retransmissions and is cut short (sipp writes its
        # statistics on SIGINT).
        limit = a.seconds * 2 + 10
        argv = sipp_argv(sipp, work, "uac", "udp", free_port(),
                         ["-sf", os.path.join(HERE, "register_digest.xml"), "-inf", a.users_csv,
                          f"127.0.0.1:{port}"],
                         ["-m", str(calls), "-r", str(rate), "-timeout", f"{limit}s"])
        # sipp's CPU: what its exit (reaped below, before the registrar's) adds to our
        # children's rusage.
        sipp_cpu0 = children_cpu_seconds()
        uac = procs.start("sipp uac", pinned(a.sipp_core, argv), os.path.join(work, "uac.log"),
                          cwd=work)
        try:
            rc = uac.wait(limit, watch=[registrar])
        except Failure:
            if not registrar.alive():
                raise  # the registrar crashed: that is no rate limit
            procs.stop(uac, signal.SIGINT)
            rc = f"none, stopped after {limit} s"
        elapsed = time.monotonic() - t0
        cpu = (group_cpu_seconds(pgid) - cpu0) / elapsed
        # sipp's share of its core: near 100% means the client, not the registrar, gives out.
        sipp_cpu = (children_cpu_seconds() - sipp_cpu0) / elapsed
    r = judge_step(sipp_stats(work, "uac"), rate, calls, rc, cpu, a.max_retrans)
    r["client_cpu"] = sipp_cpu
    print_step(target["name"], r, unit="reg/s", width=18)
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("registrars", metavar="[NAME=]REGISTRAR_BINARY", nargs="*",
                   help="examples/registrar in a build directory (several: each in turn)")
    p.add_argument("--rates", default="500,1000,2000,4000,6000,8000,10000,12000,14000,16000,"
                                      "18000,20000",
                   help="comma-separated registrations/s, tried in order (default: %(default)s)")
    p.add_argument("--seconds", type=int, default=5, help="length of each step")
    p.add_argument("--max-retrans", type=float, default=1.0,
                   help="retransmissions, in %% of registrations, under which a rate is held")
    p.add_argument("--target-core", type=int, default=0, help="the registrar's CPU (taskset)")
    p.add_argument("--sipp-core", type=int, default=1 if (os.cpu_count() or 1) > 1 else 0,
                   help="sipp's CPU (taskset; default 1, or 0 on a single-CPU machine)")
    p.add_argument("--kamailio-shm", type=int, default=512,
                   help="Kamailio's shared memory in MB (-m; default %(default)s)")
    p.add_argument("--no-kamailio", action="store_true", help="measure examples/registrar only")
    p.add_argument("--work", default="registrar_bench.work", help="scratch dir, emptied first")
    p.add_argument("-v", "--verbose", action="store_true", help="print every command")
    a = p.parse_args()
    try:
        rates = [int(x) for x in a.rates.split(",")]
    except ValueError:
        p.error(f"--rates {a.rates}: not a list of integers")
    targets = []
    for spec in a.registrars:
        label, _, path = spec.rpartition("=")
        if not os.access(path, os.X_OK):
            p.error(f"{path}: not an executable (build the registrar target first)")
        targets.append({"name": f"sipkit {label}" if label else "sipkit registrar",
                        "kind": "sipkit", "binary": os.path.abspath(path)})
    if not a.no_kamailio:
        targets.append({"name": "kamailio", "kind": "kamailio", "binary": None})
    if not targets:
        p.error("nothing to measure: give a REGISTRAR_BINARY or leave out --no-kamailio")
    a.work = os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    a.max_calls = max(rates) * a.seconds
    a.users_csv, a.users_file = write_users(a.work, a.max_calls)
    raise_on_signals()

    try:
        climb(targets, rates, lambda t, rate, again: step(a, t, rate, again))
    except Failure as e:
        print(f"registrar_bench: FAIL: {e}\n(output in {a.work})")
        return 1
    except KeyboardInterrupt:
        return 1
    return print_results(targets, what="registrar", unit="reg/s", per="reg", width=18)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
