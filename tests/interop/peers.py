"""Helpers shared by tests/interop/interop.py and the sipp-driven benchmarks under bench/
(call_bench, proxy_bench, registrar_bench): free loopback ports, child processes that never
outlive us, sipp's statistics file, and the benchmarks' rate steps and result table.

Both callers run beside other tests and builds (ctest -j2), so every port is picked at
random and checked, and every process gets its own process group that is killed on the
way out, whatever the way out is (exception, SIGTERM from ctest, our own deadline).
"""
import csv
import ctypes
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time


class Failure(Exception):
    """A check failed; the message says what and why."""


# Debian packages, so a "not found" tells the reader what to install.
_PACKAGES = {"sipp": "sip-tester", "kamailio": "kamailio", "baresip": "baresip-core"}


def need(program):
    """Path of a peer program. A missing peer fails the test: it never skips silently.
    SIPP=/path, KAMAILIO=/path or BARESIP=/path in the environment overrides the PATH
    search."""
    path = os.environ.get(program.upper()) or shutil.which(program)
    if not path or not os.access(path, os.X_OK):
        pkg = _PACKAGES.get(program, program)
        raise Failure(f"{program} not found (Debian package {pkg}; .ci/install-deps installs it)")
    return path


def _bound_ports():
    """Local ports with any UDP/TCP socket on them, read from /proc rather than probed with
    bind(): a probe racing a peer's own bind() could make the peer fail."""
    ports = set()
    for name in ("udp", "tcp", "udp6", "tcp6"):
        try:
            with open(f"/proc/net/{name}") as f:
                next(f)
                for line in f:
                    ports.add(int(line.split()[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def listening(port, transport):
    """True once something listens on 127.0.0.1:port (UDP bound, or TCP in LISTEN)."""
    path = "/proc/net/udp" if transport == "udp" else "/proc/net/tcp"
    want = f"0100007F:{port:04X}"
    with open(path) as f:
        next(f)
        for line in f:
            cols = line.split()
            addr = cols[1]
            if (addr == want or addr == f"00000000:{port:04X}") and \
               (transport == "udp" or cols[3] == "0A"):
                return True
    return False


_handed_out = set()


def free_port(span=1):
    """A port p with p..p+span-1 free for both UDP and TCP on 127.0.0.1. Drawn from below
    Linux's ephemeral range (32768+) so that outgoing connections do not take it meanwhile."""
    for _ in range(500):
        p = random.randrange(20000, 32700 - span)
        block = set(range(p, p + span))
        if block & (_bound_ports() | _handed_out):
            continue
        try:
            for q in block:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(("127.0.0.1", q))
        except OSError:
            continue
        _handed_out.update(block)
        return p
    raise Failure("no free port found on 127.0.0.1")


def _die_with_parent(sig):
    """preexec_fn: the kernel sends `sig` to the child if we die, even by SIGKILL."""
    def set_pdeathsig():
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG
    return set_pdeathsig


def raise_on_signals():
    """Turn SIGTERM/SIGINT/SIGHUP (ctest timeout, Ctrl-C) into Failure, so that the
    `with Processes()` blocks still run their cleanup."""
    def handler(signum, _frame):
        raise Failure(f"interrupted by signal {signal.Signals(signum).name}")
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, handler)


def deadline(seconds):
    """Our own upper bound on a whole run, below the ctest TIMEOUT so that we, not ctest,
    report what was still running."""
    def handler(_signum, _frame):
        raise Failure(f"gave up after {seconds} s (harness deadline)")
    signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)


class Process:
    def __init__(self, name, argv, log, popen):
        self.name, self.argv, self.log, self.popen = name, argv, log, popen

    def wait(self, timeout, watch=()):
        """Exit status, or Failure if it is still running after `timeout` seconds or if one
        of the `watch` processes (the peer it talks to) exits first: a dead peer would
        otherwise only show after every pending call timed out (Timer B, 32 s)."""
        end = time.monotonic() + timeout
        while (rc := self.popen.poll()) is None:
            for other in watch:
                if not other.alive():
                    raise Failure(f"{other.name} exited with status {other.popen.returncode} "
                                  f"while {self.name} was running:\n{other.tail()}")
            if time.monotonic() > end:
                raise Failure(f"{self.name} still running after {timeout} s:\n{self.tail()}")
            time.sleep(0.05)
        return rc

    def alive(self):
        return self.popen.poll() is None

    def tail(self, lines=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return f"(no log: {e})\n"


class Processes:
    """Context manager owning every child started through it; on exit each still-running
    child's process group gets SIGTERM, then SIGKILL after a grace period."""

    def __init__(self, verbose=True):
        self.procs, self.verbose = [], verbose

    def start(self, name, argv, log, cwd=None, death_signal=signal.SIGKILL):
        if self.verbose:
            print(f"+ [{name}] {' '.join(argv)}\n  (output: {log})", flush=True)
        out = open(log, "wb")
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                 preexec_fn=_die_with_parent(death_signal))
        out.close()
        proc = Process(name, argv, log, popen)
        self.procs.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, grace=5.0):
        """Signal the child's group, wait for the child; SIGKILL if it lingers. Returns
        the child's exit status (negative: killed by that signal)."""
        if proc.alive():
            try:
                os.killpg(proc.popen.pid, sig)
            except ProcessLookupError:
                pass
        try:
            return proc.popen.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait()
            raise Failure(f"{proc.name} ignored {signal.Signals(sig).name} for {grace} s "
                          "and was killed") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # Cleanup is bounded (a few seconds a child) and must not itself be cut short by
        # our deadline or a second signal.
        signal.alarm(0)
        saved = {s: signal.signal(s, signal.SIG_IGN)
                 for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        for proc in self.procs:
            try:
                # Only live leaders: a reaped pid may already belong to someone else.
                if proc.alive():
                    self.stop(proc, signal.SIGTERM, grace=3.0)
            except (Failure, ProcessLookupError, PermissionError):
                pass
        for s, handler in saved.items():
            signal.signal(s, handler)
        return False


def wait_listening(proc, port, transport, timeout=10.0):
    """Wait until `proc` listens on 127.0.0.1:port; Failure if it exits or takes too long."""
    end = time.monotonic() + timeout
    while not listening(port, transport):
        if not proc.alive():
            raise Failure(f"{proc.name} exited with status {proc.popen.returncode} before "
                          f"listening on {transport} 127.0.0.1:{port}:\n{proc.tail()}")
        if time.monotonic() > end:
            raise Failure(f"{proc.name} not listening on {transport} 127.0.0.1:{port} "
                          f"after {timeout} s:\n{proc.tail()}")
        time.sleep(0.05)


def wait_for(predicate, timeout, watch, what):
    """Poll `predicate()` until it returns something true, and return that. Failure if one
    of the `watch` processes exits first or after `timeout` seconds; `what` names what we
    waited for. A process that exits right after producing what we wait for still passes:
    the predicate is asked once more after its exit is seen."""
    end = time.monotonic() + timeout
    while True:
        dead = [p for p in watch if not p.alive()]
        if result := predicate():
            return result
        if dead:
            p = dead[0]
            raise Failure(f"{p.name} exited with status {p.popen.returncode} while waiting "
                          f"for {what}:\n{p.tail()}")
        if time.monotonic() > end:
            tails = "".join(f"--- {p.name}:\n{p.tail()}" for p in watch)
            raise Failure(f"no {what} after {timeout} s\n{tails}")
        time.sleep(0.05)


def wait_output(proc, pattern, timeout, watch=(), what=None):
    """Wait until a line of `proc`'s log matches the regular expression `pattern`; returns
    the match. Failure if `proc` or one of the `watch` processes exits first, or after
    `timeout` seconds."""
    regex = re.compile(pattern)

    def search():
        try:
            with open(proc.log, errors="replace") as f:
                return next(filter(None, map(regex.search, f)), None)
        except OSError:
            return None
    return wait_for(search, timeout, [proc, *(p for p in watch if p is not proc)],
                    f"{what or repr(pattern)} from {proc.name}")


# ------------------------------------------------------------------------------ sipp

SIPP_TRANSPORT = {"udp": "u1", "tcp": "t1"}  # one socket for all calls, as a UA would


def sipp_argv(sipp, work, name, transport, port, scenario, extra):
    """sipp on 127.0.0.1:port with every port it opens chosen here (media -mp, control
    -cp: their defaults 6000 and 8888 collide between parallel runs) and its statistics
    in <work>/<name>.csv (one row a second and a last row at exit)."""
    media = free_port(span=4)  # sipp binds audio and video RTP pairs from -mp up
    return [sipp, *scenario, "-i", "127.0.0.1", "-p", str(port), "-t", SIPP_TRANSPORT[transport],
            "-mi", "127.0.0.1", "-mp", str(media), "-cp", str(free_port()), "-nostdin",
            "-trace_stat", "-stf", os.path.join(work, f"{name}.csv"), "-fd", "1",
            "-trace_err", "-error_file", os.path.join(work, f"{name}_errors.log"), *extra]


def sipp_stats(work, name):
    """sipp's last statistics row (cumulative counters) as {column: int or str}.
    Columns of sipp 3.6: SuccessfulCall(C), FailedCall(C), Retransmissions(C),
    OutgoingCall(C), IncomingCall(C), CallRate(C), ElapsedTime(C) ..."""
    path = os.path.join(work, f"{name}.csv")
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
    except OSError as e:
        raise Failure(f"sipp wrote no statistics file {path}: {e}") from None
    if len(rows) < 2:
        raise Failure(f"sipp statistics file {path} has no data row")
    stats = {}
    for key, value in zip(rows[0], rows[-1]):
        try:
            stats[key] = int(value)
        except ValueError:
            try:
                stats[key] = float(value)
            except ValueError:
                stats[key] = value
    return stats


def sipp_summary(s):
    return (f"{s.get('SuccessfulCall(C)')} successful, {s.get('FailedCall(C)')} failed, "
            f"{s.get('Retransmissions(C)')} retransmissions, "
            f"{s.get('CallRate(C)')} calls/s over {s.get('ElapsedTime(C)')}")


# ------------------------------------------------------------------------------ benchmarks
# call_bench, proxy_bench and registrar_bench: sipp drives a target at rising rates, one
# fresh target per step; a step is judged from sipp's statistics, the target's CPU from /proc.

def group_cpu_seconds(pgid):
    """utime + stime of every live process in process group `pgid` (fields 14 and 15 of
    /proc/<pid>/stat; field 5 is the group). A target started by Processes.start() leads
    a group of its own (pgid == pid); Kamailio's group holds all its processes."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def judge_step(stats, rate, calls, rc, cpu, max_retrans):
    """A step's result from sipp's last statistics row: held when every call of the step
    succeeded, none failed, sipp exited 0, retransmissions stayed under `max_retrans`
    percent of the calls and sipp's cumulative rate reached 95% of `rate`. `cpu` is the
    target's CPU (cores) over the step. "cut_short": sipp ended cleanly before placing all
    its calls, none failed (something outside stopped it): the caller repeats the step."""
    ok, failed = stats.get("SuccessfulCall(C)", 0), stats.get("FailedCall(C)", 0)
    retrans = stats.get("Retransmissions(C)", 0)
    achieved = float(stats.get("CallRate(C)", 0))
    placed = stats.get("OutgoingCall(C)", 0)
    r = {"rate": rate, "calls": calls, "ok": ok, "failed": failed, "rc": rc, "placed": placed,
         "cut_short": rc == 0 and placed < calls and not failed, "retrans": retrans,
         "retrans_pct": 100.0 * retrans / max(calls, 1), "achieved": achieved, "cpu": cpu,
         "us_per_call": 1e6 * cpu / max(achieved, 1)}
    why = []
    if ok != calls or failed or rc != 0:
        why.append(f"{ok}/{calls} successful, {failed} failed, sipp exit status {rc}")
    if r["retrans_pct"] >= max_retrans:
        why.append(f"{retrans} retransmissions")
    r["client_limited"] = not why and achieved < 0.95 * rate
    if achieved < 0.95 * rate:
        why.append(f"sipp reached only {achieved:.0f} calls/s")
    r["held"], r["why"] = not why, "; ".join(why)
    return r


def print_step(name, r, unit="calls/s", width=14):
    print(f"  {name:<{width}} {r['rate']:>6} {unit}: {r['ok']}/{r['calls']} ok, "
          f"{r['failed']} failed, {r['retrans']} retrans ({r['retrans_pct']:.2f}%), "
          f"{r['achieved']:.0f} {unit}, CPU {100 * r['cpu']:.0f}% "
          f"({r['us_per_call']:.0f} us each)"
          f"{', client CPU %.0f%%' % (100 * r['client_cpu']) if 'client_cpu' in r else ''} -> "
          f"{'held' if r['held'] else 'NOT held: ' + r['why']}", flush=True)


def climb(targets, rates, step):
    """Each target at each rate in turn, `step(target, rate, again)` returning a
    judge_step() result, until a rate is not held: t["best"] is the highest rate held (or
    None), t["limit"] the step that failed (None when every rate was held). A step cut
    short is measured once more."""
    for t in targets:
        t["best"], t["limit"] = None, None
        for rate in rates:
            r = step(t, rate, False)
            if r["cut_short"]:
                print(f"  sipp stopped after {r['placed']} of {r['calls']} calls with none "
                      "failed; repeating the step", flush=True)
                r = step(t, rate, True)
            if not r["held"]:
                t["limit"] = r
                break
            t["best"] = r


def print_results(targets, what="target", unit="calls/s", per="call", width=14):
    """The table of highest rates held, then each target against the last (the reference)
    where both held some rate. Returns 0 when every target held some rate."""
    print(f"\n{what:<{width}} {'highest rate held':>{15 + len(unit)}} {'retrans %':>10} {'CPU %':>6} "
          f"{'CPU us/' + per:>12}")
    for t in targets:
        b, nxt = t["best"], t["limit"]
        if not b:
            print(f"{t['name']:<{width}} {'none':>{15 + len(unit)}}")
            continue
        note = " (highest tried)" if not nxt else ""
        # A target that failed a step while far from a full core was most likely not what
        # failed: the single-threaded sipp client is.
        if nxt and (nxt["client_limited"] or nxt["cpu"] < 0.8):
            note = (f" (at {nxt['rate']} {unit} the {what} used {100 * nxt['cpu']:.0f}% CPU: "
                    "probably the sipp client's limit)")
        print(f"{t['name']:<{width}} {b['rate']:>14} {unit} {b['retrans_pct']:>10.2f} "
              f"{100 * b['cpu']:>6.0f} {b['us_per_call']:>12.1f}{note}")
    ref = targets[-1]
    for t in targets[:-1] if ref["best"] else []:
        if t["best"]:
            ours = t["best"]
            print(f"{t['name']} / {ref['name']}: highest rate held "
                  f"{ours['rate'] / ref['best']['rate']:.2f}, CPU per {per} "
                  f"{ours['us_per_call'] / max(ref['best']['us_per_call'], 1e-9):.2f}")
    return 0 if all(t["best"] for t in targets) else 1
