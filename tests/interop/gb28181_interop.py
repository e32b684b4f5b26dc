#!/usr/bin/env python3
"""GB/T 28181 live video between sipkit's examples and sipp playing the other side, or
between the two examples; see tests/interop/CMakeLists.txt and tests/examples/CMakeLists.txt
for the CTest cases that call it.

usage: gb28181_interop.py CASE --work DIR [--platform BIN] [--device BIN] [--timeout S]
cases:
  camera    sipp is the camera (gb28181_camera.xml, its out-of-call scenario
            gb28181_camera_answers.xml) against --platform: REGISTER with digest (the 200
            must carry the GB28181 Date), a keepalive, the platform's Catalog query answered
            with one channel, the platform's play INVITE checked (Subject, s=Play, m=video
            RTP/AVP 96, a=recvonly, PS/90000, y= equal to the Subject's SSRC) and answered
            200 with y=/f=, ACK, the platform's BYE, then unregistration. Passes when sipp
            exits 0 with its call successful, sipp logged each step and the platform printed
            the catalog, the answered play (same y=, f= read) and the BYE.
  platform  sipp is the platform (gb28181_platform.xml, server mode) against --device:
            401 then 200 with Date to its REGISTER (sipp verifies the digest), keepalives
            and the Catalog Response answered, a Catalog query for another DeviceID (the
            device must ignore it) and one for the device sent, then the play INVITE
            whose SDP has y=, f= and a line of a letter no RFC defines; the device's 200
            must have a=sendonly, the same y= and an f= line (checked by sipp), then ACK and
            BYE. Passes when sipp counts no failed call, logged the play, and the device
            printed the play and the BYE.
  pair      --platform and --device against each other: register (digest), keepalives,
            catalog (3 channels), play of channel 2 (INVITE with y=, 200 with y=/f=, ACK),
            BYE after 1 s; then the device is killed (SIGKILL: a camera losing power) and
            the platform must log it offline after three missed keepalive intervals (1 s).
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
                   raise_on_signals, sipp_argv, sipp_stats, sipp_summary, wait_output)

HERE = os.path.dirname(os.path.abspath(__file__))
PLATFORM_ID = "34020000002000000001"
DOMAIN = PLATFORM_ID[:10]
DEVICE_ID = "34020000001320000001"
PASSWORD = "12345678"
MEDIA = "127.0.0.1:30000"


def channel(k):
    return f"{DEVICE_ID[:10]}1310{k:06d}"


def text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def expect(proc, pattern, what):
    """`pattern` must be in proc's log already (the step is over)."""
    if not re.search(pattern, text(proc.log), re.M):
        raise Failure(f"{proc.name} did not print {what} ({pattern!r}):\n{proc.tail(60)}")


def sipp_log(work, name):
    """The <log> lines of a sipp run (-trace_logs -log_file)."""
    return text(os.path.join(work, f"{name}_logs.log"))


def sipp_errors(work, name):
    """Failure if sipp's error file (-trace_err) reports a check that failed: in an
    out-of-call scenario a failed <ereg check_it> is only reported there."""
    errors = text(os.path.join(work, f"{name}_errors.log"))
    for bad in ("Failed regexp match", "Aborting call", "unexpected message"):
        if bad in errors:
            raise Failure(f"sipp {name} reports '{bad}':\n{errors[-3000:]}")


def case_camera(procs, a):
    sipp = need("sipp")
    pport, cport = free_port(), free_port()
    platform = procs.start("platform", [
        a.platform, "--bind", "127.0.0.1", "--port", str(pport), "--id", PLATFORM_ID,
        "--password", PASSWORD, "--keepalive", "60", "--play", channel(1), "--media", MEDIA,
        "--play-seconds", "1"], os.path.join(a.work, "platform.log"))
    wait_output(platform, r"listening on udp 127\.0\.0\.1:", 10)
    name = "camera"
    argv = sipp_argv(sipp, a.work, name, "udp", cport, [
        "-sf", os.path.join(HERE, "gb28181_camera.xml"),
        "-oocsf", os.path.join(HERE, "gb28181_camera_answers.xml")], [
        "-m", "1", "-d", "4000", "-s", PLATFORM_ID, "-au", DEVICE_ID, "-ap", PASSWORD,
        # sipp's digest uri is sip:<remote address> unless told; ours must be the
        # Request-URI (RFC 7616 3.4.6), which the platform checks.
        "-auth_uri", f"{PLATFORM_ID}@127.0.0.1:{pport}",
        "-key", "device", DEVICE_ID, "-key", "domain", DOMAIN, "-key", "channel", channel(1),
        "-trace_logs", "-log_file", os.path.join(a.work, f"{name}_logs.log"),
        "-trace_msg", "-message_file", os.path.join(a.work, f"{name}_messages.log"),
        f"127.0.0.1:{pport}"])
    camera = procs.start(name, argv, os.path.join(a.work, f"{name}.out"))
    rc = camera.wait(40, watch=[platform])
    stats = sipp_stats(a.work, name)
    print(f"sipp camera: exit status {rc}, {sipp_summary(stats)}")
    log = sipp_log(a.work, name)
    print(f"sipp camera log:\n{log}")
    sipp_errors(a.work, name)
    if rc != 0 or stats.get("SuccessfulCall(C)") != 1:
        raise Failure(f"sipp camera: exit status {rc}, {sipp_summary(stats)}\n"
                      f"{text(os.path.join(a.work, name + '_errors.log'))[-3000:]}")
    for step in (r"registered, Date: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}",
                 r"catalog sent for query SN \d+",
                 rf"INVITE for {channel(1)}, Subject {channel(1)}:0\d{{9}},{PLATFORM_ID}:0, "
                 r"y=0\d{9}", rf"ACK for {channel(1)}", rf"BYE for {channel(1)}"):
        if not re.search(step, log):
            raise Failure(f"the sipp camera did not log {step!r}:\n{log}\n"
                          f"{text(os.path.join(a.work, name + '_errors.log'))[-3000:]}")
    expect(platform, rf"^device {DEVICE_ID} registered from 127\.0\.0\.1:{cport}", "the REGISTER")
    expect(platform, rf"^Catalog of {DEVICE_ID} \(SN \d+\): 1 item\(s\)", "the catalog")
    expect(platform, rf"^playing {channel(1)}: y=0\d{{9}} f=v/2/4/25/1/4096a/1/8/1", "the play")
    expect(platform, rf"^stopped {channel(1)}: BYE answered 200", "the BYE")
    expect(platform, rf"^device {DEVICE_ID} unregistered", "the unregistration")
    rc = procs.stop(platform)
    if rc != 0:
        raise Failure(f"the platform exited with status {rc}:\n{platform.tail()}")


def case_platform(procs, a):
    sipp = need("sipp")
    sport, dport = free_port(), free_port()
    name = "platform"
    argv = sipp_argv(sipp, a.work, name, "udp", sport,
                     ["-sf", os.path.join(HERE, "gb28181_platform.xml")], [
                         "-key", "device", DEVICE_ID, "-key", "channel", channel(1),
                         "-key", "platform", PLATFORM_ID, "-key", "domain", DOMAIN,
                         "-trace_logs", "-log_file", os.path.join(a.work, f"{name}_logs.log"),
                         "-trace_msg", "-message_file",
                         os.path.join(a.work, f"{name}_messages.log")])
    platform = procs.start(name, argv, os.path.join(a.work, f"{name}.out"))
    # sipp is listening once its statistics file exists; the device retries its REGISTER
    # anyway (retry_interval) if it came first.
    device = procs.start("device", [
        a.device, "--bind", "127.0.0.1", "--port", str(dport), "--id", DEVICE_ID,
        "--password", PASSWORD, "--platform", f"sip:{PLATFORM_ID}@127.0.0.1:{sport}",
        "--keepalive", "60", "--channels", "1"], os.path.join(a.work, "device.log"))
    rc = platform.wait(40, watch=[device])
    stats = sipp_stats(a.work, name)
    log = sipp_log(a.work, name)
    print(f"sipp platform: exit status {rc}, {sipp_summary(stats)}\nsipp platform log:\n{log}")
    sipp_errors(a.work, name)
    # The scenario ends itself (stop_now: exit status 97) once the BYE is answered.
    if rc not in (0, 97) or stats.get("FailedCall(C)") != 0:
        raise Failure(f"sipp platform: exit status {rc}, {sipp_summary(stats)}\n"
                      f"{text(os.path.join(a.work, name + '_errors.log'))[-3000:]}")
    for step in (r"REGISTER authorized", r"Keepalive from " + DEVICE_ID,
                 r"Catalog from " + DEVICE_ID, r"play answered: y=0200000001 f=v/",
                 r"BYE answered"):
        if not re.search(step, log):
            raise Failure(f"the sipp platform did not log {step!r}:\n{log}\n"
                          f"{text(os.path.join(a.work, name + '_errors.log'))[-3000:]}")
    expect(device, rf"^registered with sip:{PLATFORM_ID}@", "the registration")
    # The Date of sipp's 200 (a fixed time) read through registration_event::message.
    expect(device, r"^time sync: platform Date 2026-12-02T13:00:00\.000, platform minus "
                   r"local clock [+-]\d+\.\d{3} s$", "the time sync from the 200's Date")
    expect(device, r"MESSAGE ignored: query for DeviceID '34020000001320000099'",
           "the query for another DeviceID ignored")
    expect(device, r"^Catalog query SN 248: 1 channel", "the catalog query")
    expect(device, rf"^play {channel(1)}: PS to 127\.0\.0\.1:30000, y=0200000001", "the play")
    expect(device, rf"^stopped {channel(1)}", "the BYE")
    rc = procs.stop(device)
    if rc != 0:
        raise Failure(f"the device exited with status {rc}:\n{device.tail()}")


def case_pair(procs, a):
    pport, dport = free_port(), free_port()
    platform = procs.start("platform", [
        a.platform, "--bind", "127.0.0.1", "--port", str(pport), "--password", PASSWORD,
        "--keepalive", "1", "--play", channel(2), "--media", MEDIA, "--play-seconds", "1"],
        os.path.join(a.work, "platform.log"))
    wait_output(platform, r"listening on udp 127\.0\.0\.1:", 10)
    device = procs.start("device", [
        a.device, "--bind", "127.0.0.1", "--port", str(dport), "--id", DEVICE_ID,
        "--password", PASSWORD, "--platform", f"sip:{PLATFORM_ID}@127.0.0.1:{pport}",
        "--keepalive", "1", "--channels", "3"], os.path.join(a.work, "device.log"))
    both = [platform, device]
    wait_output(platform, rf"^stopped {channel(2)}: BYE answered 200", 20, watch=both,
                what="the end of the play")
    # What each side printed on the way there.
    expect(platform, r"RECEIVED from .*REGISTER sip:", "a REGISTER")
    expect(platform, r"SENT to .*SIP/2.0 401 Unauthorized", "the digest challenge")
    expect(platform, rf"^device {DEVICE_ID} registered from 127\.0\.0\.1:{dport}", "the REGISTER")
    expect(platform, rf"^device {DEVICE_ID} online \(keepalive\)", "the keepalive")
    expect(platform, rf"^Catalog of {DEVICE_ID} \(SN \d+\): 3 item\(s\)", "the catalog")
    for k in (1, 2, 3):
        expect(platform, rf"^  {channel(k)}  Camera {k}  +ON$", f"channel {k} of the catalog")
    expect(platform, rf"^play {channel(2)} on {DEVICE_ID}: Subject {channel(2)}:0\d{{9}},"
                     rf"{PLATFORM_ID}:0", "the play INVITE")
    expect(platform, rf"^playing {channel(2)}: y=0\d{{9}} f=v/2/4/25/1/4096a/1/8/1", "the 200")
    expect(device, r"^registered with ", "the registration")
    # The platform's Date (its clock is ours: same machine, so well under a minute off).
    expect(device, r"^time sync: platform Date \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}, "
                   r"platform minus local clock [+-]\d{1,2}\.\d{3} s$", "the time sync")
    expect(device, rf"^play {channel(2)}: PS to 127\.0\.0\.1:30000, y=0\d{{9}}", "the INVITE")
    expect(device, rf"^stopped {channel(2)}", "the BYE")
    expect(device, r"RECEIVED from .*ACK sip:", "the ACK")
    # A camera losing power: no unregistration, its keepalives just stop.
    procs.stop(device, signal.SIGKILL)
    wait_output(platform, rf"^device {DEVICE_ID} offline: no keepalive for 3 s", 10,
                watch=[platform], what="offline detection")
    rc = procs.stop(platform)
    if rc != 0:
        raise Failure(f"the platform exited with status {rc}:\n{platform.tail()}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=["camera", "platform", "pair"])
    p.add_argument("--work", required=True, help="scratch directory, emptied first")
    p.add_argument("--platform", help="path of examples/gb28181_platform")
    p.add_argument("--device", help="path of examples/gb28181_device")
    p.add_argument("--timeout", type=int, default=80)
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    raise_on_signals()
    deadline(a.timeout)
    try:
        for role, cases in (("platform", ("camera", "pair")), ("device", ("platform", "pair"))):
            path = getattr(a, role)
            if a.case in cases and (path is None or not os.access(path, os.X_OK)):
                raise Failure(f"--{role} {path}: not an executable (is examples/gb28181_{role} "
                              "built?)")
        with Processes() as procs:
            {"camera": case_camera, "platform": case_platform, "pair": case_pair}[a.case](procs, a)
    except Failure as e:
        print(f"FAIL: {a.case}: {e}\n(all output is in {a.work})", flush=True)
        return 1
    print(f"PASS: gb28181 {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
