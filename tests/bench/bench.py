#!/usr/bin/env python3
"""Benchmark: `sshtun -L`, `-D` against OpenSSH `ssh -L`, `-D`, as ratios.

One run starts a throwaway sshd on loopback (tests/integration/fixture.py),
a delay proxy in front of it (delayproxy: DELAY ms each way, so a 2*DELAY
ms round-trip path), and a target server that sinks uploads, sources
downloads and echoes single bytes.  Then, for every repetition, it starts
one tunnel per client and path (sshtun and ssh straight to sshd, both
through the proxy, and sshtun with each -o WindowSize through the proxy),
all to the same sshd with the same cipher and MAC, and runs each
measurement on the clients in turn (A, B, A, B, ...; the order flips
every repetition):

  - single-stream throughput, upload and download (MB/s, 10^6 bytes/s);
  - 1-byte request/response round trips on one connection, p50 and p99;
  - CPU seconds the client process spent per GiB moved (utime + stime
    from /proc/PID/stat around each transfer);
  - throughput over the delayed path, where the SSH channel window
    limits a single stream to about window / round trip;
  - download over the delayed path for each sshtun WindowSize (the
    receive window is the client's, so only downloads depend on it).

With --socks (the default; --socks-only skips the -L measurements) it
also compares the SOCKS proxies, `sshtun -D` and `ssh -D`, to the same
sshd, a fresh client process per measurement, clients interleaved.  The
load is socksload (socksload.c), which also serves as the loopback echo
target, so that neither is the bottleneck:

  - connections per second: 16 workers (--socks-threads), each in a loop
    connecting, SOCKS5 greeting, CONNECT to the echo target, 16 bytes
    echoed, close, for 10 s (--socks-seconds); also the time from the
    TCP connect to the echo's arrival, p50 and p99, and the proxy's CPU
    per connection;
  - 1,000 concurrent connections (--socks-conns) each echoing 64 KiB
    (--socks-bytes): all are opened first (16 handshakes at a time),
    then all transfer at once; the count echoed whole, the times, and the
    proxy's RSS (VmRSS) idle, with all connections open, at its peak
    during the echo and after it, and per open connection.

Both clients carry every channel over one SSH connection, so sshd's
MaxStartups (unauthenticated connections) does not come into it, and
MaxSessions (100 in the fixture) counts "session" channels only, not the
direct-tcpip channels a SOCKS CONNECT opens.  The descriptor limit is
raised to the hard limit for this process and all it starts.

It prints progress on stderr and, at the end, a markdown table of the
medians with the ratio sshtun/ssh and the goal each ratio is held
against (reported, not asserted); failed connections are counted and
shown, never hidden.  Every process it starts is stopped by PID when it
ends, also on error or interruption.
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
OP_DOWNLOAD = b"D"              # server sends count bytes
OP_ECHO = b"E"                  # count 1-byte round trips
READY = b"R"                    # server: request taken, go
ACK = b"K"                      # server: upload fully received


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
                window=None, flag="-L"):
    """sshtun with the same options as ssh_argv, plus an optional window."""
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


def transfer(tunnel, op, nbytes):
    """One single-stream transfer; returns (MB/s, client CPU s per GiB)."""
    sock = open_request(tunnel.port, op, nbytes)
    try:
        deadline = time.monotonic() + TRANSFER_TIME_CAP
        cpu0 = tunnel.cpu()
        t0 = time.perf_counter()
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
        else:
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
        t1 = time.perf_counter()
        cpu1 = tunnel.cpu()
    finally:
        sock.close()
    return nbytes / (t1 - t0) / 1e6, (cpu1 - cpu0) / (nbytes / GIB)


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
    """A kB field of /proc/PID/status (VmRSS, VmHWM), in KiB."""
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


def socks_many(tunnel, opts, echo_port):
    """opts.socks_conns connections opened through a SOCKS proxy, then all
    echoing opts.socks_bytes at once, with the proxy's RSS along the way.
    Returns a dict of the values."""
    pid = tunnel.proc.pid
    time.sleep(0.3)                 # let the fresh process settle
    r = {"rss idle": proc_status_kib(pid, "VmRSS")}
    argv = [opts.socksload, "many", str(tunnel.port), str(echo_port),
            str(opts.socks_conns), str(opts.socks_bytes),
            str(opts.socks_parallel), str(opts.socks_timeout)]
    proc = fixture.start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    reader = LineReader(proc, "socksload many")
    peak = [0]

    def sample():
        try:
            peak[0] = max(peak[0], proc_status_kib(pid, "VmRSS"))
        except BenchError:
            pass                    # the proxy died: seen below

    try:
        # Each handshake gives up after socks_timeout; allow them to run
        # one after another in the worst case, within reason.
        f = reader.line(opts.socks_timeout * 3).split()
        if len(f) != 4 or f[0] != "opened":
            raise BenchError("socksload many said %r" % " ".join(f))
        r["opened"], r["open time"] = int(f[1]), float(f[3])
        time.sleep(0.5)
        r["rss open"] = proc_status_kib(pid, "VmRSS")
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        f = reader.line(opts.socks_timeout + 30, idle=sample).split()
        sample()
        if len(f) != 6 or f[0] != "done":
            raise BenchError("socksload many said %r" % " ".join(f))
        r["ok"], r["time"] = int(f[1]), float(f[3])
        r["time p50"], r["time p90"] = float(f[4]), float(f[5])
        # VmHWM can lag VmRSS a little (per-CPU RSS counters): the peak
        # is the larger of the samples and the high-water mark.
        r["hwm"] = proc_status_kib(pid, "VmHWM")
        r["rss peak"] = max(peak[0], r["hwm"])
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


def make_socks_tunnel(client, ctx):
    """A fresh -D proxy of one client (fresh, so that its RSS and CPU are
    its own measurement's)."""
    opts = ctx["opts"]
    sshd = ctx["sshd"]
    lport = fixture.free_port()
    forward = "127.0.0.1:%d" % lport
    if client == "ssh":
        argv = ssh_argv(opts.ssh, sshd, sshd.port, ctx["known_hosts"],
                        opts.cipher, opts.mac, forward, flag="-D")
    else:
        argv = sshtun_argv(opts.sshtun, sshd, sshd.port, ctx["known_hosts"],
                           opts.cipher, opts.mac, forward, flag="-D")
    return Tunnel(client, "socks", argv, ctx["env"], lport, ctx["logdir"])


def run_socks(rep, order, opts, results, ctx):
    """The SOCKS measurements of one repetition, clients interleaved."""
    echo_port = ctx["echo_port"]
    for client in order:
        t = make_socks_tunnel(client, ctx)
        try:
            r = measure(rep, t, "SOCKS connections/s", socks_rate, opts,
                        echo_port)
        finally:
            t.stop()
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
    label = "SOCKS %d x %s" % (opts.socks_conns,
                               format_size(opts.socks_bytes))
    for client in order:
        t = make_socks_tunnel(client, ctx)
        try:
            r = measure(rep, t, label, socks_many, opts, echo_port)
        finally:
            t.stop()
        if r:
            for key in ("opened", "ok", "open time", "time", "rss idle",
                        "rss open", "rss peak", "rss after", "rss per conn"):
                if r.get(key) is not None:
                    results.add("many " + key, client, r[key])
            warn("rep %d  SOCKS %d x %-5s %-6s opened %d in %.2f s, echoed "
                 "%d in %.2f s (half by %.2f s, 90%% by %.2f s); RSS KiB "
                 "idle %d, open %d, peak %d (HWM %d), after %d, per conn %s%s"
                 % (rep, opts.socks_conns, format_size(opts.socks_bytes),
                    client, r["opened"], r["open time"], r["ok"], r["time"],
                    r["time p50"], r["time p90"],
                    r["rss idle"], r["rss open"], r["rss peak"], r["hwm"],
                    r["rss after"], fmt(r["rss per conn"]),
                    "; errors: " + "; ".join(r["errors"])
                    if r["errors"] else ""))


# ------------------------------------------------------------------ running

def warn(text):
    sys.stderr.write(text.rstrip() + "\n")
    sys.stderr.flush()


class Results:
    """Samples per (measurement, client), one per repetition."""

    def __init__(self):
        self.samples = {}

    def add(self, measurement, client, value):
        self.samples.setdefault((measurement, client), []).append(value)

    def median(self, measurement, client):
        values = self.samples.get((measurement, client))
        return statistics.median(values) if values else None

    def cell(self, measurement, client, digits=1):
        """'median (min-max)' text, or just the value for one sample."""
        values = self.samples.get((measurement, client))
        if not values:
            return "-"
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


def run_rep(rep, tunnels, order, opts, results):
    """One repetition of every measurement, clients interleaved."""
    def pair(path):
        return [tunnels[(client, path)] for client in order]

    for op, name in ((OP_UPLOAD, "upload"), (OP_DOWNLOAD, "download")):
        for t in pair("loopback"):
            r = measure(rep, t, "loopback " + name, transfer, op,
                        opts.loopback_size)
            if r:
                results.add("loopback " + name, t.client, r[0])
                results.add("cpu " + name, t.client, r[1])
                warn("rep %d  loopback %-8s  %-6s %8.1f MB/s  %6.2f "
                     "CPU s/GiB" % (rep, name, t.client, r[0], r[1]))
    for t in pair("loopback"):
        r = measure(rep, t, "round trip", round_trips,
                    opts.round_trips)
        if r:
            results.add("rtt p50", t.client, r[0])
            results.add("rtt p99", t.client, r[1])
            warn("rep %d  1-byte round trip   %-6s p50 %7.1f us  p99 "
                 "%7.1f us" % (rep, t.client, r[0], r[1]))
    for op, name in ((OP_UPLOAD, "upload"), (OP_DOWNLOAD, "download")):
        for t in pair("delayed"):
            r = measure(rep, t, "delayed " + name, transfer, op,
                        opts.delayed_size)
            if r:
                results.add("delayed " + name, t.client, r[0])
                warn("rep %d  delayed  %-8s  %-6s %8.1f MB/s"
                     % (rep, name, t.client, r[0]))
    for window in opts.windows:
        t = tunnels[("sshtun", "window " + window)]
        r = measure(rep, t, "window " + window, transfer,
                    OP_DOWNLOAD, opts.delayed_size)
        if r:
            results.add("window " + window, "sshtun", r[0])
            warn("rep %d  delayed  download  sshtun -o WindowSize=%-4s "
                 "%8.1f MB/s" % (rep, window, r[0]))


def make_tunnels(opts, sshd, target_port, proxy_port, known_hosts, env,
                 logdir):
    """The tunnels of one repetition, keyed by (client, path)."""
    tunnels = {}

    def add(client, path, ssh_port, window=None):
        lport = fixture.free_port()
        forward = "127.0.0.1:%d:127.0.0.1:%d" % (lport, target_port)
        if client == "ssh":
            argv = ssh_argv(opts.ssh, sshd, ssh_port, known_hosts,
                            opts.cipher, opts.mac, forward)
        else:
            argv = sshtun_argv(opts.sshtun, sshd, ssh_port, known_hosts,
                               opts.cipher, opts.mac, forward, window)
        tunnels[(client, path)] = Tunnel(client, path, argv, env, lport,
                                         logdir)

    for client in ("sshtun", "ssh"):
        add(client, "loopback", sshd.port)
        add(client, "delayed", proxy_port)
    for window in opts.windows:
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


def report(results, opts, reps_done, ssh_version, elapsed):
    """Print the markdown tables of medians and ratios."""
    rtt = 2 * opts.delay_ms
    rows = [
        # measurement key, label, digits, goal, higher is better
        ("loopback upload", "loopback upload (MB/s)", 1, 0.6, True),
        ("loopback download", "loopback download (MB/s)", 1, 0.6, True),
        ("rtt p50", "1-byte round trip p50 (µs)", 1, 1.1, False),
        ("rtt p99", "1-byte round trip p99 (µs)", 1, None, False),
        ("cpu upload", "client CPU, upload (s/GiB)", 2, None, False),
        ("cpu download", "client CPU, download (s/GiB)", 2, None, False),
        ("delayed upload", "%d ms path upload (MB/s)" % rtt, 1, None, True),
        ("delayed download", "%d ms path download (MB/s)" % rtt, 1, 1.2,
         True),
    ]
    out = []
    if opts.socks_only:
        out += socks_report(results, opts, reps_done, ssh_version, elapsed)
        print("\n".join(out), flush=True)
        return
    out.append("sshtun vs %s, %s + %s, one loopback sshd; %s per transfer "
               "(%s over the %d ms path), %d round trips; medians of %d "
               "repetition%s; %.0f s in all."
               % (ssh_version, opts.cipher, opts.mac,
                  format_size(opts.loopback_size) + "iB",
                  format_size(opts.delayed_size) + "iB", rtt,
                  opts.round_trips, reps_done, "" if reps_done == 1 else "s",
                  elapsed))
    out.append("Cells: median (min–max).  Ratios are of medians, "
               "sshtun/ssh: for MB/s above 1 means sshtun is faster; for "
               "µs and CPU s/GiB below 1 means sshtun is quicker or "
               "cheaper.")
    out.append("")
    out.append("| measurement | sshtun | ssh | sshtun/ssh | goal |")
    out.append("|---|---:|---:|---:|---|")
    for key, label, digits, goal, higher in rows:
        a = results.median(key, "sshtun")
        b = results.median(key, "ssh")
        r = ratio(a, b)
        out.append("| %s | %s | %s | %s | %s |"
                   % (label, results.cell(key, "sshtun", digits),
                      results.cell(key, "ssh", digits), fmt(r, 2),
                      goal_text(r, goal, higher)))
    if opts.windows:
        ssh_down = results.median("delayed download", "ssh")
        out.append("")
        out.append("| sshtun -o WindowSize | %d ms path download (MB/s) "
                   "| vs ssh |" % rtt)
        out.append("|---|---:|---:|")
        default = results.median("delayed download", "sshtun")
        out.append("| (default) | %s | %s |"
                   % (results.cell("delayed download", "sshtun"),
                      fmt(ratio(default, ssh_down), 2)))
        for window in opts.windows:
            v = results.median("window " + window, "sshtun")
            out.append("| %s | %s | %s |"
                       % (window, results.cell("window " + window, "sshtun"),
                          fmt(ratio(v, ssh_down), 2)))
    if opts.socks:
        out.append("")
        out += socks_report(results, opts, reps_done, ssh_version, elapsed)
    print("\n".join(out), flush=True)


def socks_report(results, opts, reps_done, ssh_version, elapsed):
    """The markdown table of the SOCKS (-D) measurements."""
    n = opts.socks_conns
    many = "%d × %s" % (n, format_size(opts.socks_bytes) + "iB")
    rows = [
        # key, label, digits, goal kind, goal, higher is better
        ("socks rate", "connections/s (%d workers, %d B echo each)"
         % (opts.socks_threads, opts.socks_rate_bytes), 0, "ratio", 1.0,
         True),
        ("socks p50", "connect → echo p50 (µs)", 0, None, None, False),
        ("socks p99", "connect → echo p99 (µs)", 0, None, None, False),
        ("socks fail", "failed connections in the connections/s test", 0,
         "count", None, False),
        ("socks cpu", "proxy CPU (ms per 1000 connections)", 0, None, None,
         False),
        ("many opened", "%s: opened (of %d)" % (many, n), 0, "count", None,
         True),
        ("many ok", "%s: echoed whole (of %d)" % (many, n), 0, "all", n,
         True),
        ("many open time", "%s: time to open all (s)" % many, 2, None, None,
         False),
        ("many time", "%s: echo time, all at once (s)" % many, 3, "ratio",
         0.5, False),
        ("many rss idle", "proxy RSS, idle (KiB)", 0, None, None, False),
        ("many rss open", "proxy RSS, %d connections open (KiB)" % n, 0,
         None, None, False),
        ("many rss peak", "proxy RSS, peak during the echo (KiB)", 0,
         None, None, False),
        ("many rss after", "proxy RSS after the echo, %d still open (KiB)"
         % n, 0, None, None, False),
        ("many rss per conn", "RSS per open connection (KiB, (open − idle) "
         "/ %d)" % n, 1, "max", 64, False),
    ]
    out = []
    out.append("SOCKS5 proxies, `sshtun -D` vs `%s -D`, %s + %s, the same "
               "loopback sshd, one SSH connection each, a fresh client per "
               "measurement; medians of %d repetition%s%s."
               % (ssh_version, opts.cipher, opts.mac, reps_done,
                  "" if reps_done == 1 else "s",
                  "; %.0f s in all" % elapsed if opts.socks_only else ""))
    out.append("Cells: median (min–max).  Ratios are of medians, "
               "sshtun/ssh: above 1 means more connections/s; below 1 "
               "means quicker or smaller.  Counts are goals for every "
               "repetition (the minimum is checked).")
    out.append("")
    out.append("| SOCKS measurement | sshtun | ssh | sshtun/ssh | goal |")
    out.append("|---|---:|---:|---:|---|")
    for key, label, digits, kind, goal, higher in rows:
        a = results.median(key, "sshtun")
        b = results.median(key, "ssh")
        r = None if kind in ("count", "all") else ratio(a, b)
        if kind == "ratio":
            g = goal_text(r, goal, higher)
        elif kind == "all":
            values = results.samples.get((key, "sshtun"))
            if not values:
                g = "%d/%d (no data)" % (goal, goal)
            else:
                g = "%d/%d %s" % (goal, goal, "met" if min(values) >= goal
                                  else "**missed** (min %d)" % min(values))
        elif kind == "max":
            g = ("≤ %g KiB (sshtun) " % goal
                 + ("(no data)" if a is None else
                    "met" if a <= goal else "**missed**"))
        else:
            g = ""
        out.append("| %s | %s | %s | %s | %s |"
                   % (label, results.cell(key, "sshtun", digits),
                      results.cell(key, "ssh", digits), fmt(r, 2), g))
    return out


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sshtun", default=os.environ.get("SSHTUN", "sshtun"))
    p.add_argument("--sshd", default=fixture.SSHD)
    p.add_argument("--ssh", default="ssh", help="OpenSSH's ssh")
    p.add_argument("--delayproxy", default=os.path.join(HERE, "delayproxy"))
    p.add_argument("--quick", action="store_true",
                   help="32 MiB transfers, 200 round trips, 3 s of SOCKS "
                        "connections, 200 concurrent SOCKS connections, "
                        "1 repetition")
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
    g = p.add_argument_group("SOCKS proxy (-D) measurements")
    g.add_argument("--socks", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="measure sshtun -D against ssh -D (default: yes)")
    g.add_argument("--socks-only", action="store_true",
                   help="only the SOCKS measurements, no -L ones")
    g.add_argument("--socksload", default=os.path.join(HERE, "socksload"),
                   help="the SOCKS load client and echo server")
    g.add_argument("--socks-seconds", type=float,
                   help="duration of the connections/s test (default 10; "
                        "--quick: 3)")
    g.add_argument("--socks-threads", type=int, default=16,
                   help="client workers of the connections/s test "
                        "(default 16)")
    g.add_argument("--socks-rate-bytes", type=parse_size, default=16,
                   help="bytes echoed per connection in the connections/s "
                        "test (default 16)")
    g.add_argument("--socks-conns", type=int,
                   help="concurrent connections of the many-connections "
                        "test (default 1000; --quick: 200)")
    g.add_argument("--socks-bytes", type=parse_size, default=64 * 1024,
                   help="bytes each of them echoes (default 64K)")
    g.add_argument("--socks-parallel", type=int, default=16,
                   help="handshakes in flight while opening them "
                        "(default 16)")
    g.add_argument("--socks-timeout", type=int, default=60,
                   help="seconds a handshake or the whole transfer may "
                        "take (default 60)")
    opts = p.parse_args()
    sizes = opts.sizes or ("32M" if opts.quick else "512M")
    parts = [parse_size(s) for s in sizes.split(",")]
    opts.loopback_size = parts[0]
    opts.delayed_size = parts[1] if len(parts) > 1 else parts[0]
    opts.reps = opts.reps or (1 if opts.quick else 3)
    opts.round_trips = opts.round_trips or (200 if opts.quick else 2000)
    opts.windows = [w.strip() for w in opts.windows.split(",") if w.strip()]
    if opts.socks_only:
        opts.socks = True
    if opts.socks and not os.access(opts.socksload, os.X_OK):
        if opts.socks_only:
            p.error("no socksload at %s (make tests/bench/socksload)"
                    % opts.socksload)
        warn("no socksload at %s (make tests/bench/socksload): the SOCKS "
             "measurements are skipped" % opts.socksload)
        opts.socks = False
    opts.socks_seconds = opts.socks_seconds or (3 if opts.quick else 10)
    opts.socks_conns = opts.socks_conns or (200 if opts.quick else 1000)
    return opts


def raise_fd_limit(opts):
    """Raise RLIMIT_NOFILE to the hard limit, for this process and the
    ones it starts (clients, sshd, echo server, load client)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = 2 * opts.socks_conns + 200
    if opts.socks and hard != resource.RLIM_INFINITY and hard < need:
        warn("warning: descriptor limit %d is below %d; %d SOCKS "
             "connections may fail for lack of descriptors"
             % (hard, need, opts.socks_conns))


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived."""


def on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


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
    sshd = target = None
    tunnels = {}
    failed = False
    try:
        sshd = fixture.Sshd()
        target = fixture.TcpServer(target_handler)
        ports = [sshd.port]
        if not opts.socks_only:
            _, proxy_port = start_delay_proxy(opts.delayproxy, sshd.port,
                                              opts.delay_ms)
            ports.append(proxy_port)
            warn("sshd on port %d, delay proxy (%d ms each way) on port %d"
                 % (sshd.port, opts.delay_ms, proxy_port))
        known_hosts = os.path.join(sshd.dir, "known_hosts_bench")
        write_known_hosts(sshd, ports, known_hosts)
        logdir = tempfile.mkdtemp(prefix="logs-", dir=sshd.dir)
        if opts.socks:
            _, echo_port = start_echo_server(opts.socksload)
            socks_ctx = {"opts": opts, "sshd": sshd, "env": sshd.env(),
                         "known_hosts": known_hosts, "logdir": logdir,
                         "echo_port": echo_port}
            warn("sshd on port %d, SOCKS echo target on port %d"
                 % (sshd.port, echo_port))
        for rep in range(1, opts.reps + 1):
            rep_start = time.monotonic()
            if reps_done:
                per_rep = (rep_start - started) / reps_done
                if rep_start - started + per_rep > opts.time_limit:
                    warn("time limit: stopping after %d repetitions"
                         % reps_done)
                    break
            order = ["sshtun", "ssh"] if rep % 2 else ["ssh", "sshtun"]
            if not opts.socks_only:
                tunnels = make_tunnels(opts, sshd, target.port, proxy_port,
                                       known_hosts, sshd.env(), logdir)
                for t in tunnels.values():
                    try:
                        t.start()
                    except BenchError as e:
                        warn(str(e))    # its measurements retry, then fail
                run_rep(rep, tunnels, order, opts, results)
                for t in tunnels.values():
                    t.stop()
                tunnels = {}
            if opts.socks:
                run_socks(rep, order, opts, results, socks_ctx)
            reps_done += 1
        for err in target.errors:
            warn("target server error:\n" + err)
    except (Interrupted, BenchError, OSError, RuntimeError,
            subprocess.SubprocessError) as e:
        failed = True
        warn("benchmark stopped: %s" % e)
        if sshd is not None and not isinstance(e, Interrupted):
            sshd.dump_log()
    finally:
        for t in tunnels.values():
            t.stop()
        fixture.stop_all()
        if target is not None:
            target.close()
        if sshd is not None:
            sshd.close()
    if reps_done:
        report(results, opts, reps_done, ssh_version,
               time.monotonic() - started)
    return 1 if failed or not reps_done else 0


if __name__ == "__main__":
    sys.exit(main())
