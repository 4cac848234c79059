"""Remote forwarding (`sshtun -R`) and remote listeners, through a real sshd.

The server listens and sshtun connects each forwarded connection to a
real local target: 16 MiB each way with checksums, 100 concurrent
connections, a port the server picks, a SOCKS proxy on the server side
(-R port) used by curl, refusals by the server with and without
ExitOnForwardFailure, a refused local target, a port already taken on the
server, and the C API accepting from two threads.
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def remote(target_port, *extra):
    """Start sshtun with one -R to the local target; returns the Sshtun
    (the server's port in .port)."""
    return F.forward(sshd, "-R", target_port, *extra)


def test_16mib_each_way():
    size = 16 << 20
    up, down = F.pattern(size, seed=31), F.pattern(size, seed=32)
    with F.TcpServer(F.swap_handler(down)) as srv, remote(srv.port) as t:
        rp = t.port
        F.check_both_ways(srv, rp, up, down)


def test_100_concurrent():
    with F.TcpServer(F.echo_handler) as srv, remote(srv.port) as t:
        rp = t.port
        errors = F.concurrent_echoes(lambda i: F.connect(rp, timeout=60), 100, 65536,
                                     seed=300)
        assert not errors, errors[:5]


def test_port_zero_reported():
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-R", "0:127.0.0.1:%d" % srv.port) as t):
        deadline = time.monotonic() + 15
        port = None
        while time.monotonic() < deadline and port is None:
            for line in t.stderr().splitlines():
                if line.startswith("Allocated port "):
                    port = int(line.split()[2])
            time.sleep(0.05)
        assert port, t.stderr()
        assert ("for remote forward to 127.0.0.1:%d" % srv.port) in t.stderr()
        s = F.connect(port)
        s.sendall(b"picked")
        s.shutdown(socket.SHUT_WR)
        assert F.recv_all(s) == b"picked"
        s.close()
    t = F.Sshtun(sshd, "-q", "-R", "0:127.0.0.1:%d" % srv.port)
    time.sleep(1.5)
    t.stop()
    assert "Allocated port" not in t.stderr(), t.stderr()


def test_remote_dynamic_socks():
    web = tempfile.mkdtemp(dir=sshd.dir)
    body = F.pattern(80000, seed=33)
    with open(os.path.join(web, "blob"), "wb") as f:
        f.write(body)
    wport = F.free_port()
    httpd = F.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                     str(wport), "--directory", web],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    F.wait_port(wport, proc=httpd)
    try:
        with F.forward(sshd, "-R") as t:
            rp = t.port
            for mode, host in (("--socks5", "127.0.0.1"), ("--socks5-hostname", "localhost"),
                               ("--socks4", "127.0.0.1")):
                p = subprocess.run(["curl", "-sS", "--max-time", "20", mode, "127.0.0.1:%d" % rp,
                                    "http://%s:%d/blob" % (host, wport)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=40)
                assert p.returncode == 0 and p.stdout == body, (mode, p.stderr)
            p = subprocess.run(["curl", "-sS", "--max-time", "20", "--socks5", "127.0.0.1:%d" % rp,
                                "http://127.0.0.1:%d/" % F.free_port()],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=40)
            assert p.returncode == 97 and b"(5)" in p.stderr, p.stderr   # connection refused
    finally:
        F.stop(httpd)


def socks5_open(port, host, dport):
    """A SOCKS5 CONNECT through the proxy on port; (reply code, socket)."""
    s = F.connect(port)
    s.settimeout(20)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    if all(c.isdigit() or c == "." for c in host) and host.count(".") == 3:
        addr = b"\x01" + socket.inet_aton(host)
    else:                   # a name, as the client gave it
        addr = b"\x03" + bytes([len(host)]) + host.encode()
    s.sendall(b"\x05\x01\x00" + addr + dport.to_bytes(2, "big"))
    head = s.recv(10)
    return head[1], s


def test_permit_remote_open():
    """PermitRemoteOpen limits where a -R port SOCKS proxy connects."""
    a, b = F.TcpServer(F.echo_handler), F.TcpServer(F.echo_handler)
    rp = F.free_port()
    t = F.Sshtun(sshd, "-o", "PermitRemoteOpen=127.0.0.1:%d localhost:*" % a.port,
                 "-R", str(rp), wait_ports=[rp])
    try:
        data = F.pattern(300000, seed=7)
        for host, port, want in (("127.0.0.1", a.port, 0), ("127.0.0.1", b.port, 2),
                                 ("localhost", b.port, 0), ("127.1", a.port, 2),
                                 ("LOCALHOST", a.port, 0)):
            code, s = socks5_open(rp, host, port)
            assert code == want, (host, port, code, t.stderr())
            if code == 0:
                assert F.echo_roundtrip(s, data) == data
            s.close()
        assert "not allowed by PermitRemoteOpen" in t.stderr(), t.stderr()
    finally:
        t.stop()
    for value, want in (("none", 2), ("any", 0), ("*:%d" % a.port, 0),
                        ("127.0.0.1:*", 0), ("*:1", 2)):
        rp = F.free_port()
        t = F.Sshtun(sshd, "-o", "PermitRemoteOpen=%s" % value, "-R", str(rp),
                     wait_ports=[rp])
        try:
            code, s = socks5_open(rp, "127.0.0.1", a.port)
            s.close()
            assert code == want, (value, code, t.stderr())
        finally:
            t.stop()
    # A -D proxy is not limited by it (ssh applies it to -R only).
    dp = F.free_port()
    t = F.Sshtun(sshd, "-o", "PermitRemoteOpen=none", "-D", str(dp), wait_ports=[dp])
    try:
        code, s = socks5_open(dp, "127.0.0.1", a.port)
        s.close()
        assert code == 0, t.stderr()
    finally:
        t.stop()
        a.close()
        b.close()
    rc, err = F.run_sshtun(sshd, "-o", "PermitRemoteOpen=nohost", "-R", "0")
    assert rc == 255 and "PermitRemoteOpen: bad entry 'nohost'" in err, err


def test_server_refuses():
    nofwd = F.shared_sshd("AllowTcpForwarding no\n")
    rc, err = F.run_sshtun(nofwd, "-o", "ExitOnForwardFailure=yes",
                           "-R", "%d:127.0.0.1:9" % F.free_port())
    assert rc == 255 and "remote port forwarding failed" in err, (rc, err)
    t = F.Sshtun(nofwd, "-R", "%d:127.0.0.1:9" % F.free_port())
    time.sleep(2)
    assert t.proc.poll() is None, t.stderr()
    assert "remote port forwarding failed" in t.stderr()
    assert t.stop() == 0


def test_remote_port_taken():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        rc, err = F.run_sshtun(sshd, "-o", "ExitOnForwardFailure=yes",
                               "-R", "127.0.0.1:%d:127.0.0.1:9" % taken.getsockname()[1])
        assert rc == 255 and "remote port forwarding failed" in err, (rc, err)
    finally:
        taken.close()


def test_local_target_refused():
    closed = F.free_port()
    with remote(closed) as t:
        rp = t.port
        s = F.connect(rp, timeout=10)
        start = time.monotonic()
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 5
        s.close()
        time.sleep(0.3)
        assert "Connection refused" in t.stderr(), t.stderr()
        assert t.proc.poll() is None


def test_api_accept_from_two_threads():
    p = F.start([os.path.join(F.TOP_BUILDDIR, "tests/api/api_remote"), str(sshd.port),
                 sshd.user, sshd.client_key, sshd.known_hosts],
                env=sshd.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = p.stdout.readline().decode()
        assert line.startswith("port "), (line, p.stderr.read().decode())
        port = int(line.split()[1])
        datas = [F.pattern(200000, seed=40 + i) for i in range(2)]
        socks = [F.connect(port) for _ in range(2)]
        results = [None, None]

        def run(i):
            results[i] = F.recv_all(socks[i])

        readers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for r in readers:
            r.start()
        for i in range(2):
            socks[i].sendall(datas[i])
            socks[i].shutdown(socket.SHUT_WR)
        for r in readers:
            r.join(60)
        assert results == datas, [len(r or b"") for r in results]
        out, err = p.communicate(timeout=60)
        F.assert_no_sanitizer_report(err.decode(), "api_remote")
        assert p.returncode == 0 and b"ok: two channels" in out, (out, err)
    finally:
        F.stop(p)


if __name__ == "__main__":
    F.run_tests()
