"""Limits that keep a forward exposed to many or hostile clients safe,
through a real sshd.

ForwardMaxConnections: a connection beyond it is closed at once, and one
is taken again when another ends.  ForwardMaxHandshakes: beyond it,
accepting pauses until a handshake ends (here a silent SOCKS client's
timeout).  SOCKS passwords: a failed one is answered after a delay, and
an address with ten failures is refused even with the right password.
The CLI raises its soft descriptor limit to the hard one.  With every
descriptor taken by clients (EMFILE), Reconnect=yes still connects again
(socket, known_hosts and keys come from the descriptor reserve).
"""
import os
import resource
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("not within %ds: %s" % (timeout, what))


def closed_by_peer(s, timeout=10):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_max_connections():
    srv = F.TcpServer(F.echo_handler)
    lp = F.free_port()
    t = F.Sshtun(sshd, "-o", "ForwardMaxConnections=3",
                 "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp])
    try:
        # wait_port's probe may still be counted: let it end first.
        time.sleep(0.5)
        held = [F.connect(lp) for _ in range(3)]
        for i, s in enumerate(held):     # open and working, not ended
            s.sendall(b"%d" % i)
            assert s.recv(1) == b"%d" % i
        extra = F.connect(lp)
        assert closed_by_peer(extra), "a 4th connection was kept"
        extra.close()
        assert "ForwardMaxConnections 3" in t.stderr(), t.stderr()
        held.pop().close()
        ok = False
        for _ in range(50):          # the freed place is taken again
            s = F.connect(lp)
            try:
                ok = F.echo_roundtrip(s, b"again") == b"again"
            except OSError:
                ok = False
            s.close()
            if ok:
                break
            time.sleep(0.1)
        assert ok, t.stderr()
        for s in held:
            s.close()
    finally:
        t.stop()
        srv.close()


def test_max_handshakes_pauses_accepting():
    srv = F.TcpServer(F.echo_handler)
    dp = F.free_port()
    t = F.Sshtun(sshd, "-o", "ForwardMaxHandshakes=1", "-o", "SocksTimeout=2",
                 "-v", "-D", str(dp), wait_ports=[dp])
    try:
        time.sleep(0.5)
        silent = F.connect(dp)       # holds the only handshake place
        time.sleep(0.3)
        s = F.connect(dp)
        s.settimeout(20)
        s.sendall(b"\x05\x01\x00")
        assert s.recv(2) == b"\x05\x00"
        # Taken only once the silent client's handshake had ended.
        assert "no complete request within 2 s" in t.stderr(), t.stderr()
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1")
                  + struct.pack(">H", srv.port))
        rep = b""
        while len(rep) < 10:
            rep += s.recv(10 - len(rep))
        assert rep[1] == 0
        assert F.echo_roundtrip(s, b"after the pause") == b"after the pause"
        assert "accepting paused" in t.stderr(), t.stderr()
        s.close()
        silent.close()
    finally:
        t.stop()
        srv.close()


def socks_auth(port, user, password):
    """A SOCKS5 username/password exchange; returns (status, seconds)."""
    s = F.connect(port, timeout=30)
    try:
        s.sendall(b"\x05\x01\x02")
        assert s.recv(2) == b"\x05\x02"
        start = time.monotonic()
        u, p = user.encode(), password.encode()
        s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        st = s.recv(2)
        return (st[1] if len(st) == 2 else None), time.monotonic() - start
    finally:
        s.close()


def test_socks_password_delay_and_cap():
    creds = os.path.join(sshd.dir, "socks-limit-users")
    with open(creds, "w") as f:
        f.write("carol:right\n")
    os.chmod(creds, 0o600)
    dp = F.free_port()
    t = F.Sshtun(sshd, "-o", "SocksAuthFile=%s" % creds, "-D", str(dp),
                 wait_ports=[dp])
    try:
        assert socks_auth(dp, "carol", "right")[0] == 0
        st, took = socks_auth(dp, "carol", "wrong")
        assert st != 0
        # The delay is deliberate: a lower bound, not a timing guess.
        assert took >= 0.9, "failed password answered after %.2fs" % took
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            socks_auth(dp, "carol", "guess")[0])) for _ in range(9)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert len(results) == 9 and all(r != 0 for r in results), results
        # Ten failures from this address: now even the right one is refused.
        assert socks_auth(dp, "carol", "right")[0] != 0
        assert "too many failed passwords from 127.0.0.1" in t.stderr(), t.stderr()
    finally:
        t.stop()


def test_cli_raises_descriptor_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 64:
        return
    lp = F.free_port()
    srv = F.TcpServer(F.echo_handler)
    t = F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp],
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                       (64, hard)))
    try:
        with open("/proc/%d/limits" % t.proc.pid) as f:
            line = [x for x in f if x.startswith("Max open files")][0]
        assert line.split()[3] == str(hard), line
    finally:
        t.stop()
        srv.close()


def test_reconnect_when_clients_took_every_descriptor():
    own = F.shared_sshd()
    srv = F.TcpServer(F.echo_handler)
    lp = F.free_port()
    limit = 64
    t = F.Sshtun(own, "-o", "Reconnect=yes", "-o", "ReconnectMaxDelay=1",
                 "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp],
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                       (limit, limit)))
    clients = []
    try:
        for _ in range(3 * limit):   # more than it may hold: the rest wait
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", lp))
            clients.append(s)
        wait_for(lambda: "Too many open files" in t.stderr(), 20,
                 "sshtun never ran out of descriptors:\n" + t.stderr())
        own.kill()
        time.sleep(0.5)
        own.start()
        wait_for(lambda: "Connection up again" in t.stderr(), 25,
                 "no reconnect while clients held every descriptor:\n"
                 + t.stderr())
        for s in clients:
            s.close()
        clients = []
        ok = False
        deadline = time.monotonic() + 15
        while not ok and time.monotonic() < deadline:
            try:
                s = F.connect(lp, timeout=5)
                ok = F.echo_roundtrip(s, b"served") == b"served"
                s.close()
            except OSError:
                time.sleep(0.2)
        assert ok, t.stderr()
    finally:
        for s in clients:
            s.close()
        t.stop()
        srv.close()


if __name__ == "__main__":
    F.run_tests([test_max_connections, test_max_handshakes_pauses_accepting,
                 test_socks_password_delay_and_cap,
                 test_cli_raises_descriptor_limit,
                 test_reconnect_when_clients_took_every_descriptor])
