#!/usr/bin/env python3
"""Measurements for the gateway benchmarks (cps.sh, concurrent.sh).

    benchstat.py sample NAME=PID ...      one JSON line: the machine's and each process's
                                          counters (CPU ticks, RSS, UDP drops of the
                                          sockets it owns), /proc/net/snmp Udp, loadavg
    benchstat.py snapshot ADDR TOKEN      one JSON line: the gateway's GetSnapshot
    benchstat.py delta BEFORE AFTER       a report of what changed between two samples
    benchstat.py ng ADDR COMMAND [k=v]... one rtpengine ng command (bencode over UDP)
    benchstat.py pending OUTBOX           call events the gateway has not yet delivered
                                          (its call_events.sqlite3, read only)
    benchstat.py tone FILE SECONDS        a 440 Hz tone as raw G.711 u-law, 8 kHz
    benchstat.py counters gateway ADDR TOKEN | counters rtpengine NG_ADDR
                                          the relay's packet counters, one JSON line
    benchstat.py concurrent CALLS RELAY IDLE BEFORE AFTER CBEFORE CAFTER [GENERATOR...]
                                          the figures of one concurrent.sh step

Only the standard library, except `snapshot`, which needs grpcio and grpcio-tools
(`python3 -m pip install grpcio grpcio-tools`); the stubs are generated from proto/ into
$BENCH_WORK (or a temporary directory) on first use.
"""

import json
import os
import random
import socket
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def read(path):
    with open(path) as f:
        return f.read()


def udp_snmp():
    lines = [line.split() for line in read("/proc/net/snmp").splitlines() if line.startswith("Udp:")]
    return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}


def socket_drops():
    """Socket inode -> drops, for every IPv4 UDP socket (last column of /proc/net/udp)."""
    drops = {}
    for line in read("/proc/net/udp").splitlines()[1:]:
        fields = line.split()
        drops[fields[9]] = int(fields[12])
    return drops


def process(pid, drops):
    """CPU ticks (the whole process, all threads, and its reaped children), RSS, and
    the receive drops of the UDP sockets it holds now."""
    try:
        stat = read(f"/proc/{pid}/stat")
        fields = stat[stat.rindex(")") + 2:].split()
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        status = read(f"/proc/{pid}/status")
    except (FileNotFoundError, ProcessLookupError):
        return None
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    sockets = 0
    dropped = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, PermissionError):
        fds = []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = target[8:-1]
            if inode in drops:
                sockets += 1
                dropped += drops[inode]
    threads = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                tstat = read(f"/proc/{pid}/task/{tid}/stat")
            except (FileNotFoundError, ProcessLookupError):
                continue
            name = tstat[tstat.index("(") + 1:tstat.rindex(")")]
            tfields = tstat[tstat.rindex(")") + 2:].split()
            threads[name] = threads.get(name, 0) + int(tfields[11]) + int(tfields[12])
    except FileNotFoundError:
        pass
    return {
        "threads": threads,
        "cpu_ticks": utime + stime + cutime + cstime,
        "rss_kb": rss,
        "hwm_kb": hwm,
        "udp_sockets": sockets,
        "udp_drops": dropped,
    }


def machine_ticks():
    fields = read("/proc/stat").splitlines()[0].split()[1:]
    values = [int(x) for x in fields]
    idle = values[3] + values[4]
    return {"total": sum(values[:8]), "idle": idle}


def sample(pairs):
    # The kernel's counters are read on both sides of the socket table, and averaged,
    # so that the two views are of nearly the same moment even while packets flow.
    udp_first = udp_snmp()
    drops = socket_drops()
    udp_second = udp_snmp()
    out = {
        "time": time.time(),
        "loadavg": read("/proc/loadavg").split()[:3],
        "cpu": machine_ticks(),
        "udp": {k: (udp_first[k] + udp_second[k]) // 2 for k in udp_second},
        "processes": {},
    }
    for pair in pairs:
        name, pid = pair.split("=", 1)
        out["processes"][name] = process(int(pid), drops) if pid else None
    return out


def snapshot(addr, token):
    work = os.environ.get("BENCH_WORK") or os.path.join("/tmp", f"benchstat-stubs-{os.getuid()}")
    stubs = os.path.join(work, "stubs")
    here = os.path.dirname(os.path.abspath(__file__))
    proto_root = os.path.normpath(os.path.join(here, "..", "..", "proto"))
    if not os.path.exists(os.path.join(stubs, "hotline", "gateway", "v1", "agents_pb2_grpc.py")):
        from grpc_tools import protoc
        import glob

        os.makedirs(stubs, exist_ok=True)
        files = sorted(glob.glob(os.path.join(proto_root, "hotline", "**", "*.proto"), recursive=True))
        code = protoc.main(["protoc", f"-I{proto_root}", f"--python_out={stubs}", f"--grpc_python_out={stubs}", *files])
        if code != 0:
            sys.exit("protoc failed")
    sys.path.insert(0, stubs)
    import grpc
    from hotline.gateway.v1 import agents_pb2, agents_pb2_grpc

    metadata = [("authorization", f"Bearer {token}")]
    with grpc.insecure_channel(addr) as channel:
        stub = agents_pb2_grpc.AgentServiceStub(channel)
        # A first call connects and has the token checked, so that the one measured
        # is read close to when it was asked: its time is the middle of the call.
        stub.GetSnapshot(agents_pb2.SnapshotRequest(), metadata=metadata, timeout=30)
        asked = time.time()
        snap = stub.GetSnapshot(agents_pb2.SnapshotRequest(), metadata=metadata, timeout=30)
        answered = time.time()
    return {
        "time": (asked + answered) / 2,
        "rpc_seconds": round(answered - asked, 4),
        "calls_in_progress": snap.calls_in_progress,
        "calls_offered": snap.calls_offered,
        "calls_refused_for_load": snap.calls_refused_for_load,
        "media_packets_received": snap.media_packets_received,
        "media_packets_sent": snap.media_packets_sent,
        "media_send_failures": snap.media_send_failures,
        "media_sessions": snap.media_sessions,
        "agents_talking": sum(1 for a in snap.agents if a.state == 5),
    }


def delta(before, after):
    seconds = after["time"] - before["time"]
    cpu_total = after["cpu"]["total"] - before["cpu"]["total"]
    cpu_idle = after["cpu"]["idle"] - before["cpu"]["idle"]
    ncpu = os.cpu_count() or 1
    udp = {k: after["udp"][k] - before["udp"].get(k, 0) for k in after["udp"]}
    report = {
        "seconds": round(seconds, 2),
        "machine_busy_cores": round(ncpu * (cpu_total - cpu_idle) / cpu_total, 2) if cpu_total else None,
        "loadavg_before": before["loadavg"],
        "loadavg_after": after["loadavg"],
        "udp": udp,
        "processes": {},
    }
    for name, proc in after["processes"].items():
        prev = before["processes"].get(name)
        if not proc or not prev:
            continue
        threads = {
            t: round((ticks - prev.get("threads", {}).get(t, 0)) / CLK_TCK / seconds, 3)
            for t, ticks in proc.get("threads", {}).items()
        }
        report["processes"][name] = {
            "cores": round((proc["cpu_ticks"] - prev["cpu_ticks"]) / CLK_TCK / seconds, 3),
            "threads": {t: c for t, c in sorted(threads.items(), key=lambda kv: -kv[1]) if c > 0},
            "rss_kb": proc["rss_kb"],
            "udp_sockets": proc["udp_sockets"],
            # Sockets closed in between take their counts with them; over a hold
            # period with no calls ending this is exact.
            "udp_drops": proc["udp_drops"] - prev["udp_drops"],
        }
    return report


def counters(kind, args):
    """The relay's own packet counters, the same names for both relays."""
    if kind == "gateway":
        snap = snapshot(args[0], args[1])
        return {
            "time": snap["time"],
            "rpc_seconds": snap["rpc_seconds"],
            "received": snap["media_packets_received"],
            "sent": snap["media_packets_sent"],
            "send_failed": snap["media_send_failures"],
            "sessions": snap["media_sessions"],
            "calls": snap["calls_in_progress"],
            "bridged": snap["agents_talking"],
        }
    if kind == "rtpengine":
        asked = time.time()
        stats = ng(args[0], "statistics", [])["statistics"]
        answered = time.time()
        total = stats["totalstatistics"]
        current = stats["currentstatistics"]
        relayed = int(total["relayedpackets_user"]) + int(total["relayedpackets_kernel"])
        errors = int(total["relayedpacketerrors_user"]) + int(total["relayedpacketerrors_kernel"])
        return {
            "time": (asked + answered) / 2,
            "rpc_seconds": round(answered - asked, 4),
            # rtpengine counts what it relayed and the relays that failed.
            "received": relayed,
            "sent": relayed - errors,
            "send_failed": errors,
            "sessions": int(current["sessionsown"]),
            "calls": int(current["sessionsown"]),
            "bridged": int(current["sessionsown"]),
            "media_userspace": int(current.get("media_userspace", 0)),
            "media_kernel": int(current.get("media_kernel", 0)),
        }
    raise SystemExit(f"unknown relay kind {kind}")


def concurrent_report(calls, idle, before, after, counters_before, counters_after, relay, generators):
    """The figures of one step of concurrent.sh: offered load, loss inside the relay and
    in the kernel, CPU and memory."""
    d = delta(before, after)
    seconds = counters_after["time"] - counters_before["time"]
    received = counters_after["received"] - counters_before["received"]
    sent = counters_after["sent"] - counters_before["sent"]
    send_failed = counters_after["send_failed"] - counters_before["send_failed"]
    relay_proc = d["processes"].get(relay, {})
    relay_drops = relay_proc.get("udp_drops", 0)
    arrived = received + relay_drops
    expected = calls * 100 * seconds  # 50 packets/s each way, both ways through the relay
    lost_in_relay = relay_drops + send_failed + max(received - sent, 0)
    generator_drops = {g: d["processes"].get(g, {}).get("udp_drops", 0) for g in generators}
    rss_idle = idle["processes"][relay]["rss_kb"]
    rss_loaded = after["processes"][relay]["rss_kb"]
    udp = d["udp"]
    # The caller generator never reads its RTP socket: every packet sent back to it is
    # dropped there by design. Everything else the kernel dropped, it dropped elsewhere.
    unread = generator_drops.get("uac", 0)
    return {
        "calls": calls,
        "calls_up_before": counters_before["bridged"],
        "calls_up_after": counters_after["bridged"],
        "seconds": round(seconds, 2),
        "packets_per_second_in": round(received / seconds) if seconds else None,
        "offered_ratio": round(arrived / expected, 5) if expected else None,
        "relay_received": received,
        "relay_sent": sent,
        "relay_send_failed": send_failed,
        "relay_socket_drops": relay_drops,
        "relay_loss_percent": round(100 * lost_in_relay / arrived, 4) if arrived else None,
        "generator_socket_drops": generator_drops,
        "kernel_udp_in": udp.get("InDatagrams", 0),
        "kernel_udp_rcvbuf_errors": udp.get("RcvbufErrors", 0),
        "kernel_udp_in_errors": udp.get("InErrors", 0),
        "kernel_udp_rcvbuf_errors_not_uac": udp.get("RcvbufErrors", 0) - unread,
        "rss_idle_kb": rss_idle,
        "rss_loaded_kb": rss_loaded,
        "kb_per_call": round((rss_loaded - rss_idle) / calls, 1) if calls else None,
        "machine_busy_cores": d["machine_busy_cores"],
        "loadavg_before": d["loadavg_before"],
        "loadavg_after": d["loadavg_after"],
        "cores": {name: p["cores"] for name, p in d["processes"].items()},
        "threads": {name: p["threads"] for name, p in d["processes"].items()},
    }


# rtpengine's ng protocol: a cookie, a space, a bencoded dictionary.
def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b"e"
    raise TypeError(type(value))


def bdecode(data, i=0):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k.decode()] = v
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1:colon + 1 + n], colon + 1 + n


def ng(addr, command, args):
    host, port = addr.rsplit(":", 1)
    message = {"command": command}
    for arg in args:
        k, v = arg.split("=", 1)
        message[k] = v
    cookie = "%08x" % random.getrandbits(32)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(cookie.encode() + b" " + bencode(message), (host, int(port)))
        data = s.recv(65535)
    _, body = data.split(b" ", 1)
    value, _ = bdecode(body)
    return value


def printable(value):
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, list):
        return [printable(v) for v in value]
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    return value


def ulaw(sample):
    """G.711 u-law of one 16-bit sample."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = 7
    while exponent > 0 and not magnitude & (0x4000 >> (7 - exponent)):
        exponent -= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone(path, seconds):
    import math

    samples = int(8000 * seconds)
    data = bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * n / 8000))) for n in range(samples))
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    command = argv[1]
    if command == "sample":
        print(json.dumps(sample(argv[2:])))
    elif command == "snapshot":
        print(json.dumps(snapshot(argv[2], argv[3])))
    elif command == "delta":
        print(json.dumps(delta(json.loads(read(argv[2])), json.loads(read(argv[3]))), indent=1))
    elif command == "ng":
        print(json.dumps(printable(ng(argv[2], argv[3], argv[4:])), indent=1))
    elif command == "counters":
        print(json.dumps(counters(argv[2], argv[3:])))
    elif command == "concurrent":
        # concurrent CALLS RELAY IDLE BEFORE AFTER COUNTERS_BEFORE COUNTERS_AFTER [GENERATOR...]
        calls, relay = int(argv[2]), argv[3]
        files = [json.loads(read(f)) for f in argv[4:9]]
        print(json.dumps(concurrent_report(calls, files[0], files[1], files[2], files[3], files[4], relay, argv[9:])))
    elif command == "pending":
        import sqlite3

        connection = sqlite3.connect(f"file:{argv[2]}?mode=ro", uri=True, timeout=10)
        row = connection.execute(
            "SELECT count(*) FROM call_events WHERE state = 'pending'"
        ).fetchone()
        print(row[0])
    elif command == "tone":
        tone(argv[2], float(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
