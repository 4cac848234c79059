"""Local forwarding (`sshtun -L`) end to end through a real sshd.

Real targets on loopback, real clients (curl, ncat), bytes compared both
ways: large transfers in both directions at once, small payloads,
half-close in both directions, many concurrent connections, IPv6,
refused targets, a server that forbids forwarding, and SIGTERM.
"""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def tunnel(target_port, target_host="127.0.0.1", *extra, listen_host=None):
    """Start sshtun with one -L to the target; returns the Sshtun (its
    local port in .port)."""
    return F.forward(sshd, "-L", (target_host, target_port), *extra,
                     bind=listen_host)


def test_curl_through_tunnel():
    web = tempfile_dir()
    body = F.pattern(100000, seed=7)
    with open(os.path.join(web, "blob.bin"), "wb") as f:
        f.write(body)
    wport = F.free_port()
    httpd = F.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                     str(wport), "--directory", web],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    F.wait_port(wport, proc=httpd)
    try:
        with tunnel(wport) as t:
            out = subprocess.run(["curl", "-sS", "--max-time", "20",
                                  "http://127.0.0.1:%d/blob.bin" % t.port],
                                 stdout=subprocess.PIPE, timeout=30, check=True).stdout
            assert out == body, "curl got %d bytes, expected %d" % (len(out), len(body))
    finally:
        F.stop(httpd)
        shutil.rmtree(web, ignore_errors=True)


def tempfile_dir():
    import tempfile
    return tempfile.mkdtemp(prefix="sshtun-web-", dir=sshd.dir)


def test_64mib_each_way_at_once():
    size = 64 << 20
    up, down = F.pattern(size, seed=1), F.pattern(size, seed=2)
    with F.TcpServer(F.swap_handler(down)) as srv, tunnel(srv.port) as t:
        lp = t.port
        F.check_both_ways(srv, lp, up, down)


def test_small_payloads():
    with F.TcpServer(F.echo_handler) as srv, tunnel(srv.port) as t:
        lp = t.port
        for n in (1, 4000, 40000):
            data = F.pattern(n, seed=n)
            s = F.connect(lp)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = F.recv_all(s)
            s.close()
            assert got == data, "%d-byte payload came back as %d bytes" % (n, len(got))


def test_half_close_reply_after_eof():
    """The target answers only once it has read EOF."""
    def handler(conn):
        data = F.recv_all(conn)
        conn.sendall(hashlib.sha256(data).hexdigest().encode())
        conn.shutdown(socket.SHUT_WR)

    with F.TcpServer(handler) as srv, tunnel(srv.port) as t:
        lp = t.port
        data = F.pattern(300000, seed=3)
        s = F.connect(lp)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = F.recv_all(s)
        s.close()
        assert got == hashlib.sha256(data).hexdigest().encode(), got


def test_half_close_client_replies_after_eof():
    """The target sends, half-closes, and waits for the client's answer."""
    data = F.pattern(300000, seed=4)

    def handler(conn):
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        return F.recv_all(conn)

    with F.TcpServer(handler) as srv, tunnel(srv.port) as t:
        lp = t.port
        s = F.connect(lp)
        got = F.recv_all(s)
        assert got == data, "client got %d bytes" % len(got)
        answer = hashlib.sha256(got).hexdigest().encode()
        s.sendall(answer)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        assert s.recv(1) == b""
        s.close()
        deadline = time.monotonic() + 10
        while answer not in srv.results and time.monotonic() < deadline:
            time.sleep(0.05)
        # (The readiness probe's empty connection is left out.)
        assert [r for r in srv.results if r] == [answer], srv.results


def test_100_concurrent_connections():
    with F.TcpServer(F.echo_handler) as srv, tunnel(srv.port) as t:
        lp = t.port
        errors = F.concurrent_echoes(lambda i: F.connect(lp, timeout=60), 100, 65536,
                                     seed=100)
        assert not errors, errors[:5]


def test_ipv6_listen_and_target():
    with (F.TcpServer(F.echo_handler, host="::1") as srv,
          tunnel(srv.port, "::1", listen_host="::1") as t):
        lp = t.port
        data = F.pattern(50000, seed=6)
        s = F.connect(lp, host="::1")
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        assert F.recv_all(s) == data
        s.close()


def test_default_bind_is_loopback_both_families():
    lp = F.free_port()
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port),
                   wait_ports=[("127.0.0.1", lp), ("::1", lp)]) as t):
        listening = subprocess.run(["ss", "-Hltn", "sport = :%d" % lp],
                                   stdout=subprocess.PIPE, timeout=10).stdout.decode() \
            if shutil.which("ss") else ""
        local = sorted(line.split()[3] for line in listening.splitlines())
        if local:
            assert local == ["127.0.0.1:%d" % lp, "[::1]:%d" % lp], local
        for host in ("127.0.0.1", "::1"):
            s = F.connect(lp, host=host)
            s.sendall(b"abc")
            s.shutdown(socket.SHUT_WR)
            assert F.recv_all(s) == b"abc"
            s.close()


def test_ncat_through_tunnel():
    if not shutil.which("ncat"):
        raise AssertionError("ncat is not installed")
    with F.TcpServer(F.echo_handler) as srv, tunnel(srv.port) as t:
        lp = t.port
        data = F.pattern(200000, seed=8)
        out = subprocess.run(["ncat", "--recv-only" if False else "-w", "10",
                              "127.0.0.1", str(lp)], input=data,
                             stdout=subprocess.PIPE, timeout=30).stdout
        assert out == data, "ncat got %d bytes" % len(out)


def test_refused_target_closes_client_and_others_continue():
    closed = F.free_port()
    lp_bad, lp_good = F.free_port(), F.free_port()
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp_bad, closed),
                   "-L", "%d:127.0.0.1:%d" % (lp_good, srv.port),
                   wait_ports=[lp_bad, lp_good]) as t):
        start = time.monotonic()
        s = F.connect(lp_bad, timeout=10)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 5, "refused channel took too long to close"
        s.close()
        s = F.connect(lp_good)
        s.sendall(b"still working")
        s.shutdown(socket.SHUT_WR)
        assert F.recv_all(s) == b"still working"
        s.close()
        time.sleep(0.2)
        err = t.stderr()
        assert "connect failed" in err, err
        assert t.proc.poll() is None, "sshtun exited"


def test_server_forbids_forwarding():
    nofwd = F.shared_sshd("AllowTcpForwarding no\n")
    lp = F.free_port()
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(nofwd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp]) as t):
        s = F.connect(lp, timeout=10)
        start = time.monotonic()
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 5
        s.close()
        time.sleep(0.2)
        assert "administratively prohibited" in t.stderr(), t.stderr()


def test_port_in_use():
    blockers = []
    lp = F.free_port()
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        b = socket.socket(fam, socket.SOCK_STREAM)
        b.bind((host, lp))
        b.listen(1)
        blockers.append(b)
    try:
        rc, err = F.run_sshtun(sshd, "-o", "ExitOnForwardFailure=yes",
                               "-L", "%d:127.0.0.1:9" % lp)
        assert rc == 255, (rc, err)
        assert "Address already in use" in err, err
        # Without ExitOnForwardFailure: warn, keep running.
        t = F.Sshtun(sshd, "-L", "%d:127.0.0.1:9" % lp)
        time.sleep(1.5)
        assert t.proc.poll() is None, t.stderr()
        assert "Address already in use" in t.stderr()
        assert t.stop() == 0
    finally:
        for b in blockers:
            b.close()


def test_window_sizes():
    """Small and large SSH windows move the same bytes (WindowSize)."""
    with F.TcpServer(F.echo_handler) as srv:
        for size in ("64K", "16M"):
            with tunnel(srv.port, "127.0.0.1", "-o", "WindowSize=%s" % size) as t:
                lp = t.port
                data = F.pattern(4 << 20, seed=90)
                s = F.connect(lp, timeout=60)
                w = threading.Thread(target=lambda: (s.sendall(data),
                                                     s.shutdown(socket.SHUT_WR)))
                w.start()
                got = F.recv_all(s)
                w.join()
                s.close()
                assert got == data, (size, len(got))
        rc, err = F.run_sshtun(sshd, "-o", "WindowSize=1K")
        assert rc == 255 and "WindowSize" in err, (rc, err)


def test_sigterm_shuts_down_cleanly():
    with F.TcpServer(F.echo_handler) as srv:
        t = tunnel(srv.port)
        lp = t.port
        s = F.connect(lp)
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        start = time.monotonic()
        rc = t.stop(signal.SIGTERM)
        assert rc == 0, (rc, t.stderr())
        assert time.monotonic() - start < 5
        s.settimeout(5)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        s.close()
        try:
            F.connect(lp, timeout=2).close()
            raise AssertionError("listener still open after SIGTERM")
        except OSError:
            pass


def test_sigint_shuts_down_cleanly():
    with F.TcpServer(F.echo_handler) as srv:
        t = tunnel(srv.port)
        assert t.stop(signal.SIGINT) == 0


if __name__ == "__main__":
    F.run_tests()
