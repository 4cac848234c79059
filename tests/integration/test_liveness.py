"""Dead-peer detection and server loss, through a real sshd.

ServerAliveInterval/CountMax: with the server's session processes stopped
(SIGSTOP, so the TCP connection stays up but nothing answers), sshtun
gives up within interval x count (+ slack) and exits 255 with ssh's
message, while a healthy idle tunnel is never dropped.  A server killed
mid-transfer is noticed at once: the tunnelled connection sees EOF and
sshtun exits 255.
"""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def wait_exit(proc, timeout):
    start = time.monotonic()
    try:
        proc.wait(timeout)
    except Exception:  # noqa: BLE001
        return None
    return time.monotonic() - start


def test_reconnect_restores_forwards():
    """Reconnect=yes: the server goes away and comes back; the same -L
    port works again soon after, and -R is requested again."""
    lp, rp = F.free_port(), F.free_port()
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-o", "Reconnect=yes", "-o", "ReconnectMaxDelay=2",
                   "-L", "%d:127.0.0.1:%d" % (lp, srv.port),
                   "-R", "%d:127.0.0.1:%d" % (rp, srv.port), wait_ports=[lp, rp]) as t):
        s = F.connect(lp)
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        sshd.kill()
        s.settimeout(10)
        try:
            assert s.recv(1) == b"", "in-flight connection not closed"
        except ConnectionResetError:
            pass
        s.close()
        time.sleep(1.5)
        assert t.proc.poll() is None, t.stderr()
        # The listener stays up while the server is away.
        F.connect(lp, timeout=2).close()
        sshd.start()
        back = time.monotonic()
        ok = False
        while time.monotonic() - back < 5 and not ok:
            try:
                c = F.connect(lp, timeout=5)
                c.sendall(b"again")
                c.shutdown(socket.SHUT_WR)
                ok = F.recv_all(c) == b"again"
                c.close()
            except OSError:
                time.sleep(0.2)
        assert ok, "-L not working 5 s after the server came back:\n" + t.stderr()
        deadline = time.monotonic() + 10
        ok = False
        while time.monotonic() < deadline and not ok:
            try:
                c = F.connect(rp, timeout=5)
                c.sendall(b"remote again")
                c.shutdown(socket.SHUT_WR)
                ok = F.recv_all(c) == b"remote again"
                c.close()
            except OSError:
                time.sleep(0.3)
        assert ok, "-R not restored:\n" + t.stderr()
        err = t.stderr()
        assert "Connection down" in err and "forwards restored" in err, err


def test_client_waits_for_reconnect():
    """A SOCKS client arriving while the session is down waits for it."""
    import struct
    dp = F.free_port()
    result = {}
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-o", "Reconnect=yes", "-o", "ReconnectMaxDelay=1",
                   "-D", str(dp), wait_ports=[dp]) as t):
        sshd.kill()
        time.sleep(0.5)

        def client():
            s = F.connect(dp, timeout=30)
            s.sendall(bytes([5, 1, 0]))
            assert s.recv(2) == bytes([5, 0])
            s.sendall(bytes([5, 1, 0, 1]) + socket.inet_aton("127.0.0.1")
                      + struct.pack(">H", srv.port))
            rep = s.recv(10)
            result["reply"] = rep[1] if len(rep) > 1 else None
            if result["reply"] == 0:
                s.sendall(b"waited")
                s.shutdown(socket.SHUT_WR)
                result["echo"] = F.recv_all(s)
            s.close()

        c = threading.Thread(target=client)
        c.start()
        time.sleep(1.5)                 # the client is waiting now
        sshd.start()
        c.join(30)
        assert result.get("reply") == 0, (result, t.stderr())
        assert result.get("echo") == b"waited", result


def test_reconnect_gives_up_after_count():
    dead = F.shared_sshd()
    with F.Sshtun(dead, "-o", "Reconnect=yes", "-o", "ReconnectCount=2",
                  "-o", "ReconnectMaxDelay=1", "-o", "ConnectTimeout=2") as t:
        deadline = time.monotonic() + 10
        while "Authenticated" not in t.stderr() and time.monotonic() < deadline \
                and t.proc.poll() is None:
            time.sleep(0.05)
        dead.kill()                         # and it never comes back
        took = wait_exit(t.proc, 30)
        assert took is not None and t.proc.returncode == 255, t.stderr()
        err = t.stderr()
        assert err.count("Reconnect failed") == 2 and "gave up after 2" in err, err


def test_healthy_idle_tunnel_stays_up():
    lp = F.free_port()
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2",
                   "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp]) as t):
        time.sleep(5)
        assert t.proc.poll() is None, t.stderr()
        s = F.connect(lp)
        s.sendall(b"still here")
        s.shutdown(socket.SHUT_WR)
        assert F.recv_all(s) == b"still here"
        s.close()


def test_stopped_server_detected():
    stopped = []
    with F.Sshtun(sshd, "-v", "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2") as t:
        try:
            deadline = time.monotonic() + 10
            while "Authenticated" not in t.stderr() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            stopped = F.descendants(sshd.proc.pid)
            assert stopped, "no sshd session process found"
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            took = wait_exit(t.proc, 10)
            assert took is not None, "sshtun did not give up"
            assert took <= 2 * 1 + 2, "took %.1fs" % took
            assert t.proc.returncode == 255, t.proc.returncode
            assert "Timeout, server 127.0.0.1 not responding." in t.stderr(), t.stderr()
        finally:
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass


def test_no_session_channels_forward_and_detect():
    """A forwarding-only server (MaxSessions 0 refuses "session"
    channels): the forward works, an idle tunnel stays up, and a frozen
    server is given up on within interval x count + 1 s."""
    lp = F.free_port()
    stopped = []
    with (F.Sshd("MaxSessions 0\n") as own,
          F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(own, "-v", "-o", "ServerAliveInterval=1",
                   "-o", "ServerAliveCountMax=2",
                   "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp]) as t):
        try:
            data = F.pattern(1 << 20, seed=71)
            s = F.connect(lp)
            assert F.echo_roundtrip(s, data) == data
            s.close()
            time.sleep(3.5)              # idle, no channel: probes answered
            assert t.proc.poll() is None, t.stderr()
            s = F.connect(lp)
            assert F.echo_roundtrip(s, b"still here") == b"still here"
            s.close()
            time.sleep(0.5)
            stopped = F.descendants(own.proc.pid)
            assert stopped, "no sshd session process found"
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            took = wait_exit(t.proc, 10)
            assert took is not None, "sshtun did not give up:\n" + t.stderr()
            assert took <= 2 * 1 + 1 + 1, "took %.1fs" % took
            assert t.proc.returncode == 255, t.proc.returncode
            assert "Timeout, server 127.0.0.1 not responding." in t.stderr()
        finally:
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass


def test_server_killed_mid_transfer():
    def source(conn):
        block = F.pattern(1 << 20, seed=61)
        try:
            while True:
                conn.sendall(block)
        except OSError:
            return None

    lp = F.free_port()
    with (F.TcpServer(source) as srv,
          F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp]) as t):
        s = F.connect(lp, timeout=15)
        got = 0
        while got < (4 << 20):
            got += len(s.recv(1 << 20))
        for pid in F.descendants(sshd.proc.pid):
            os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        try:
            while s.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 5, "tunnelled connection not closed"
        s.close()
        took = wait_exit(t.proc, 10)
        assert took is not None and t.proc.returncode == 255, t.stderr()
        assert "127.0.0.1" in t.stderr(), t.stderr()


if __name__ == "__main__":
    F.run_tests()
