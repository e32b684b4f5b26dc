#!/usr/bin/env python3
"""Two examples/registrar processes sharing their bindings through one redis-server (issue 14).

Everything runs on free loopback ports: redis-server (--save '' --appendonly no), registrar
A and registrar B (--redis 127.0.0.1:PORT). Raw UDP from Python (stdlib only, the client of
registrar_attacks.py with its digest answers).
  1. Four users register two Contacts each, alternately at A and at B (200, the 200 listing
     both Contacts of the AOR: the bindings made at the other registrar included).
  2. Every AOR is looked up at the registrar it did not register at: an authenticated
     OPTIONS is answered 302 with exactly the AOR's Contacts.
  3. A is killed (SIGKILL) mid-run. B keeps serving every binding: each AOR's 302 at B lists
     all its Contacts, those registered at A included, and a refresh at B is answered 200.
  4. redis-server is restarted (no persistence): B reconnects, and what the README says is
     lost is lost: every AOR is 404 at B until its UA registers again, which works at once.
With --proxy BIN instead: two examples/proxy --redis (no authentication) and a UDP
"phone" socket: bob REGISTERs at proxy A, an OPTIONS to sip:bob@example.com sent to proxy B
reaches the phone (B found the binding in Redis) and its 200 comes back; A is killed and B
still routes to bob.
Exit status 0 on pass, 1 on failure (with the reason and the processes' log tails).
usage: registrar_redis.py (--registrar BIN | --proxy BIN) --work DIR [--timeout S]
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from peers import Failure, Processes, deadline, free_port, need, raise_on_signals  # noqa: E402
from registrar_attacks import USERS, Client, Registrar, contacts_of, expect  # noqa: E402


def start_redis(procs, work, port):
    log = os.path.join(work, f"redis-{port}-{time.monotonic_ns()}.log")
    proc = procs.start("redis-server", [need("redis-server"), "--port", str(port), "--bind",
                                        "127.0.0.1", "--save", "", "--appendonly", "no"], log)
    end = time.monotonic() + 10
    while True:
        with open(log, errors="replace") as f:
            if "Ready to accept connections" in f.read():
                return proc
        if not proc.alive() or time.monotonic() > end:
            raise Failure(f"redis-server did not start:\n{proc.tail()}")
        time.sleep(0.05)


def lookup(reg, user, expect_status, what):
    """An authenticated OPTIONS for user's AOR at `reg`, from a fresh client (its nonce)."""
    c = Client("127.0.0.1", reg.port, user)
    try:
        aor = f"sip:{user}@example.com"
        rsp = c.request_auth("OPTIONS", aor, aor, USERS[user])
        return expect(rsp, expect_status, what)
    finally:
        c.close()


def run(a, procs):
    redis_port = free_port()
    redis = start_redis(procs, a.work, redis_port)
    extra = ["--redis", f"127.0.0.1:{redis_port}"]
    reg_a = Registrar(procs, a.registrar, os.path.join(a.work, "a"), extra)
    reg_b = Registrar(procs, a.registrar, os.path.join(a.work, "b"), extra)
    regs = {"A": reg_a, "B": reg_b}

    # 1. two Contacts per user, the first at A, the second at B (and the other way round).
    contacts = {}
    clients = {}
    for i, user in enumerate(sorted(USERS)):
        contacts[user] = [f"sip:{user}@127.0.0.1:{6000 + 2 * i}",
                          f"sip:{user}@127.0.0.1:{6001 + 2 * i}"]
        first, second = ("A", "B") if i % 2 == 0 else ("B", "A")
        for name, contact in ((first, contacts[user][0]), (second, contacts[user][1])):
            c = Client("127.0.0.1", regs[name].port, user)
            rsp = expect(c.register(f"sip:{user}@example.com", [contact], USERS[user]), 200,
                         f"REGISTER {user} {contact} at {name}")
            clients[(user, name)] = c
        if sorted(contacts_of(rsp)) != sorted(contacts[user]):
            raise Failure(f"the 200 for {user} at {second} lists {contacts_of(rsp)}, "
                          f"not both of {contacts[user]}")
    print(f"registered {len(contacts)} AORs x 2 contacts across A and B")

    # 2. lookups at the registrar that did not take the first REGISTER.
    for i, user in enumerate(sorted(USERS)):
        other = reg_b if i % 2 == 0 else reg_a
        rsp = lookup(other, user, 302, f"lookup of {user}")
        if sorted(contacts_of(rsp)) != sorted(contacts[user]):
            raise Failure(f"302 for {user}: {contacts_of(rsp)} != {contacts[user]}")
    print("every AOR found at the other registrar (302 with both contacts)")

    # 3. A dies; B serves every binding, A's included, and takes refreshes.
    reg_a.proc.popen.send_signal(signal.SIGKILL)
    reg_a.proc.popen.wait(timeout=10)
    for user in sorted(USERS):
        rsp = lookup(reg_b, user, 302, f"lookup of {user} at B after A died")
        if sorted(contacts_of(rsp)) != sorted(contacts[user]):
            raise Failure(f"after A died, B's 302 for {user}: {contacts_of(rsp)}")
        c = Client("127.0.0.1", reg_b.port, user)
        expect(c.register(f"sip:{user}@example.com", [contacts[user][0]], USERS[user]), 200,
               f"refresh of {user} at B after A died")
        c.close()
    print("A killed: B served all 8 bindings and took a refresh for each AOR")

    # 4. Redis restarted without persistence: the bindings are gone until the UAs refresh.
    redis.popen.send_signal(signal.SIGKILL)
    redis.popen.wait(timeout=10)
    start_redis(procs, a.work, redis_port)
    end = time.monotonic() + 15
    while True:  # B answers 503 until it has reconnected (backoff 100 ms .. 5 s)
        c = Client("127.0.0.1", reg_b.port, "alice")
        rsp = c.request_auth("OPTIONS", "sip:alice@example.com", "sip:alice@example.com",
                             USERS["alice"])
        c.close()
        if rsp is not None and rsp.status != 503:
            break
        if time.monotonic() > end:
            raise Failure("B did not reconnect to the restarted redis-server within 15 s")
        time.sleep(0.2)
    expect(rsp, 404, "alice after the Redis restart (nothing persisted)")
    for user in sorted(USERS):
        lookup(reg_b, user, 404, f"{user} after the Redis restart")
    c = Client("127.0.0.1", reg_b.port, "alice")
    expect(c.register("sip:alice@example.com", [contacts["alice"][0]], USERS["alice"]), 200,
           "alice registering again after the Redis restart")
    c.close()
    rsp = lookup(reg_b, "alice", 302, "alice registered again")
    if contacts_of(rsp) != [contacts["alice"][0]]:
        raise Failure(f"after the restart alice has {contacts_of(rsp)}")
    print("Redis restarted without persistence: every binding lost until re-registered; "
          "B reconnected and took the new REGISTER")
    for c in clients.values():
        c.close()


class Phone(threading.Thread):
    """A UDP socket answering every request with 200 (Via, From, To, Call-ID, CSeq copied)
    and counting them."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.start()

    def run(self):
        while True:
            try:
                raw, src = self.sock.recvfrom(70000)
            except OSError:
                return
            head = raw.decode("utf-8", "replace").split("\r\n\r\n")[0].split("\r\n")
            if head[0].startswith("SIP/2.0"):
                continue
            self.requests.append(head[0])
            keep = [h for h in head[1:]
                    if h.split(":")[0].strip().lower() in ("via", "v", "from", "f", "to", "t",
                                                          "call-id", "i", "cseq")]
            rsp = ["SIP/2.0 200 OK"] + keep + ["Content-Length: 0", "", ""]
            self.sock.sendto("\r\n".join(rsp).encode(), src)


def run_proxies(a, procs):
    redis_port = free_port()
    start_redis(procs, a.work, redis_port)
    proxies = {}
    for name in ("A", "B"):
        port = free_port()
        log = os.path.join(a.work, f"proxy-{name}.log")
        proc = procs.start(f"proxy {name}", [a.proxy, "--bind", "127.0.0.1", "--port", str(port),
                                             "--domain", "example.com", "--quiet",
                                             "--max-request-rate", "0",
                                             "--redis", f"127.0.0.1:{redis_port}"], log)
        end = time.monotonic() + 10
        while True:
            with open(log, errors="replace") as f:
                if "proxy, domains:" in f.read():
                    break
            if not proc.alive() or time.monotonic() > end:
                raise Failure(f"proxy {name} did not start:\n{proc.tail()}")
            time.sleep(0.05)
        proxies[name] = (proc, port)
    phone = Phone()
    contact = f"sip:bob@127.0.0.1:{phone.port}"
    c = Client("127.0.0.1", proxies["A"][1], "bob")
    end = time.monotonic() + 10
    while True:  # 503 until A's first connection to Redis is up
        rsp = c.transact("REGISTER", "sip:example.com", "sip:bob@example.com",
                         [f"Contact: <{contact}>", "Expires: 600"])
        if rsp is None or rsp.status != 503 or time.monotonic() > end:
            break
        time.sleep(0.1)
    expect(rsp, 200, "REGISTER bob at A")
    c.close()
    for when in ("", " after A died"):
        c = Client("127.0.0.1", proxies["B"][1], "alice")
        before = len(phone.requests)
        expect(c.transact("OPTIONS", "sip:bob@example.com", "sip:bob@example.com"), 200,
               f"OPTIONS to bob through B{when}")
        c.close()
        if len(phone.requests) <= before or not phone.requests[-1].startswith("OPTIONS"):
            raise Failure(f"the phone did not receive the OPTIONS{when}: {phone.requests}")
        if not when:
            proxies["A"][0].popen.send_signal(signal.SIGKILL)
            proxies["A"][0].popen.wait(timeout=10)
    print("bob registered at proxy A; B routed an OPTIONS to bob's phone through the binding "
          "in Redis, before and after A was killed")


def main():
    p = argparse.ArgumentParser()
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--registrar")
    g.add_argument("--proxy")
    p.add_argument("--work", required=True)
    p.add_argument("--timeout", type=int, default=80)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    raise_on_signals()
    deadline(a.timeout)
    with Processes(verbose=False) as procs:
        try:
            run_proxies(a, procs) if a.proxy else run(a, procs)
        except Failure as e:
            print(f"FAIL: {e}")
            for proc in procs.procs:
                print(f"--- {proc.name} (last lines)\n{proc.tail()}")
            return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
