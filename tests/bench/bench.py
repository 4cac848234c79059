#!/usr/bin/env python3
"""Benchmark: `sshtun -L`, `-D` against OpenSSH `ssh -L`, `-D`, as ratios.

One run starts a throwaway sshd on loopback (tests/integration/fixture.py),
a delay proxy in front of it (delayproxy: DELAY ms each way, so a 2*DELAY
ms round-trip path), and a target server that sinks uploads, sources
downloads (once the client says go, so no byte moves before the clock
starts), streams to readers that never read, and echoes single bytes.
Every measurement runs on both clients in turn, to the same sshd with the
same cipher and MAC (A, B, A, B, ...; the order flips every repetition).
The measurements come in groups (--groups selects some; all but "many"
by default):

  loopback  single-stream upload and download through -L (MB/s, 10^6
            bytes/s), and per GiB moved the client's CPU seconds (utime +
            stime from /proc/PID/stat) and its voluntary and nonvoluntary
            context switches (summed over /proc/PID/task/*/status, since
            /proc/PID/status counts the main thread only), before and
            after each transfer;
  rtt       1-byte request/response round trips on one connection, p50
            and p99;
  delayed   throughput over the delayed path, where the SSH channel
            window limits a single stream to about window / round trip;
  windows   download over the delayed path for each sshtun WindowSize
            (the receive window is the client's);
  streams   8 transfers at once through one -L (--streams), upload and
            download: aggregate MB/s, CPU and context switches per GiB;
            also for sshtun -o PoolMin=2 (--pool-min), "n/a (no pool)"
            when sshtun refuses the keyword;
  stall     50 clients of one -L (--stall-clients) that never read while
            the target offers 16 MiB each (--stall-bytes): the growth of
            the client's RSS once it has settled (no change over 1% for
            2 s, at most --stall-settle s), a fresh client each time.

The SOCKS groups compare `sshtun -D` and `ssh -D`, a fresh client process
per measurement.  The load is socksload (socksload.c), which also serves
as the loopback echo target, so that neither is the bottleneck:

  socks-rate  connections per second: 16 workers (--socks-threads), each
              in a loop connecting, SOCKS5 greeting, CONNECT to the echo
              target, 16 bytes echoed, close, for 10 s (--socks-seconds);
              the time from the TCP connect to the echo's arrival, p50 and
              p99, and the proxy's CPU per connection;
  socks-many  1,000 concurrent connections (--socks-conns) each echoing
              64 KiB (--socks-bytes): all are opened first (16 handshakes
              at a time), then all transfer at once; the count echoed
              whole, the times, and the proxy's RSS idle, with all open,
              at its peak and after, and per open connection;
  hold        the time to open 1,000 connections (--hold-conns) that stay
              open, 64 handshakes at a time (--hold-parallel);
  blackhole   like socks-rate, but 1 request in 20 (--hole-every) goes to
              a destination that never answers (a loopback socket with
              backlog 0 and a full accept queue: SYNs are dropped, so
              sshd's connect hangs); that request is sent and left
              pending, the others' connect -> echo p50 and p99 are
              reported, failures counted; one run of 140 requests (7
              holes, fewer than sshtun's default PoolMax) and one of 4,000
              (--hole-requests), each for at most 10 s (--hole-seconds),
              each step of a request giving up after 5 s
              (--hole-timeout);
  many        (off by default; --many) 5,000 and then 10,000 concurrent
              connections (--many-counts) through one -D, each echoing
              16 KiB: the count echoed whole, the client's RSS, threads
              and memory mappings, the times; no new open after 120 s
              (--many-open-seconds), the echo gives up after 90 s
              (--many-timeout): each run ends within about 6 minutes.  It reports the limits it met: the
              descriptor limit, threads-max, pid_max, RLIMIT_NPROC,
              vm.max_map_count, sshd's MaxSessions and OpenSSH's channel
              limit.

Both clients carry every channel over one SSH connection (unless sshtun is
given a pool), so sshd's MaxStartups (unauthenticated connections) does
not come into it, and MaxSessions (100 in the fixture) counts "session"
channels only, not the direct-tcpip channels a SOCKS CONNECT opens.  The
descriptor limit is raised to the hard limit for this process and all it
starts.  All traffic stays on loopback; every group is bounded in time
and in request counts.

It prints progress on stderr and, at the end, markdown tables of the
medians with the ratio sshtun/ssh and the goal each is held against
(reported, not asserted); failed connections are counted and shown,
never hidden.  Every process it starts is stopped by PID when it ends,
also on error or interruption.
"""
import argparse
import os
import resource
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import fixture  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SOCKET_TIMEOUT = 60.0           # no progress for this long: give up
TRANSFER_TIME_CAP = 180.0       # one transfer may take at most this long
LATENCY_WARMUP = 50             # round trips not counted

# Target server requests: one opcode byte and a 64-bit count.
REQUEST = struct.Struct("!cQ")
OP_UPLOAD = b"U"                # client sends count bytes; server says ACK
OP_DOWNLOAD = b"D"              # server sends count bytes after GO
OP_ECHO = b"E"                  # count 1-byte round trips
OP_STREAM = b"S"                # server sends count bytes to a client
                                # that may never read them
READY = b"R"                    # server: request taken, go
ACK = b"K"                      # server: upload fully received
GO = b"G"                       # client: start the download now (so no
                                # byte moves before the clock starts)


TUNNEL_GROUPS = ("loopback", "rtt", "delayed", "windows", "streams", "stall")
SOCKS_GROUPS = ("socks-rate", "socks-many", "hold", "blackhole")
OPTIONAL_GROUPS = ("many",)
ALL_GROUPS = TUNNEL_GROUPS + SOCKS_GROUPS + OPTIONAL_GROUPS
DIRECTIONS = ("upload", "download")
POOL = "sshtun+pool"            # sshtun with -o PoolMin, as a client name


class BenchError(Exception):
    """A measurement could not be taken."""


def parse_size(text):
    """'512M', '64K', '1G' or a plain byte count -> bytes."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    if scale != 1:
        text = text[:-1]
    return int(float(text) * scale)


def format_size(n):
    """Bytes -> '512M' style text."""
    for unit, scale in (("G", GIB), ("M", MIB), ("K", 1024)):
        if n >= scale and n % scale == 0:
            return "%d%s" % (n // scale, unit)
    return str(n)


# ------------------------------------------------------------ target server

PAYLOAD = memoryview(os.urandom(MIB))


def recv_exact(sock, n):
    """Read exactly n bytes or raise."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise BenchError("connection closed after %d of %d bytes"
                             % (len(data), n))
        data += chunk
    return data


def stream_to_stalled(conn, count):
    """Offer count bytes to a client that does not read: the send blocks
    once the tunnel holds all it will, and ends (quietly) when the
    client goes away."""
    try:
        left = count
        while left > 0:
            n = min(left, MIB)
            conn.sendall(PAYLOAD[:n])
            left -= n
        conn.recv(1)
    except OSError:
        pass


def target_handler(conn):
    """Serve one request on a tunnelled connection."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = b""
    while len(head) < REQUEST.size:
        chunk = conn.recv(REQUEST.size - len(head))
        if not chunk:
            return              # a readiness probe: connect and close
        head += chunk
    op, count = REQUEST.unpack(head)
    conn.sendall(READY)
    if op == OP_STREAM:
        stream_to_stalled(conn, count)
        return
    if op == OP_UPLOAD:
        buf = bytearray(MIB)
        got = 0
        while got < count:
            n = conn.recv_into(buf, min(MIB, count - got))
            if not n:
                raise BenchError("upload ended after %d of %d bytes"
                                 % (got, count))
            got += n
        conn.sendall(ACK)
    elif op == OP_DOWNLOAD:
        if recv_exact(conn, 1) != GO:
            raise BenchError("no go for the download")
        left = count
        while left > 0:
            n = min(left, MIB)
            conn.sendall(PAYLOAD[:n])
            left -= n
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)            # the client closes when it has it all
    elif op == OP_ECHO:
        for _ in range(count):
            conn.sendall(recv_exact(conn, 1))
    else:
        raise BenchError("unknown request %r" % op)


# ------------------------------------------------------------------ tunnels

def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def ctx_switches(pid):
    """(voluntary, nonvoluntary) context switches of a process: the sum
    over /proc/PID/task/*/status, since /proc/PID/status counts only the
    main thread.  Threads that ended take their counts with them."""
    vol = invol = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError as e:
        raise BenchError("cannot list /proc/%d/task: %s" % (pid, e))
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
        except OSError:
            pass                    # the thread ended meanwhile
    return vol, invol


def usage(pid):
    """(CPU seconds, voluntary, nonvoluntary context switches) so far."""
    return (cpu_seconds(pid),) + ctx_switches(pid)


def per_gib(before, after, nbytes):
    """The growth of each usage() figure per GiB moved."""
    return tuple((b - a) / (nbytes / GIB) for a, b in zip(before, after))


class Tunnel:
    """One running client process forwarding a local port to the target."""

    def __init__(self, client, path, argv, env, listen_port, logdir):
        self.client = client            # "sshtun" or "ssh"
        self.path = path                # e.g. "loopback", "delayed"
        self.argv = argv
        self.env = env
        self.port = listen_port
        self.errpath = os.path.join(logdir, "%s-%s-%d.err"
                                    % (client, path, listen_port))
        self.proc = None

    def start(self):
        """Start the client and wait until its forward accepts."""
        with open(self.errpath, "w") as err:
            self.proc = fixture.start(self.argv, env=self.env,
                                      stdout=subprocess.DEVNULL, stderr=err)
        try:
            fixture.wait_port(self.port, proc=self.proc, timeout=30)
        except RuntimeError as e:
            self.stop()
            raise BenchError("%s (%s) did not start: %s\n%s"
                             % (self.client, self.path, e, self.stderr()))

    def ensure_running(self):
        """Start the client if it is not running (never started, stopped
        after a failure, or exited)."""
        if self.proc is not None and self.proc.poll() is not None:
            warn("%s (%s) had exited (%s), restarting:\n%s"
                 % (self.client, self.path, self.proc.returncode,
                    self.stderr()))
            self.proc = None
        if self.proc is None:
            self.start()

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def usage(self):
        return usage(self.proc.pid)

    def stderr(self):
        try:
            with open(self.errpath, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            fixture.stop(self.proc)
            self.proc = None


def ssh_argv(ssh, sshd, port, known_hosts, cipher, mac, forward,
             flag="-L"):
    """OpenSSH's ssh as a plain tunnel to the bench sshd (flag -D: a SOCKS
    proxy on forward)."""
    return [ssh, "-N", "-F", "/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-i", sshd.client_key,
            "-o", "UserKnownHostsFile=%s" % known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ExitOnForwardFailure=yes",
            "-p", str(port), "-c", cipher, "-m", mac,
            flag, forward, "%s@127.0.0.1" % sshd.user]


def sshtun_argv(sshtun, sshd, port, known_hosts, cipher, mac, forward,
                window=None, flag="-L", extra=()):
    """sshtun with the same options as ssh_argv, plus an optional window
    and extra options."""
    argv = [sshtun, "-N", "-F", "/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-i", sshd.client_key,
            "-o", "UserKnownHostsFile=%s" % known_hosts,
            "-o", "GlobalKnownHostsFile=none",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ExitOnForwardFailure=yes",
            "-p", str(port), "-c", cipher, "-m", mac, flag, forward]
    if window:
        argv += ["-o", "WindowSize=%s" % window]
    argv += list(extra)
    return argv + ["%s@127.0.0.1" % sshd.user]


def write_known_hosts(sshd, ports, path):
    """A known_hosts file naming the sshd's host keys at every port."""
    with open(path, "w") as f:
        for key in sshd.host_keys:
            with open(key + ".pub") as pub:
                kind, blob = pub.read().split()[:2]
            for port in ports:
                f.write("[127.0.0.1]:%d %s %s\n" % (port, kind, blob))


def start_delay_proxy(delayproxy, target_port, delay_ms):
    """Start delayproxy in front of target_port; returns (process, port)."""
    proc = fixture.start([delayproxy, "0", "127.0.0.1", str(target_port),
                          str(delay_ms)], stdout=subprocess.PIPE)
    line = proc.stdout.readline().decode(errors="replace").split()
    if not line or not line[-1].isdigit():
        raise BenchError("delayproxy did not start")
    return proc, int(line[-1])


# ------------------------------------------------------------- measurements

def open_request(port, op, count):
    """Connect through a tunnel and make a request; returns the socket once
    the target has answered (the channel is open)."""
    sock = fixture.connect(port, timeout=SOCKET_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(REQUEST.pack(op, count))
    if recv_exact(sock, 1) != READY:
        raise BenchError("target did not answer the request")
    return sock


def move(sock, op, nbytes, deadline):
    """Upload (then wait for the target's acknowledgement) or download
    (after saying go) nbytes on a request opened by open_request."""
    if op == OP_UPLOAD:
        left = nbytes
        while left > 0:
            n = min(left, MIB)
            sock.sendall(PAYLOAD[:n])
            left -= n
            if time.monotonic() > deadline:
                raise BenchError("upload took over %.0f s"
                                 % TRANSFER_TIME_CAP)
        if recv_exact(sock, 1) != ACK:
            raise BenchError("no acknowledgement of the upload")
        return
    sock.sendall(GO)
    buf = bytearray(MIB)
    got = 0
    while got < nbytes:
        n = sock.recv_into(buf)
        if not n:
            raise BenchError("download ended after %d of %d bytes"
                             % (got, nbytes))
        got += n
        if time.monotonic() > deadline:
            raise BenchError("download took over %.0f s"
                             % TRANSFER_TIME_CAP)


def transfer(tunnel, op, nbytes):
    """One single-stream transfer; returns (MB/s, client CPU s per GiB,
    voluntary and nonvoluntary context switches per GiB)."""
    sock = open_request(tunnel.port, op, nbytes)
    try:
        deadline = time.monotonic() + TRANSFER_TIME_CAP
        u0 = tunnel.usage()
        t0 = time.perf_counter()
        move(sock, op, nbytes, deadline)
        t1 = time.perf_counter()
        u1 = tunnel.usage()
    finally:
        sock.close()
    return (nbytes / (t1 - t0) / 1e6,) + per_gib(u0, u1, nbytes)


def streams(tunnel, op, nbytes, count):
    """count transfers at once through one tunnel, nbytes in all; returns
    (aggregate MB/s, client CPU s per GiB, voluntary and nonvoluntary
    context switches per GiB)."""
    each = nbytes // count
    socks = []
    errors = []
    deadline = time.monotonic() + TRANSFER_TIME_CAP

    def run(sock):
        try:
            move(sock, op, each, deadline)
        except (BenchError, OSError) as e:
            errors.append(str(e))

    try:
        for _ in range(count):
            socks.append(open_request(tunnel.port, op, each))
        threads = [threading.Thread(target=run, args=(sock,), daemon=True)
                   for sock in socks]
        u0 = tunnel.usage()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()) + SOCKET_TIMEOUT)
        t1 = time.perf_counter()
        u1 = tunnel.usage()
    finally:
        for sock in socks:
            sock.close()
    if errors or any(t.is_alive() for t in threads):
        raise BenchError("%d of %d streams failed: %s"
                         % (len(errors) or count, count,
                            "; ".join(errors[:3]) or "no end"))
    return (each * count / (t1 - t0) / 1e6,) + per_gib(u0, u1, each * count)


def settle_rss(pid, cap):
    """Wait until a process's VmRSS stops growing (no change over 1 MiB
    or 1% for 2 s), at most cap seconds; returns (KiB, seconds waited,
    settled)."""
    t0 = time.monotonic()
    samples = []
    while True:
        now = time.monotonic()
        samples.append((now, proc_status_kib(pid, "VmRSS")))
        recent = [v for t, v in samples if t >= now - 2.0]
        if now - t0 >= 2.0 and (max(recent) - min(recent)
                                <= max(1024, max(recent) // 100)):
            return samples[-1][1], now - t0, True
        if now - t0 >= cap:
            return samples[-1][1], now - t0, False
        time.sleep(0.25)


def stalled_readers(tunnel, opts):
    """The growth of the client's RSS while opts.stall_clients clients of
    its -L do not read and their target offers opts.stall_bytes each.
    Returns a dict of the values (MiB, seconds)."""
    pid = tunnel.proc.pid
    time.sleep(0.3)                 # let the fresh process settle
    rss0 = proc_status_kib(pid, "VmRSS")
    socks = []
    try:
        for _ in range(opts.stall_clients):
            socks.append(open_request(tunnel.port, OP_STREAM,
                                      opts.stall_bytes))
        rss, waited, settled = settle_rss(pid, opts.stall_settle)
        hwm = proc_status_kib(pid, "VmHWM")
    finally:
        for sock in socks:
            sock.close()
    return {"growth": (rss - rss0) / 1024.0, "peak": (hwm - rss0) / 1024.0,
            "idle": rss0 / 1024.0, "waited": waited, "settled": settled}


def round_trips(tunnel, count):
    """count 1-byte round trips on one connection; returns (p50, p99) in
    microseconds."""
    sock = open_request(tunnel.port, OP_ECHO, count + LATENCY_WARMUP)
    samples = []
    try:
        for i in range(count + LATENCY_WARMUP):
            t0 = time.perf_counter_ns()
            sock.sendall(b"x")
            if sock.recv(1) != b"x":
                raise BenchError("echo lost")
            if i >= LATENCY_WARMUP:
                samples.append((time.perf_counter_ns() - t0) / 1000.0)
    finally:
        sock.close()
    samples.sort()
    return (samples[len(samples) // 2],
            samples[min(len(samples) - 1, int(len(samples) * 0.99))])


# ------------------------------------------------------ SOCKS (-D) proxies

def start_echo_server(socksload):
    """Start socksload's loopback echo server; returns (process, port)."""
    proc = fixture.start([socksload, "echo"], stdout=subprocess.PIPE)
    line = proc.stdout.readline().decode(errors="replace").split()
    if not line or not line[-1].isdigit():
        raise BenchError("socksload echo server did not start")
    return proc, int(line[-1])


def proc_status_kib(pid, field):
    """A number of /proc/PID/status: a kB field (VmRSS, VmHWM) in KiB, or
    a count (Threads)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError as e:
        raise BenchError("cannot read /proc/%d/status: %s" % (pid, e))
    raise BenchError("no %s in /proc/%d/status" % (field, pid))


class LineReader:
    """Lines from a child's stdout with deadlines, and whatever else to do
    (sampling) while waiting."""

    def __init__(self, proc, what):
        self.proc = proc
        self.what = what
        self.buf = b""
        self.errors = []            # "error ..." lines

    def line(self, timeout, idle=None, idle_every=0.01):
        """The next line that is not an error line; idle() is called every
        idle_every seconds meanwhile."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                text, self.buf = self.buf.split(b"\n", 1)
                text = text.decode(errors="replace").strip()
                if text.startswith("error "):
                    self.errors.append(text[6:])
                    continue
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("%s: no answer within %.0f s"
                                 % (self.what, timeout))
            ready, _, _ = select.select([fd], [], [],
                                        min(left, idle_every if idle
                                            else left))
            if idle:
                idle()
            if ready:
                data = os.read(fd, 4096)
                if not data:
                    raise BenchError("%s exited (%s)%s"
                                     % (self.what, self.proc.poll(),
                                        ": " + "; ".join(self.errors)
                                        if self.errors else ""))
                self.buf += data


def socks_rate(tunnel, opts, echo_port):
    """Connections per second through a SOCKS proxy; returns (conns/s,
    failures, p50 µs, p99 µs, proxy CPU ms per 1000 connections, first
    error or None)."""
    argv = [opts.socksload, "rate", str(tunnel.port), str(echo_port),
            str(opts.socks_threads), str(opts.socks_seconds),
            str(opts.socks_rate_bytes)]
    proc = fixture.start(argv, stdout=subprocess.PIPE)
    try:
        cpu0 = tunnel.cpu()
        reader = LineReader(proc, "socksload rate")
        fields = reader.line(opts.socks_seconds + 60).split()
        cpu1 = tunnel.cpu()
        if len(fields) != 7 or fields[0] != "rate":
            raise BenchError("socksload rate said %r" % " ".join(fields))
    finally:
        fixture.stop(proc)
    ok, fail = int(fields[1]), int(fields[2])
    seconds = float(fields[3])
    if ok == 0:
        raise BenchError("no connection succeeded (%d failed): %s"
                         % (fail, "; ".join(reader.errors)))
    total = int(fields[6])
    return (ok / seconds, fail, float(fields[4]), float(fields[5]),
            (cpu1 - cpu0) * 1000.0 / total * 1000.0,
            reader.errors[0] if reader.errors else None)


def map_count(pid):
    """How many memory mappings a process has (vm.max_map_count bounds
    it; each thread stack takes two)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return sum(1 for _ in f)
    except OSError as e:
        raise BenchError("cannot read /proc/%d/maps: %s" % (pid, e))


def socks_many(tunnel, opts, echo_port, count=None, nbytes=None,
               open_seconds=0, timeout=None):
    """count connections (opts.socks_conns) opened through a SOCKS proxy,
    then all echoing nbytes (opts.socks_bytes) at once, with the proxy's
    RSS and threads along the way; no new opens after open_seconds (0:
    none); a handshake or the echo gives up after timeout seconds
    (opts.socks_timeout).  Returns a dict of the values."""
    count = count or opts.socks_conns
    nbytes = nbytes or opts.socks_bytes
    timeout = timeout or opts.socks_timeout
    pid = tunnel.proc.pid
    time.sleep(0.3)                 # let the fresh process settle
    r = {"rss idle": proc_status_kib(pid, "VmRSS")}
    argv = [opts.socksload, "many", str(tunnel.port), str(echo_port),
            str(count), str(nbytes), str(opts.socks_parallel),
            str(timeout), str(open_seconds)]
    proc = fixture.start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    reader = LineReader(proc, "socksload many")
    peak = [0, 0]

    def sample():
        try:
            peak[0] = max(peak[0], proc_status_kib(pid, "VmRSS"))
            peak[1] = max(peak[1], proc_status_kib(pid, "Threads"))
        except BenchError:
            pass                    # the proxy died: seen below

    try:
        # Each handshake gives up after timeout; allow them to run one
        # after another in the worst case, within reason.
        f = reader.line((open_seconds or 2 * timeout) + timeout + 30,
                        idle=sample,
                        idle_every=0.1).split()
        if len(f) != 5 or f[0] != "opened":
            raise BenchError("socksload many said %r" % " ".join(f))
        r["opened"], r["open time"] = int(f[1]), float(f[3])
        time.sleep(0.5)
        r["rss open"] = proc_status_kib(pid, "VmRSS")
        r["threads open"] = proc_status_kib(pid, "Threads")
        r["maps open"] = map_count(pid)
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        f = reader.line(timeout + 30, idle=sample).split()
        sample()
        if len(f) != 6 or f[0] != "done":
            raise BenchError("socksload many said %r" % " ".join(f))
        r["ok"], r["time"] = int(f[1]), float(f[3])
        r["time p50"], r["time p90"] = float(f[4]), float(f[5])
        r["wall"] = r["open time"] + r["time"]
        # VmHWM can lag VmRSS a little (per-CPU RSS counters): the peak
        # is the larger of the samples and the high-water mark.
        r["hwm"] = proc_status_kib(pid, "VmHWM")
        r["rss peak"] = max(peak[0], r["hwm"])
        r["threads peak"] = peak[1]
        time.sleep(0.5)
        r["rss after"] = proc_status_kib(pid, "VmRSS")
        proc.stdin.write(b"close\n")
        proc.stdin.flush()
        reader.line(30)
    finally:
        fixture.stop(proc)
    r["rss per conn"] = ((r["rss open"] - r["rss idle"]) / r["opened"]
                         if r["opened"] else None)
    r["errors"] = reader.errors
    return r


def socks_hold(tunnel, opts, echo_port):
    """Time to open opts.hold_conns SOCKS connections that stay open
    (opts.hold_parallel handshakes at a time); returns a dict."""
    argv = [opts.socksload, "many", str(tunnel.port), str(echo_port),
            str(opts.hold_conns), "0", str(opts.hold_parallel),
            str(opts.socks_timeout), str(opts.socks_timeout)]
    proc = fixture.start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    reader = LineReader(proc, "socksload many (hold)")
    try:
        f = reader.line(3 * opts.socks_timeout + 30).split()
        if len(f) != 5 or f[0] != "opened":
            raise BenchError("socksload many said %r" % " ".join(f))
        r = {"opened": int(f[1]), "failed": int(f[2]), "time": float(f[3]),
             "rss": proc_status_kib(tunnel.proc.pid, "VmRSS") / 1024.0}
        proc.stdin.write(b"close\n")
        proc.stdin.flush()
        reader.line(30)
    finally:
        fixture.stop(proc)
    r["errors"] = reader.errors
    return r


class BlackHole:
    """A loopback port that never answers: a socket listening with
    backlog 0 whose accept queue is full (one connection never
    accepted), so the kernel drops further SYNs and a connect to it
    hangs until the connecting side gives up."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.filler = socket.create_connection(("127.0.0.1", self.port), 2)
        time.sleep(0.05)
        if not self.swallows():
            self.close()
            raise BenchError("cannot make a black hole on loopback: a "
                             "connect to a full accept queue was answered")

    def swallows(self):
        """True when a connect gets no answer within half a second."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect(("127.0.0.1", self.port))
            except socket.timeout:
                return True
            except OSError:
                return False
            return False

    def close(self):
        self.filler.close()
        self.sock.close()


def socks_blackhole(tunnel, opts, echo_port, hole_port, count):
    """count SOCKS requests of which 1 in opts.hole_every goes to a black
    hole (sent, never waited for); the others' connect -> echo times.
    Returns a dict."""
    argv = [opts.socksload, "blackhole", str(tunnel.port), str(echo_port),
            str(hole_port), str(opts.socks_threads), str(count),
            str(opts.hole_seconds), str(opts.socks_rate_bytes),
            str(opts.hole_timeout), str(opts.hole_every)]
    proc = fixture.start(argv, stdout=subprocess.PIPE)
    reader = LineReader(proc, "socksload blackhole")
    try:
        f = reader.line(opts.hole_seconds + 4 * opts.hole_timeout
                        + 30).split()
        if len(f) != 10 or f[0] != "blackhole":
            raise BenchError("socksload blackhole said %r" % " ".join(f))
    finally:
        fixture.stop(proc)
    keys = ("ok", "fail", "holes", "hole fail", "answered", "not tried")
    r = dict(zip(keys, (int(v) for v in f[1:7])))
    r["time"], r["p50"], r["p99"] = float(f[7]), float(f[8]), float(f[9])
    r["errors"] = reader.errors
    return r


def make_fresh_tunnel(client, ctx, path, flag="-D"):
    """A fresh client process for one measurement (fresh, so that its
    RSS and CPU are that measurement's): a -D proxy, or with flag -L a
    forward to the target server."""
    opts = ctx["opts"]
    sshd = ctx["sshd"]
    lport = fixture.free_port()
    forward = "127.0.0.1:%d" % lport
    if flag == "-L":
        forward += ":127.0.0.1:%d" % ctx["target_port"]
    if client == "ssh":
        argv = ssh_argv(opts.ssh, sshd, sshd.port, ctx["known_hosts"],
                        opts.cipher, opts.mac, forward, flag=flag)
    else:
        argv = sshtun_argv(opts.sshtun, sshd, sshd.port, ctx["known_hosts"],
                           opts.cipher, opts.mac, forward, flag=flag)
    return Tunnel(client, path, argv, ctx["env"], lport, ctx["logdir"])


def measure_fresh(rep, client, ctx, path, label, fn, *args, flag="-D"):
    """measure() on a fresh client process, stopped afterwards."""
    t = make_fresh_tunnel(client, ctx, path, flag)
    try:
        return measure(rep, t, label, fn, *args)
    finally:
        t.stop()


def run_socks_rate(rep, order, opts, results, ctx):
    """SOCKS connections per second and connect -> echo times."""
    for client in order:
        r = measure_fresh(rep, client, ctx, "socks", "SOCKS connections/s",
                          socks_rate, opts, ctx["echo_port"])
        if r:
            rate, fail, p50, p99, cpu, err = r
            results.add("socks rate", client, rate)
            results.add("socks fail", client, fail)
            results.add("socks p50", client, p50)
            results.add("socks p99", client, p99)
            results.add("socks cpu", client, cpu)
            warn("rep %d  SOCKS conns/s       %-6s %8.0f /s  p50 %7.0f us  "
                 "p99 %7.0f us  %5.0f CPU ms/1000  %d failed%s"
                 % (rep, client, rate, p50, p99, cpu, fail,
                    " (first: %s)" % err if err else ""))


def run_socks_many(rep, order, opts, results, ctx):
    """opts.socks_conns connections echoing opts.socks_bytes at once."""
    label = "SOCKS %d x %s" % (opts.socks_conns,
                               format_size(opts.socks_bytes))
    for client in order:
        r = measure_fresh(rep, client, ctx, "socks", label, socks_many,
                          opts, ctx["echo_port"])
        if r:
            for key in ("opened", "ok", "open time", "time", "rss idle",
                        "rss open", "rss peak", "rss after", "rss per conn"):
                if r.get(key) is not None:
                    results.add("many " + key, client, r[key])
            warn("rep %d  %s %-6s opened %d in %.2f s, echoed %d in %.2f s "
                 "(half by %.2f s, 90%% by %.2f s); RSS KiB idle %d, open "
                 "%d, peak %d (HWM %d), after %d, per conn %s%s"
                 % (rep, label, client, r["opened"], r["open time"],
                    r["ok"], r["time"], r["time p50"], r["time p90"],
                    r["rss idle"], r["rss open"], r["rss peak"], r["hwm"],
                    r["rss after"], fmt(r["rss per conn"]),
                    "; errors: " + "; ".join(r["errors"])
                    if r["errors"] else ""))


def run_hold(rep, order, opts, results, ctx):
    """Time to open opts.hold_conns held SOCKS connections."""
    for client in order:
        r = measure_fresh(rep, client, ctx, "hold",
                          "SOCKS hold %d" % opts.hold_conns, socks_hold,
                          opts, ctx["echo_port"])
        if r:
            results.add("hold time", client, r["time"])
            results.add("hold opened", client, r["opened"])
            results.add("hold rss", client, r["rss"])
            warn("rep %d  SOCKS hold %d     %-6s opened %d (%d failed) in "
                 "%.2f s, RSS %.1f MiB%s"
                 % (rep, opts.hold_conns, client, r["opened"], r["failed"],
                    r["time"], r["rss"], "; errors: "
                    + "; ".join(r["errors"]) if r["errors"] else ""))


def run_blackhole(rep, order, opts, results, ctx):
    """SOCKS requests with 1 in opts.hole_every to a black hole, a run per
    count in opts.hole_requests."""
    for n, client in [(n, c) for n in opts.hole_requests for c in order]:
        r = measure_fresh(rep, client, ctx, "blackhole",
                          "SOCKS black hole %d" % n, socks_blackhole, opts,
                          ctx["echo_port"], ctx["hole"].port, n)
        if r:
            for key in ("p50", "p99", "ok", "fail", "holes", "not tried"):
                results.add("hole%d %s" % (n, key), client, r[key])
            warn("rep %d  SOCKS black hole %-5d %-6s p50 %7.0f us  p99 "
                 "%7.0f us  %d ok, %d failed, %d to the hole (%d answered, "
                 "%d not sent), %d not tried, %.1f s%s"
                 % (rep, n, client, r["p50"], r["p99"], r["ok"], r["fail"],
                    r["holes"], r["answered"], r["hole fail"],
                    r["not tried"], r["time"], " (first error: %s)"
                    % r["errors"][0] if r["errors"] else ""))


def run_many_conns(rep, order, opts, results, ctx):
    """The optional group: opts.many_counts concurrent connections each
    echoing opts.many_bytes through one -D."""
    for count in opts.many_counts:
        label = "SOCKS %d x %s" % (count, format_size(opts.many_bytes))
        for client in order:
            r = measure_fresh(rep, client, ctx, "many%d" % count, label,
                              socks_many, opts, ctx["echo_port"], count,
                              opts.many_bytes, opts.many_open_seconds,
                              opts.many_timeout)
            if not r:
                continue
            for key in ("ok", "opened", "open time", "time", "wall",
                        "threads open", "threads peak", "maps open"):
                results.add("big%d %s" % (count, key), client, r[key])
            for key in ("rss idle", "rss open", "rss peak"):
                results.add("big%d %s" % (count, key), client,
                            r[key] / 1024.0)
            warn("rep %d  %s %-6s opened %d in %.2f s, echoed %d in %.2f "
                 "s, %.1f s in all; RSS MiB idle %.0f, open %.0f, peak %.0f;"
                 " threads %d (peak %d), %d mappings%s"
                 % (rep, label, client, r["opened"], r["open time"],
                    r["ok"], r["time"], r["wall"], r["rss idle"] / 1024.0,
                    r["rss open"] / 1024.0, r["rss peak"] / 1024.0,
                    r["threads open"], r["threads peak"], r["maps open"],
                    "; errors: " + "; ".join(r["errors"])
                    if r["errors"] else ""))


# ------------------------------------------------------------------ running

def warn(text):
    sys.stderr.write(text.rstrip() + "\n")
    sys.stderr.flush()


class Results:
    """Samples per (measurement, client), one per repetition, and notes
    standing in for values that cannot exist."""

    def __init__(self):
        self.samples = {}
        self.notes = {}

    def add(self, measurement, client, value):
        self.samples.setdefault((measurement, client), []).append(value)

    def note(self, measurement, client, text):
        self.notes[(measurement, client)] = text

    def median(self, measurement, client):
        values = self.samples.get((measurement, client))
        return statistics.median(values) if values else None

    def cell(self, measurement, client, digits=1):
        """'median (min-max)' text, or just the value for one sample."""
        values = self.samples.get((measurement, client))
        if not values:
            return self.notes.get((measurement, client), "-")
        text = fmt(statistics.median(values), digits)
        if len(values) > 1:
            text += " (%s–%s)" % (fmt(min(values), digits),
                                  fmt(max(values), digits))
        return text


def measure(rep, tunnel, label, fn, *args):
    """Run fn(tunnel, *args); on failure report it, stop the tunnel (the
    next measurement restarts it) and return None, leaving a gap."""
    try:
        tunnel.ensure_running()
        values = fn(tunnel, *args)
    except (BenchError, OSError) as e:
        # A start failure has its stderr in e already.
        detail = tunnel.stderr() if tunnel.proc is not None else ""
        warn("rep %d  %-26s %-14s FAILED: %s\n%s"
             % (rep, label, tunnel.client, e, detail))
        tunnel.stop()
        return None
    return values


def run_loopback(rep, pair, opts, results):
    """Single-stream loopback transfers: MB/s, CPU and context switches
    per GiB."""
    for op, name in ((OP_UPLOAD, "upload"), (OP_DOWNLOAD, "download")):
        for t in pair("loopback"):
            r = measure(rep, t, "loopback " + name, transfer, op,
                        opts.loopback_size)
            if r:
                for key, v in zip(("loopback ", "cpu ", "csw ", "icsw "), r):
                    results.add(key + name, t.client, v)
                warn("rep %d  loopback %-8s  %-6s %8.1f MB/s  %6.2f CPU "
                     "s/GiB  %8.0f + %6.0f ctx sw/GiB"
                     % ((rep, name, t.client) + r))


def run_delayed(rep, pair, opts, results):
    """Single-stream transfers over the delayed path."""
    for op, name in ((OP_UPLOAD, "upload"), (OP_DOWNLOAD, "download")):
        for t in pair("delayed"):
            r = measure(rep, t, "delayed " + name, transfer, op,
                        opts.delayed_size)
            if r:
                results.add("delayed " + name, t.client, r[0])
                warn("rep %d  delayed  %-8s  %-6s %8.1f MB/s"
                     % (rep, name, t.client, r[0]))


def no_pool(tunnel):
    """True when this sshtun does not know the pool keywords."""
    try:
        tunnel.ensure_running()
    except BenchError:
        return "PoolMin" in tunnel.stderr()
    return False


def run_streams(rep, pair, tunnels, opts, results):
    """opts.streams transfers at once through one tunnel: ssh, sshtun and
    sshtun with a minimum pool of opts.pool_min connections."""
    label = "%d streams" % opts.streams
    clients = pair("loopback")
    pool = tunnels[(POOL, "loopback")]
    if no_pool(pool):
        for name in ("upload", "download"):
            for key in ("streams ", "streams cpu "):
                results.note(key + name, POOL, "n/a (no pool)")
        warn("rep %d  %s: sshtun refuses PoolMin: n/a (no pool)"
             % (rep, label))
    else:
        clients.append(pool)
    for op, name in ((OP_UPLOAD, "upload"), (OP_DOWNLOAD, "download")):
        for t in clients:
            r = measure(rep, t, "%s %s" % (label, name), streams, op,
                        opts.streams_size, opts.streams)
            if r:
                for key, v in zip(("streams ", "streams cpu ",
                                   "streams csw ", "streams icsw "), r):
                    results.add(key + name, t.client, v)
                warn("rep %d  %s %-8s %-12s %8.1f MB/s  %6.2f CPU s/GiB  "
                     "%8.0f + %6.0f ctx sw/GiB"
                     % ((rep, label, name, t.client) + r))


def run_stall(rep, order, opts, results, ctx):
    """RSS growth of the client with stalled readers on one -L."""
    label = "%d stalled readers" % opts.stall_clients
    for client in order:
        r = measure_fresh(rep, client, ctx, "stall", label, stalled_readers,
                          opts, flag="-L")
        if r:
            results.add("stall growth", client, r["growth"])
            results.add("stall peak", client, r["peak"])
            warn("rep %d  %s  %-6s RSS +%.1f MiB (peak +%.1f) over %.1f "
                 "MiB idle, %s after %.1f s"
                 % (rep, label, client, r["growth"], r["peak"], r["idle"],
                    "settled" if r["settled"] else "still moving",
                    r["waited"]))


def run_rep(rep, tunnels, order, opts, results, ctx):
    """One repetition of the -L groups, clients interleaved."""
    def pair(path):
        return [tunnels[(client, path)] for client in order]

    groups = opts.groups
    if "loopback" in groups:
        run_loopback(rep, pair, opts, results)
    if "rtt" in groups:
        for t in pair("loopback"):
            r = measure(rep, t, "round trip", round_trips,
                        opts.round_trips)
            if r:
                results.add("rtt p50", t.client, r[0])
                results.add("rtt p99", t.client, r[1])
                warn("rep %d  1-byte round trip   %-6s p50 %7.1f us  p99 "
                     "%7.1f us" % (rep, t.client, r[0], r[1]))
    if "delayed" in groups:
        run_delayed(rep, pair, opts, results)
    for window in opts.windows if "windows" in groups else ():
        t = tunnels[("sshtun", "window " + window)]
        r = measure(rep, t, "window " + window, transfer,
                    OP_DOWNLOAD, opts.delayed_size)
        if r:
            results.add("window " + window, "sshtun", r[0])
            warn("rep %d  delayed  download  sshtun -o WindowSize=%-4s "
                 "%8.1f MB/s" % (rep, window, r[0]))
    if "streams" in groups:
        run_streams(rep, pair, tunnels, opts, results)
    if "stall" in groups:
        run_stall(rep, order, opts, results, ctx)


def run_socks(rep, order, opts, results, ctx):
    """One repetition of the SOCKS groups, clients interleaved; the
    optional many-connections group in the first one only."""
    groups = opts.groups
    if "socks-rate" in groups:
        run_socks_rate(rep, order, opts, results, ctx)
    if "socks-many" in groups:
        run_socks_many(rep, order, opts, results, ctx)
    if "hold" in groups:
        run_hold(rep, order, opts, results, ctx)
    if "blackhole" in groups:
        run_blackhole(rep, order, opts, results, ctx)
    if "many" in groups and rep == 1:
        run_many_conns(rep, order, opts, results, ctx)


def make_tunnels(opts, sshd, target_port, proxy_port, known_hosts, env,
                 logdir):
    """The long-lived -L tunnels of one repetition the selected groups
    use, keyed by (client, path)."""
    tunnels = {}
    groups = opts.groups

    def add(client, path, ssh_port, window=None, extra=()):
        lport = fixture.free_port()
        forward = "127.0.0.1:%d:127.0.0.1:%d" % (lport, target_port)
        if client == "ssh":
            argv = ssh_argv(opts.ssh, sshd, ssh_port, known_hosts,
                            opts.cipher, opts.mac, forward)
        else:
            argv = sshtun_argv(opts.sshtun, sshd, ssh_port, known_hosts,
                               opts.cipher, opts.mac, forward, window,
                               extra=extra)
        tunnels[(client, path)] = Tunnel(client, path, argv, env, lport,
                                         logdir)

    for client in ("sshtun", "ssh"):
        if groups & {"loopback", "rtt", "streams"}:
            add(client, "loopback", sshd.port)
        if "delayed" in groups:
            add(client, "delayed", proxy_port)
    if "streams" in groups:
        add(POOL, "loopback", sshd.port,
            extra=["-o", "PoolMin=%d" % opts.pool_min])
    for window in opts.windows if "windows" in groups else ():
        add("sshtun", "window " + window, proxy_port, window)
    return tunnels


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=1):
    return "-" if value is None else "%.*f" % (digits, value)


def goal_text(value, goal, higher_is_better):
    """'≥ 0.60 met' style text for a ratio against its goal."""
    if goal is None:
        return ""
    sign = "≥" if higher_is_better else "≤"
    if value is None:
        return "%s %.2f (no data)" % (sign, goal)
    met = value >= goal if higher_is_better else value <= goal
    return "%s %.2f %s" % (sign, goal, "met" if met else "**missed**")


def row(results, spec, a_client="sshtun", b_client="ssh"):
    """One markdown table row: (key, label, digits, goal kind, goal,
    higher is better).  Goal kinds: "ratio" (the ratio against goal),
    "max" (sshtun's median at most goal, a unit text in the label),
    "all" (sshtun's count is goal in every repetition), "count" (no
    ratio), None (a ratio, no goal)."""
    key, label, digits, kind, goal, higher = spec
    a = results.median(key, a_client)
    b = results.median(key, b_client)
    r = None if kind in ("count", "all") else ratio(a, b)
    if kind == "ratio":
        g = goal_text(r, goal, higher)
    elif kind == "all":
        values = results.samples.get((key, a_client))
        if not values:
            g = "%d/%d (no data)" % (goal, goal)
        else:
            g = "%d/%d %s" % (goal, goal, "met" if min(values) >= goal
                              else "**missed** (min %d)" % min(values))
    elif kind == "max":
        g = ("≤ %g (sshtun) " % goal
             + ("(no data)" if a is None else
                "met" if a <= goal else "**missed**"))
    else:
        g = ""
    return ("| %s | %s | %s | %s | %s |"
            % (label, results.cell(key, a_client, digits),
               results.cell(key, b_client, digits), fmt(r, 2), g))


def tunnel_rows(opts):
    """The rows of the -L groups that ran, as (group, row spec), in
    order."""
    rtt = 2 * opts.delay_ms
    n = opts.streams
    rows = [("loopback", ("loopback " + d, "loopback %s (MB/s)" % d, 1,
                          "ratio", 0.6, True)) for d in DIRECTIONS]
    rows += [("loopback", ("cpu " + d, "client CPU, %s (s/GiB)" % d, 2,
                           "max", 2.8, False)) for d in DIRECTIONS]
    for d in DIRECTIONS:
        rows += [("loopback", ("csw " + d, "client context switches, %s, "
                               "voluntary (per GiB)" % d, 0, None, None,
                               False)),
                 ("loopback", ("icsw " + d, "client context switches, %s, "
                               "nonvoluntary (per GiB)" % d, 0, None, None,
                               False))]
    rows += [("rtt", ("rtt p50", "1-byte round trip p50 (µs)", 1, "ratio",
                      1.1, False)),
             ("rtt", ("rtt p99", "1-byte round trip p99 (µs)", 1, None,
                      None, False)),
             ("delayed", ("delayed upload", "%d ms path upload (MB/s)" % rtt,
                          1, None, None, True)),
             ("delayed", ("delayed download", "%d ms path download (MB/s)"
                          % rtt, 1, "ratio", 1.75, True))]
    for d in DIRECTIONS:
        rows += [("streams", ("streams " + d, "%d streams at once, %s, "
                              "aggregate (MB/s)" % (n, d), 1, None, None,
                              True)),
                 ("streams", ("streams cpu " + d, "%d streams, %s: client "
                              "CPU (s/GiB)" % (n, d), 2, None, None, False)),
                 ("streams", ("streams csw " + d, "%d streams, %s: context "
                              "switches, voluntary (per GiB)" % (n, d), 0,
                              None, None, False)),
                 ("streams", ("streams icsw " + d, "%d streams, %s: context "
                              "switches, nonvoluntary (per GiB)" % (n, d), 0,
                              None, None, False))]
    rows += [("stall", ("stall growth", "RSS growth, %d -L readers stalled, "
                        "%s offered each (MiB)"
                        % (opts.stall_clients,
                           format_size(opts.stall_bytes) + "iB"), 1,
                        "ratio", 1.0, False)),
             ("stall", ("stall peak", "RSS peak growth, same (MiB)", 1,
                        None, None, False))]
    return [(group, spec) for group, spec in rows if group in opts.groups]


def pool_rows(results, opts):
    """sshtun with a minimum pool against ssh and against sshtun with one
    connection (the goal: at least as fast)."""
    out = []
    for d in DIRECTIONS:
        for key, unit, digits in (("streams ", "MB/s", 1),
                                  ("streams cpu ", "CPU s/GiB", 2)):
            pool = results.median(key + d, POOL)
            one = results.median(key + d, "sshtun")
            g = ""
            if key == "streams ":
                g = ("≥ sshtun with one connection: "
                     + ("(no data)" if pool is None or one is None else
                        "met (%.2f)" % (pool / one) if pool >= one else
                        "**missed** (%.2f)" % (pool / one)))
            out.append("| %d streams, %s, sshtun -o PoolMin=%d (%s) | %s | "
                       "%s | %s | %s |"
                       % (opts.streams, d, opts.pool_min, unit,
                          results.cell(key + d, POOL, digits),
                          results.cell(key + d, "ssh", digits),
                          fmt(ratio(pool, results.median(key + d, "ssh")),
                              2), g))
    return out


def report(results, opts, reps_done, ssh_version, elapsed):
    """Print the markdown tables of medians and ratios."""
    out = []
    rows = tunnel_rows(opts)
    if rows:
        out.append("sshtun vs %s, %s + %s, one loopback sshd; %s per "
                   "transfer (%s over the %d ms path, %s over %d streams), "
                   "%d round trips; medians of %d repetition%s; %.0f s in "
                   "all."
                   % (ssh_version, opts.cipher, opts.mac,
                      format_size(opts.loopback_size) + "iB",
                      format_size(opts.delayed_size) + "iB",
                      2 * opts.delay_ms,
                      format_size(opts.streams_size) + "iB", opts.streams,
                      opts.round_trips, reps_done,
                      "" if reps_done == 1 else "s", elapsed))
        out.append("Cells: median (min–max).  Ratios are of medians, "
                   "sshtun/ssh: for MB/s above 1 means sshtun is faster; "
                   "for µs, CPU, switches and MiB below 1 means sshtun is "
                   "quicker or cheaper.  Context switches: all threads of "
                   "the client process, from /proc/PID/task/*/status.")
        out.append("")
        out.append("| measurement | sshtun | ssh | sshtun/ssh | goal |")
        out.append("|---|---:|---:|---:|---|")
        for i, (group, spec) in enumerate(rows):
            out.append(row(results, spec))
            if group == "streams" and (i + 1 == len(rows)
                                       or rows[i + 1][0] != "streams"):
                out += pool_rows(results, opts)
    if "windows" in opts.groups and opts.windows:
        out += windows_report(results, opts)
    if opts.groups & set(SOCKS_GROUPS):
        out.append("")
        out += socks_report(results, opts, reps_done, ssh_version)
    if "many" in opts.groups:
        out.append("")
        out += many_report(results, opts)
    print("\n".join(out), flush=True)


def windows_report(results, opts):
    """sshtun's download over the delayed path per WindowSize."""
    rtt = 2 * opts.delay_ms
    ssh_down = results.median("delayed download", "ssh")
    out = ["", "| sshtun -o WindowSize | %d ms path download (MB/s) "
           "| vs ssh |" % rtt, "|---|---:|---:|"]
    if "delayed" in opts.groups:
        default = results.median("delayed download", "sshtun")
        out.append("| (default) | %s | %s |"
                   % (results.cell("delayed download", "sshtun"),
                      fmt(ratio(default, ssh_down), 2)))
    for window in opts.windows:
        v = results.median("window " + window, "sshtun")
        out.append("| %s | %s | %s |"
                   % (window, results.cell("window " + window, "sshtun"),
                      fmt(ratio(v, ssh_down), 2)))
    return out


def socks_rows(opts):
    """The rows of the SOCKS groups that ran, as row specs."""
    n = opts.socks_conns
    many = "%d × %s" % (n, format_size(opts.socks_bytes) + "iB")
    rows = [
        ("socks-rate", ("socks rate", "connections/s (%d workers, %d B echo "
                        "each)" % (opts.socks_threads,
                                   opts.socks_rate_bytes), 0, "ratio", 1.5,
                        True)),
        ("socks-rate", ("socks p50", "connect → echo p50 (µs)", 0, None,
                        None, False)),
        ("socks-rate", ("socks p99", "connect → echo p99 (µs)", 0, None,
                        None, False)),
        ("socks-rate", ("socks fail", "failed connections in the "
                        "connections/s test", 0, "count", None, False)),
        ("socks-rate", ("socks cpu", "proxy CPU (ms per 1000 connections)",
                        0, None, None, False)),
        ("socks-many", ("many opened", "%s: opened (of %d)" % (many, n), 0,
                        "count", None, True)),
        ("socks-many", ("many ok", "%s: echoed whole (of %d)" % (many, n), 0,
                        "all", n, True)),
        ("socks-many", ("many open time", "%s: time to open all (s)" % many,
                        2, None, None, False)),
        ("socks-many", ("many time", "%s: echo time, all at once (s)" % many,
                        3, "ratio", 0.5, False)),
        ("socks-many", ("many rss idle", "proxy RSS, idle (KiB)", 0, None,
                        None, False)),
        ("socks-many", ("many rss open", "proxy RSS, %d connections open "
                        "(KiB)" % n, 0, None, None, False)),
        ("socks-many", ("many rss peak", "proxy RSS, peak during the echo "
                        "(KiB)", 0, None, None, False)),
        ("socks-many", ("many rss after", "proxy RSS after the echo, %d "
                        "still open (KiB)" % n, 0, None, None, False)),
        ("socks-many", ("many rss per conn", "RSS per open connection (KiB, "
                        "(open − idle) / %d)" % n, 1, "max", 64, False)),
        ("hold", ("hold time", "time to open %d held connections, %d at a "
                  "time (s)" % (opts.hold_conns, opts.hold_parallel), 3,
                  "ratio", 1.0, False)),
        ("hold", ("hold opened", "held connections opened (of %d)"
                  % opts.hold_conns, 0, "all", opts.hold_conns, True)),
        ("hold", ("hold rss", "proxy RSS with them open (MiB)", 1, None,
                  None, False)),
    ]
    for n in opts.hole_requests:
        k = "hole%d " % n
        hole = "%d requests, 1 in %d to a black hole" % (n, opts.hole_every)
        rows += [
            ("blackhole", (k + "p50", "%s: others' connect → echo p50 (µs)"
                           % hole, 0, None, None, False)),
            ("blackhole", (k + "p99", "%s: others' connect → echo p99 (µs)"
                           % hole, 0, None, None, False)),
            ("blackhole", (k + "ok", "%s: others echoed" % hole, 0, "count",
                           None, True)),
            ("blackhole", (k + "fail", "%s: others failed (%d s timeout)"
                           % (hole, opts.hole_timeout), 0, "count", None,
                           False)),
            ("blackhole", (k + "holes", "%s: requests sent to the hole"
                           % hole, 0, "count", None, False)),
            ("blackhole", (k + "not tried", "%s: not tried within %g s"
                           % (hole, opts.hole_seconds), 0, "count", None,
                           False)),
        ]
    return [spec for group, spec in rows if group in opts.groups]


def socks_report(results, opts, reps_done, ssh_version):
    """The markdown table of the SOCKS (-D) measurements."""
    out = []
    out.append("SOCKS5 proxies, `sshtun -D` vs `%s -D`, %s + %s, the same "
               "loopback sshd, a fresh client per measurement; medians of "
               "%d repetition%s."
               % (ssh_version, opts.cipher, opts.mac, reps_done,
                  "" if reps_done == 1 else "s"))
    out.append("Cells: median (min–max).  Ratios are of medians, "
               "sshtun/ssh: above 1 means more connections/s; below 1 "
               "means quicker or smaller.  Counts are goals for every "
               "repetition (the minimum is checked).  Black hole: %d "
               "workers, for at most %g s; a request to the hole is sent "
               "and left unanswered (not waited for), and it pins one SSH "
               "connection of sshtun's pool for as long as sshd's connect "
               "hangs, so the larger count goes beyond any bounded pool."
               % (opts.socks_threads, opts.hole_seconds))
    out.append("")
    out.append("| SOCKS measurement | sshtun | ssh | sshtun/ssh | goal |")
    out.append("|---|---:|---:|---:|---|")
    out += [row(results, spec) for spec in socks_rows(opts)]
    return out


def many_report(results, opts):
    """The table of the optional many-connections group, with the limits
    it met."""
    out = ["Many connections through one -D, each echoing %s; one run per "
           "count (no repetitions); opens stop after %d s, the echo after "
           "%d s." % (format_size(opts.many_bytes) + "iB",
                      opts.many_open_seconds, opts.many_timeout)]
    out += ["- " + line for line in limits_text(opts)]
    out += ["", "| many connections | sshtun | ssh | sshtun/ssh | goal |",
            "|---|---:|---:|---:|---|"]
    for n in opts.many_counts:
        k = "big%d " % n
        specs = [
            (k + "ok", "%d: echoed whole (of %d)" % (n, n), 0, "all", n,
             True),
            (k + "opened", "%d: opened" % n, 0, "count", None, True),
            (k + "open time", "%d: time opening them (s)" % n, 2, None, None,
             False),
            (k + "time", "%d: echo time, all at once (s)" % n, 2, None,
             None, False),
            (k + "wall", "%d: wall time, open + echo (s)" % n, 1,
             None, None, False),
            (k + "rss idle", "%d: client RSS idle (MiB)" % n, 1, None, None,
             False),
            (k + "rss open", "%d: client RSS, all open (MiB)" % n, 1, None,
             None, False),
            (k + "rss peak", "%d: client RSS, peak (MiB)" % n, 1,
             "max" if n <= 5000 else None, 512, False),
            (k + "threads peak", "%d: client threads, peak" % n, 0, "count",
             None, False),
            (k + "maps open", "%d: client memory mappings, all open" % n, 0,
             "count", None, False),
        ]
        out += [row(results, spec) for spec in specs]
    return out


def read_int(path):
    """An integer from a /proc file, or None."""
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def limit_text(value):
    return "unlimited" if value in (None, resource.RLIM_INFINITY) \
        else str(value)


def limits_text(opts):
    """What the many-connections group set and what it needs, as lines."""
    top = max(opts.many_counts)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    lines = [
        "RLIMIT_NOFILE set to %s (hard limit %s, was %s) for the harness "
        "and all it starts; the client, sshd, the load and the echo server "
        "each need about N + 100 descriptors at N connections (%d at %d): "
        "%s." % (limit_text(soft), limit_text(hard),
                 limit_text(opts.nofile_was), top + 100, top,
                 "enough" if hard == resource.RLIM_INFINITY
                 or hard >= top + 100 else "**too low**"),
        "Threads: kernel.threads-max %s, kernel.pid_max %s, RLIMIT_NPROC "
        "%s; a client with two threads per connection needs about 2N "
        "(%d at %d), and every thread a pid."
        % (limit_text(read_int("/proc/sys/kernel/threads-max")),
           limit_text(read_int("/proc/sys/kernel/pid_max")),
           limit_text(nproc), 2 * top, top),
        "Mappings: vm.max_map_count %s; each thread stack takes two "
        "(stack and guard page): about 4N at N (%d at %d)."
        % (limit_text(read_int("/proc/sys/vm/max_map_count")), 4 * top,
           top),
        "sshd: MaxSessions %s counts session channels only, not the "
        "direct-tcpip channels a SOCKS CONNECT opens; OpenSSH's ssh and "
        "sshd allow at most 16,384 channels per SSH connection (compiled "
        "in); MaxStartups %s bounds connections still authenticating."
        % (opts.sshd_max_sessions, opts.sshd_max_startups),
    ]
    return lines


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sshtun", default=os.environ.get("SSHTUN", "sshtun"))
    p.add_argument("--sshd", default=fixture.SSHD)
    p.add_argument("--ssh", default="ssh", help="OpenSSH's ssh")
    p.add_argument("--delayproxy", default=os.path.join(HERE, "delayproxy"))
    p.add_argument("--groups", metavar="G,G",
                   help="measurement groups to run, comma-separated, of: "
                        + ", ".join(ALL_GROUPS) + " (default: all but "
                        "many)")
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes and counts, 1 repetition (under 3 "
                        "minutes)")
    p.add_argument("--reps", type=int, help="repetitions (default 3)")
    p.add_argument("--sizes", metavar="LOOPBACK[,DELAYED]",
                   help="bytes per transfer on loopback and over the "
                        "delayed path, e.g. 512M or 512M,128M (default "
                        "512M; --quick: 32M)")
    p.add_argument("--round-trips", type=int,
                   help="1-byte round trips per repetition (default 2000)")
    p.add_argument("--delay-ms", type=int, default=10,
                   help="one-way delay of the delayed path (default 10)")
    p.add_argument("--windows", default="2M,4M,8M,16M",
                   help="sshtun WindowSize values to try on the delayed "
                        "path, comma-separated ('' for none)")
    p.add_argument("--cipher", default="aes128-ctr")
    p.add_argument("--mac", default="hmac-sha2-256")
    p.add_argument("--time-limit", type=float, default=540,
                   help="start no repetition that would end after this "
                        "many seconds (default 540); at least one runs")
    g = p.add_argument_group("parallel streams and stalled readers (-L)")
    g.add_argument("--streams", type=int, default=8,
                   help="transfers at once through one tunnel (default 8)")
    g.add_argument("--streams-size", type=parse_size,
                   help="bytes they move in all (default 512M; --quick: "
                        "128M)")
    g.add_argument("--pool-min", type=int, default=2,
                   help="sshtun -o PoolMin for the streams (default 2)")
    g.add_argument("--stall-clients", type=int, default=50,
                   help="-L clients that never read (default 50)")
    g.add_argument("--stall-bytes", type=parse_size, default=16 * MIB,
                   help="bytes the target offers each (default 16M)")
    g.add_argument("--stall-settle", type=float,
                   help="seconds at most to wait for the RSS to settle "
                        "(default 15; --quick: 8)")
    add_socks_args(p)
    return finish_args(p, p.parse_args())


def add_socks_args(p):
    """The options of the SOCKS groups."""
    g = p.add_argument_group("SOCKS proxy (-D) measurements")
    g.add_argument("--socks", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="run the SOCKS groups (default: yes)")
    g.add_argument("--socks-only", action="store_true",
                   help="only the SOCKS groups, no -L ones")
    g.add_argument("--socksload", default=os.path.join(HERE, "socksload"),
                   help="the SOCKS load client and echo server")
    g.add_argument("--socks-seconds", type=float,
                   help="duration of the connections/s test (default 10; "
                        "--quick: 3)")
    g.add_argument("--socks-threads", type=int, default=16,
                   help="client workers of the connections/s and black "
                        "hole tests (default 16)")
    g.add_argument("--socks-rate-bytes", type=parse_size, default=16,
                   help="bytes echoed per connection in the connections/s "
                        "and black hole tests (default 16)")
    g.add_argument("--socks-conns", type=int,
                   help="concurrent connections of the socks-many test "
                        "(default 1000; --quick: 200)")
    g.add_argument("--socks-bytes", type=parse_size, default=64 * 1024,
                   help="bytes each of them echoes (default 64K)")
    g.add_argument("--socks-parallel", type=int, default=16,
                   help="handshakes in flight while opening them "
                        "(default 16)")
    g.add_argument("--socks-timeout", type=int, default=60,
                   help="seconds a handshake or the whole transfer may "
                        "take (default 60)")
    g.add_argument("--hold-conns", type=int, default=1000,
                   help="held connections to open (default 1000)")
    g.add_argument("--hold-parallel", type=int, default=64,
                   help="handshakes in flight while opening them "
                        "(default 64)")
    g.add_argument("--hole-every", type=int, default=20,
                   help="1 request in this many goes to the black hole "
                        "(default 20)")
    g.add_argument("--hole-requests",
                   help="requests of the black hole test at most, one run "
                        "per count, comma-separated (default 140,4000: 7 "
                        "and 200 holes; --quick: 140,1000)")
    g.add_argument("--hole-seconds", type=float,
                   help="no new request after this many seconds (default "
                        "10; --quick: 4)")
    g.add_argument("--hole-timeout", type=int, default=5,
                   help="seconds each step of a request may wait "
                        "(default 5)")
    g.add_argument("--many", action="store_true",
                   help="add the many-connections group (off by default)")
    g.add_argument("--many-counts", default="5000,10000",
                   help="its concurrent connections, comma-separated "
                        "(default 5000,10000)")
    g.add_argument("--many-bytes", type=parse_size, default=16 * 1024,
                   help="bytes each of them echoes (default 16K)")
    g.add_argument("--many-open-seconds", type=int, default=120,
                   help="no new open after this many seconds (default 120)")
    g.add_argument("--many-timeout", type=int, default=90,
                   help="seconds a handshake or the echo of all may take "
                        "(default 90)")


def finish_args(p, opts):
    """Defaults that depend on --quick, and the groups selected."""
    sizes = opts.sizes or ("32M" if opts.quick else "512M")
    parts = [parse_size(s) for s in sizes.split(",")]
    opts.loopback_size = parts[0]
    opts.delayed_size = parts[1] if len(parts) > 1 else parts[0]
    opts.reps = opts.reps or (1 if opts.quick else 3)
    opts.round_trips = opts.round_trips or (200 if opts.quick else 2000)
    opts.windows = [w.strip() for w in opts.windows.split(",") if w.strip()]
    opts.streams_size = opts.streams_size or (128 * MIB if opts.quick
                                              else 512 * MIB)
    opts.stall_settle = opts.stall_settle or (8 if opts.quick else 15)
    opts.socks_seconds = opts.socks_seconds or (3 if opts.quick else 10)
    opts.socks_conns = opts.socks_conns or (200 if opts.quick else 1000)
    opts.hole_requests = [int(n) for n in (
        opts.hole_requests or ("140,1000" if opts.quick else "140,4000")
    ).split(",") if n]
    opts.hole_seconds = opts.hole_seconds or (4 if opts.quick else 10)
    opts.many_counts = [int(n) for n in opts.many_counts.split(",") if n]
    if opts.groups:
        opts.groups = set(g.strip() for g in opts.groups.split(",")
                          if g.strip())
        unknown = opts.groups - set(ALL_GROUPS)
        if unknown:
            p.error("unknown group(s) %s; groups: %s"
                    % (", ".join(sorted(unknown)), ", ".join(ALL_GROUPS)))
    else:
        opts.groups = set(TUNNEL_GROUPS + SOCKS_GROUPS)
    if opts.many:
        opts.groups.add("many")
    if opts.socks_only:
        opts.groups -= set(TUNNEL_GROUPS)
    if not opts.socks:
        opts.groups -= set(SOCKS_GROUPS + OPTIONAL_GROUPS)
    if (opts.groups & set(SOCKS_GROUPS + OPTIONAL_GROUPS)
            and not os.access(opts.socksload, os.X_OK)):
        p.error("no socksload at %s (make tests/bench/socksload)"
                % opts.socksload)
    if not opts.groups:
        p.error("no group selected")
    return opts


def raise_fd_limit(opts):
    """Raise RLIMIT_NOFILE to the hard limit, for this process and the
    ones it starts (clients, sshd, echo server, load client)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    opts.nofile_was = soft
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = max([opts.socks_conns, opts.hold_conns]
               + (opts.many_counts if "many" in opts.groups else [])) + 100
    if hard != resource.RLIM_INFINITY and hard < need:
        warn("warning: descriptor limit %d is below %d; the largest SOCKS "
             "tests may fail for lack of descriptors" % (hard, need))


def sshd_setting(sshd, keyword, default):
    """A keyword's value in the bench sshd's config (the first wins)."""
    with open(sshd.config) as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0].lower() == keyword.lower():
                return words[1]
    return default


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived."""


def on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def setup(opts, state):
    """sshd, the target server, the delay proxy, the echo server and the
    black hole the selected groups need; returns the context the runs
    share."""
    sshd = state["sshd"] = fixture.Sshd()
    opts.sshd_max_sessions = sshd_setting(sshd, "MaxSessions", "10")
    opts.sshd_max_startups = sshd_setting(sshd, "MaxStartups", "10:30:100")
    target = state["target"] = fixture.TcpServer(target_handler)
    ports = [sshd.port]
    ctx = {"opts": opts, "sshd": sshd, "env": sshd.env(),
           "target_port": target.port, "proxy_port": None}
    if opts.groups & {"delayed", "windows"}:
        _, ctx["proxy_port"] = start_delay_proxy(opts.delayproxy, sshd.port,
                                                 opts.delay_ms)
        ports.append(ctx["proxy_port"])
        warn("sshd on port %d, delay proxy (%d ms each way) on port %d"
             % (sshd.port, opts.delay_ms, ctx["proxy_port"]))
    ctx["known_hosts"] = os.path.join(sshd.dir, "known_hosts_bench")
    write_known_hosts(sshd, ports, ctx["known_hosts"])
    ctx["logdir"] = tempfile.mkdtemp(prefix="logs-", dir=sshd.dir)
    if opts.groups & set(SOCKS_GROUPS + OPTIONAL_GROUPS):
        _, ctx["echo_port"] = start_echo_server(opts.socksload)
        warn("sshd on port %d, SOCKS echo target on port %d"
             % (sshd.port, ctx["echo_port"]))
    if "blackhole" in opts.groups:
        try:
            ctx["hole"] = state["hole"] = BlackHole()
            warn("black hole on port %d" % ctx["hole"].port)
        except (BenchError, OSError) as e:
            warn("%s: the blackhole group is skipped" % e)
            opts.groups.discard("blackhole")
    return ctx


def run_all(opts, results, ctx, state, started):
    """Every repetition, within the time limit; returns how many ran."""
    reps_done = 0
    for rep in range(1, opts.reps + 1):
        rep_start = time.monotonic()
        if reps_done:
            per_rep = (rep_start - started) / reps_done
            if rep_start - started + per_rep > opts.time_limit:
                warn("time limit: stopping after %d repetitions"
                     % reps_done)
                break
        order = ["sshtun", "ssh"] if rep % 2 else ["ssh", "sshtun"]
        if opts.groups & set(TUNNEL_GROUPS):
            tunnels = state["tunnels"] = make_tunnels(
                opts, ctx["sshd"], ctx["target_port"], ctx["proxy_port"],
                ctx["known_hosts"], ctx["env"], ctx["logdir"])
            for key, t in tunnels.items():
                try:
                    if key[0] != POOL:      # started when used
                        t.start()
                except BenchError as e:
                    warn(str(e))    # its measurements retry, then fail
            run_rep(rep, tunnels, order, opts, results, ctx)
            for t in tunnels.values():
                t.stop()
            state["tunnels"] = {}
        run_socks(rep, order, opts, results, ctx)
        reps_done += 1
    return reps_done


def main():
    opts = parse_args()
    fixture.SSHD = opts.sshd
    raise_fd_limit(opts)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ssh_version = subprocess.run([opts.ssh, "-V"], capture_output=True,
                                 text=True).stderr.split(",")[0].strip()
    started = time.monotonic()
    results = Results()
    reps_done = 0
    state = {"tunnels": {}}
    failed = False
    try:
        ctx = setup(opts, state)
        reps_done = run_all(opts, results, ctx, state, started)
        for err in state["target"].errors:
            warn("target server error:\n" + err)
    except (Interrupted, BenchError, OSError, RuntimeError,
            subprocess.SubprocessError) as e:
        failed = True
        warn("benchmark stopped: %s" % e)
        if "sshd" in state and not isinstance(e, Interrupted):
            state["sshd"].dump_log()
    finally:
        for t in state["tunnels"].values():
            t.stop()
        fixture.stop_all()
        for name in ("hole", "target", "sshd"):
            if name in state:
                state[name].close()
    if reps_done:
        report(results, opts, reps_done, ssh_version,
               time.monotonic() - started)
    return 1 if failed or not reps_done else 0


if __name__ == "__main__":
    sys.exit(main())
