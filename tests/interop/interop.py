#!/usr/bin/env python3
"""Interop cases between sipkit's examples and real SIP peers (sipp, kamailio); see
tests/interop/CMakeLists.txt for the CTest cases that call it.

usage: interop.py CASE --work DIR [--uas BIN|sipp] [--uac BIN|sipp] [--transport udp|tcp]
                  [--calls N] [--rate R] [--duration S] [--timeout S]
cases:
  sipp-uac  sipp's built-in uac places --calls calls at --rate calls/s to --uas;
            passes when sipp exits 0 and counts every call successful, none failed.
  sipp-uas  sipp's built-in uas takes one call from --uac; passes when the uac exits 0
            and sipp counts the call successful.
  kamailio  --uac calls --uas through kamailio (tests/interop/kamailio.cfg, UDP); passes
            when the uac succeeds and the BYE reached the uas from kamailio's port, i.e.
            the uac used the Record-Route route set.
`sipp` as --uas/--uac runs sipp in that role, which proves the harness (and kamailio.cfg)
without sipkit; anything else is the path of examples/uas or examples/uac, driven through
their command line (--bind/--port/--transport, --call/--proxy/--duration).
Exit status 0 on pass, 1 on failure (with the reason and the peers' log tails).
"""
import argparse
import os
import re
import shutil
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from peers import (Failure, Processes, deadline, need, free_port,  # noqa: E402
                   raise_on_signals, sipp_argv, sipp_stats, sipp_summary, wait_listening)

HERE = os.path.dirname(os.path.abspath(__file__))

# A ladder line of examples/uas and examples/uac; any time stamp in the brackets:
#   [+0.012s] RECEIVED from udp 127.0.0.1:5070  INVITE sip:uas@127.0.0.1:5062 SIP/2.0
#   [08:15:02.013] SENT to udp 127.0.0.1:5070  SIP/2.0 180 Ringing
LADDER = re.compile(r"^\[[^]]*\] (SENT to|RECEIVED from) (udp|tcp) ([0-9.]+):([0-9]+)\s+(\S+)")


def ladder(path):
    """(direction, transport, host, port, first token: method or SIP/2.0) per line."""
    with open(path, errors="replace") as f:
        return [m.groups() for m in map(LADDER.match, f) if m]


def start_uas(procs, a, port, name="uas", scenario=None):
    """The UAS under test on 127.0.0.1:port, ready to take calls."""
    if a.uas == "sipp":
        extra = []
        if scenario:  # behind kamailio: the message log shows which hop each request took
            extra = ["-m", "1", "-trace_msg", "-message_file",
                     os.path.join(a.work, f"{name}_messages.log")]
        scenario = ["-sf", scenario] if scenario else ["-sn", "uas"]
        argv = sipp_argv(need("sipp"), a.work, name, a.transport, port, scenario, extra)
    else:
        argv = [a.uas, "--bind", "127.0.0.1", "--port", str(port), "--transport", a.transport]
    proc = procs.start("sipp uas" if a.uas == "sipp" else "examples/uas", argv,
                       os.path.join(a.work, f"{name}.log"), cwd=a.work)
    wait_listening(proc, port, a.transport)
    return proc


def stop_sipkit_uas(procs, proc):
    """The contract: SIGINT ends examples/uas with status 0. A crash at shutdown is a bug."""
    rc = procs.stop(proc, signal.SIGINT)
    if rc != 0:
        raise Failure(f"{proc.name} exited with status {rc} on SIGINT (expected 0):\n{proc.tail()}")


def check_sipp(rc, a, name, calls, proc):
    """sipp exits 0 only when every call succeeded; its counters must agree."""
    s = sipp_stats(a.work, name)
    print(f"{name}: exit status {rc}; {sipp_summary(s)}")
    if rc != 0 or s.get("SuccessfulCall(C)") != calls or s.get("FailedCall(C)") != 0:
        errors = os.path.join(a.work, f"{name}_errors.log")
        more = open(errors, errors="replace").read()[-3000:] if os.path.exists(errors) else ""
        raise Failure(f"{name}: expected exit 0 and {calls} successful / 0 failed calls\n"
                      f"{proc.tail()}{more}")


def case_sipp_uac(procs, a):
    port = free_port()
    uas = start_uas(procs, a, port)
    # Bound: at --rate the run takes calls/rate s; failing calls take up to 32 s (Timer B).
    limit = int(a.calls / a.rate) + 40
    argv = sipp_argv(need("sipp"), a.work, "sipp_uac", a.transport, free_port(),
                     ["-sn", "uac", f"127.0.0.1:{port}"],
                     ["-m", str(a.calls), "-r", str(a.rate), "-timeout", f"{limit}s",
                      "-timeout_error"])
    uac = procs.start("sipp uac", argv, os.path.join(a.work, "sipp_uac.log"), cwd=a.work)
    rc = uac.wait(limit + 10, watch=[uas])
    check_sipp(rc, a, "sipp_uac", a.calls, uac)
    if a.uas != "sipp":
        stop_sipkit_uas(procs, uas)


def run_uac(procs, a, target, proxy=None, proxy_scenario=None, watch=()):
    """One call from the UAC under test; returns (exit status, process). `watch`: peers
    that must stay up meanwhile (a sipp uas with -m 1 may end on its own, so not it)."""
    if a.uac == "sipp":
        if proxy:  # the built-in uac cannot route through a proxy: see uac_via_proxy.xml
            scenario = ["-sf", proxy_scenario, proxy.removeprefix("sip:"),
                        "-key", "uas_uri", target]
        else:
            scenario = ["-sn", "uac", target.split("@", 1)[1]]
        argv = sipp_argv(need("sipp"), a.work, "uac", a.transport, free_port(), scenario,
                         ["-m", "1", "-d", str(int(a.duration * 1000)), "-timeout", "40s",
                          "-timeout_error"])
    else:
        argv = [a.uac, "--call", target, "--duration", f"{a.duration:g}", "--transport",
                a.transport, "--bind", "127.0.0.1", "--port", str(free_port())]
        if proxy:
            argv[3:3] = ["--proxy", proxy]
    uac = procs.start("sipp uac" if a.uac == "sipp" else "examples/uac", argv,
                      os.path.join(a.work, "uac.log"), cwd=a.work)
    rc = uac.wait(a.duration + 45, watch)
    print(f"{uac.name}: exit status {rc}")
    if a.uac == "sipp":
        check_sipp(rc, a, "uac", 1, uac)
    elif rc != 0:
        raise Failure(f"{uac.name} exited with status {rc}, expected 0:\n{uac.tail()}")
    return rc, uac


def case_sipp_uas(procs, a):
    if a.uas != "sipp":
        raise Failure("sipp-uas: the UAS is sipp itself; --uas must be sipp")
    if a.transport != "udp":
        # sipp's built-in uas keeps each call 4 s in timewait and counts it failed
        # (FailedTcpClosed) when the caller closes its TCP connection meanwhile, as a UAC
        # that exits after its call does.
        raise Failure("sipp-uas: only --transport udp is supported")
    port = free_port()
    argv = sipp_argv(need("sipp"), a.work, "sipp_uas", a.transport, port, ["-sn", "uas"],
                     ["-m", "1"])  # exits after its one call (and 4 s of timewait)
    uas = procs.start("sipp uas", argv, os.path.join(a.work, "sipp_uas.log"), cwd=a.work)
    wait_listening(uas, port, a.transport)
    run_uac(procs, a, f"sip:uas@127.0.0.1:{port}")
    check_sipp(uas.wait(20), a, "sipp_uas", 1, uas)


def bye_sources(a):
    """Where the UAS saw INVITEs and BYEs come from, as {method: [(transport, port)]}."""
    seen = {"INVITE": [], "BYE": []}
    if a.uas == "sipp":
        # sipp's message log does not name the sender; the top Via does: a request relayed
        # by kamailio has kamailio's Via on top (RFC 3261 16.6 step 8).
        text = open(os.path.join(a.work, "uas_messages.log"), errors="replace").read()
        for method, via in re.findall(r"message received \[\d+\] bytes :\s*\n\s*(INVITE|BYE) "
                                      r"[^\n]*\n(?:[^\n]+\n)*?Via: SIP/2.0/(\w+ [0-9.]+:\d+)",
                                      text):
            proto, hostport = via.split()
            seen[method].append((proto.lower(), int(hostport.rsplit(":", 1)[1])))
    else:
        for direction, proto, _host, port, token in ladder(os.path.join(a.work, "uas.log")):
            if direction == "RECEIVED from" and token in seen:
                seen[token].append((proto, int(port)))
    return seen


def case_kamailio(procs, a):
    if a.transport != "udp":
        # Over TCP kamailio connects from an ephemeral port: the source no longer shows
        # which hop the BYE took.
        raise Failure("kamailio: only --transport udp is supported")
    kport, uport = free_port(), free_port()
    run = os.path.join(a.work, "kamailio-run")
    os.makedirs(run)
    # -DD: stay in the foreground (our child, our process group); -E: log to stderr.
    argv = [need("kamailio"), "-DD", "-E", "-f", os.path.join(HERE, "kamailio.cfg"),
            "-A", f"SIP_PORT={kport}", "-Y", run, "-P", os.path.join(run, "kamailio.pid"),
            "-w", run, "-m", "32", "-M", "8"]
    # SIGTERM, not SIGKILL, if we die: kamailio's main process then stops its children.
    kam = procs.start("kamailio", argv, os.path.join(a.work, "kamailio.log"),
                      death_signal=signal.SIGTERM)
    wait_listening(kam, kport, "udp")
    uas = start_uas(procs, a, uport, scenario=os.path.join(HERE, "uas_record_route.xml"))
    run_uac(procs, a, f"sip:uas@127.0.0.1:{uport}", proxy=f"sip:127.0.0.1:{kport}",
            proxy_scenario=os.path.join(HERE, "uac_via_proxy.xml"),
            watch=[kam] + ([uas] if a.uas != "sipp" else []))
    if a.uas == "sipp":
        check_sipp(uas.wait(20), a, "uas", 1, uas)  # -sf scenario with -m 1: exits by itself
    else:
        stop_sipkit_uas(procs, uas)
    seen = bye_sources(a)
    print(f"uas saw INVITE from {seen['INVITE']}, BYE from {seen['BYE']} "
          f"(kamailio is udp port {kport})")
    if ("udp", kport) not in seen["INVITE"]:
        raise Failure(f"the uas got no INVITE through kamailio:\n{uas.tail()}\n{kam.tail()}")
    if not seen["BYE"] or any(src != ("udp", kport) for src in seen["BYE"]):
        # With sipp on one side the other is to blame; with both sipkit, the cases
        # kamailio_sipp_uac_vs_uas and kamailio_uac_vs_sipp_uas tell which.
        raise Failure("the BYE did not come through kamailio, so the route set was not used: "
                      "the uas must copy Record-Route into its 2xx (RFC 3261 12.1.1) and "
                      "the uac must route by it (12.2.1.1)\n"
                      f"{uas.tail()}\n{kam.tail()}")
    if procs.stop(kam) != 0:
        raise Failure(f"kamailio exited with status {kam.popen.returncode}:\n{kam.tail()}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=["sipp-uac", "sipp-uas", "kamailio"])
    p.add_argument("--work", required=True, help="scratch directory, emptied first")
    p.add_argument("--uas", default="sipp")
    p.add_argument("--uac", default="sipp")
    p.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--rate", type=int, default=200)
    p.add_argument("--duration", type=float, default=1.0)
    p.add_argument("--timeout", type=int, default=100)
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    raise_on_signals()
    deadline(a.timeout)
    try:
        for role in ("uas", "uac"):
            path = getattr(a, role)
            if path != "sipp" and not os.access(path, os.X_OK):
                raise Failure(f"--{role} {path}: not an executable (is examples/{role} built?)")
        with Processes() as procs:
            {"sipp-uac": case_sipp_uac, "sipp-uas": case_sipp_uas,
             "kamailio": case_kamailio}[a.case](procs, a)
    except Failure as e:
        print(f"FAIL: {a.case}: {e}\n(all output is in {a.work})", flush=True)
        return 1
    print(f"PASS: {a.case} (uas {a.uas}, uac {a.uac}, {a.transport})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
