"""Unix-socket forwarding through a real sshd.

`-L port:/remote/path` opens direct-streamlocal@openssh.com channels to a
socket on the server; `-L /local/path:host:hostport` listens on a local
socket (mode 0600, removed on exit); `-R port:/local/path` connects the
server's connections to a local socket; `-R /path:...` (a socket on the
server) cannot be done with libssh2 1.10 and is refused with that reason.
"""
import os
import signal
import socket
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


class UnixEcho:
    """An echo server on a Unix socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            F.echo_handler(conn)

    def close(self):
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def roundtrip(s, data):
    w = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    w.start()
    got = F.recv_all(s)
    w.join()
    s.close()
    return got


def wait_path(path, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, "sshtun exited"
        assert time.monotonic() < deadline, "no socket at %s" % path
        time.sleep(0.05)


def test_local_port_to_remote_socket():
    lp = F.free_port()
    with (UnixEcho(os.path.join(sshd.dir, "remote.sock")) as echo,
          F.Sshtun(sshd, "-L", "%d:%s" % (lp, echo.path), wait_ports=[lp]) as t):
        data = F.pattern(500000, seed=51)
        assert roundtrip(F.connect(lp), data) == data


def test_local_socket_to_tcp_and_removed_on_exit():
    path = os.path.join(sshd.dir, "local.sock")
    with F.TcpServer(F.echo_handler) as srv:
        t = F.Sshtun(sshd, "-L", "%s:127.0.0.1:%d" % (path, srv.port))
        try:
            wait_path(path, t.proc)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            data = F.pattern(300000, seed=52)
            assert roundtrip(unix_connect(path), data) == data
        finally:
            assert t.stop(signal.SIGTERM) == 0
    assert not os.path.exists(path), "socket left behind"


def test_local_socket_to_remote_socket():
    path = os.path.join(sshd.dir, "local2.sock")
    with (UnixEcho(os.path.join(sshd.dir, "remote2.sock")) as echo,
          F.Sshtun(sshd, "-L", "%s:%s" % (path, echo.path)) as t):
        wait_path(path, t.proc)
        assert roundtrip(unix_connect(path), b"both ends unix") == b"both ends unix"


def test_existing_local_path_refused():
    path = os.path.join(sshd.dir, "exists.sock")
    open(path, "w").close()
    rc, err = F.run_sshtun(sshd, "-o", "ExitOnForwardFailure=yes",
                           "-L", "%s:127.0.0.1:9" % path)
    assert rc == 255 and "Address already in use" in err, (rc, err)
    assert os.path.exists(path), "an existing file must not be removed"


def test_remote_port_to_local_socket():
    rp = F.free_port()
    with (UnixEcho(os.path.join(sshd.dir, "here.sock")) as echo,
          F.Sshtun(sshd, "-R", "%d:%s" % (rp, echo.path), wait_ports=[rp]) as t):
        data = F.pattern(200000, seed=53)
        assert roundtrip(F.connect(rp), data) == data


def test_remote_socket_refused_with_reason():
    rc, err = F.run_sshtun(sshd, "-o", "ExitOnForwardFailure=yes",
                           "-R", "%s:127.0.0.1:9" % os.path.join(sshd.dir, "r.sock"))
    assert rc == 255 and "not possible with libssh2 1.10" in err, (rc, err)


if __name__ == "__main__":
    F.run_tests()
