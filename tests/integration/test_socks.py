"""Dynamic forwarding (`sshtun -D`): a SOCKS4/4a/5 proxy through a real sshd.

Real clients (curl in all four SOCKS modes, ncat, OpenBSD nc -X, OpenSSH
ssh via ProxyCommand) and raw protocol bytes check the proxy end to end:
the reply codes it gives for closed ports, refused rules, bad commands and
address types; username/password; the allow-list; 200 parallel echoes;
and that silent, slow and garbage-sending clients never delay a real one.
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()
echo = F.TcpServer(F.echo_handler)
echo6 = F.TcpServer(F.echo_handler, host="::1")


def proxy(*extra):
    """Start sshtun -D on a free port; returns the Sshtun (its port in
    .port)."""
    return F.forward(sshd, "-D", None, *extra)


def socks5_connect(port, host, dport, auth=None, methods=None, atyp=None):
    """Raw SOCKS5 CONNECT; returns (socket, reply code); the socket is open."""
    s = F.connect(port, timeout=20)
    if methods is None:
        methods = [0x02] if auth else [0x00]
    s.sendall(bytes([5, len(methods)] + methods))
    sel = recv_exact(s, 2)
    if sel[1] == 0xFF:
        return s, "no-method"
    if sel[1] == 0x02:
        u, p = (x.encode() for x in auth)
        s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        st = recv_exact(s, 2)
        if st[1] != 0:
            return s, "auth-refused"
    if atyp is None:
        if ":" in host:
            atyp = 4
        elif host.replace(".", "").isdigit():
            atyp = 1
        else:
            atyp = 3
    if atyp == 1:
        addr = socket.inet_aton(host)
    elif atyp == 4:
        addr = socket.inet_pton(socket.AF_INET6, host)
    else:
        addr = bytes([len(host)]) + host.encode()
    s.sendall(bytes([5, 1, 0, atyp]) + addr + struct.pack(">H", dport))
    rep = recv_exact(s, 10)
    assert rep[0] == 5, rep
    return s, rep[1]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise AssertionError("EOF after %d of %d bytes: %r" % (len(buf), n, buf))
        buf += d
    return buf


def echo_through(s, data):
    w = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    w.start()
    got = F.recv_all(s)
    w.join()
    return got


class Web:
    def __init__(self):
        self.dir = tempfile.mkdtemp(dir=sshd.dir)
        self.body = F.pattern(150000, seed=11)
        with open(os.path.join(self.dir, "blob"), "wb") as f:
            f.write(self.body)
        self.port = F.free_port()
        self.proc = F.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                             str(self.port), "--directory", self.dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        F.wait_port(self.port, proc=self.proc)


web = Web()


def curl(mode, port, url, *extra, timeout=20):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout), mode,
                           "127.0.0.1:%d" % port] + list(extra) + [url],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout + 10)


def test_curl_all_modes():
    with proxy() as t:
        port = t.port
        for mode, host in (("--socks5", "127.0.0.1"), ("--socks5-hostname", "localhost"),
                           ("--socks4", "127.0.0.1"), ("--socks4a", "localhost")):
            p = curl(mode, port, "http://%s:%d/blob" % (host, web.port))
            assert p.returncode == 0, (mode, p.stderr)
            assert p.stdout == web.body, (mode, len(p.stdout))


def test_ncat_and_nc():
    with proxy() as t:
        port = t.port
        data = F.pattern(100000, seed=12)
        for argv in (["ncat", "--proxy", "127.0.0.1:%d" % port, "--proxy-type", "socks5",
                      "127.0.0.1", str(echo.port)],
                     ["ncat", "--proxy", "127.0.0.1:%d" % port, "--proxy-type", "socks4",
                      "127.0.0.1", str(echo.port)],
                     ["nc", "-N", "-X", "5", "-x", "127.0.0.1:%d" % port, "127.0.0.1",
                      str(echo.port)],
                     ["nc", "-N", "-X", "4", "-x", "127.0.0.1:%d" % port, "127.0.0.1",
                      str(echo.port)]):
            p = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            assert p.stdout == data, (argv[0], argv[-4:], len(p.stdout), p.stderr)


def test_openssh_through_proxy():
    with proxy() as t:
        port = t.port
        p = subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
             "-i", sshd.client_key, "-o", "UserKnownHostsFile=%s" % sshd.known_hosts,
             "-o", "StrictHostKeyChecking=yes",
             "-o", "ProxyCommand=nc -X 5 -x 127.0.0.1:%d %%h %%p" % port,
             "-p", str(sshd.port), "%s@127.0.0.1" % sshd.user, "echo", "through-socks"],
            env=sshd.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0 and p.stdout.strip() == b"through-socks", \
            (p.returncode, p.stdout, p.stderr[-2000:])


def test_ipv6_target_and_domain():
    with proxy() as t:
        port = t.port
        data = F.pattern(70000, seed=13)
        s, rep = socks5_connect(port, "::1", echo6.port)
        assert rep == 0, rep
        assert echo_through(s, data) == data
        s.close()
        s, rep = socks5_connect(port, "localhost", echo.port)
        assert rep == 0, rep
        assert echo_through(s, data) == data
        s.close()


def test_reply_codes():
    with proxy() as t:
        port = t.port
        closed = F.free_port()
        s, rep = socks5_connect(port, "127.0.0.1", closed)
        assert rep == 0x05, "closed port: reply %r, want 0x05" % rep
        assert s.recv(1) == b""
        s.close()
        # SOCKS4 to a closed port: 0x5B.
        s = F.connect(port)
        s.sendall(struct.pack(">BBH", 4, 1, closed) + socket.inet_aton("127.0.0.1") + b"u\0")
        assert recv_exact(s, 8)[1] == 0x5B
        s.close()
        # BIND and UDP ASSOCIATE: 0x07; unknown address type: 0x08.
        for cmd, atyp, want in ((2, 1, 0x07), (3, 1, 0x07), (1, 9, 0x08)):
            s = F.connect(port)
            s.sendall(bytes([5, 1, 0]))
            assert recv_exact(s, 2) == bytes([5, 0])
            s.sendall(bytes([5, cmd, 0, atyp]) + socket.inet_aton("127.0.0.1")
                      + struct.pack(">H", echo.port))
            rep = recv_exact(s, 10)
            assert rep[1] == want, (cmd, atyp, rep)
            s.close()
        # A SOCKS4 request after a SOCKS5 greeting is a bad v5 request.
        s = F.connect(port)
        s.sendall(bytes([5, 1, 0]))
        assert recv_exact(s, 2) == bytes([5, 0])
        s.sendall(struct.pack(">BBH", 4, 1, echo.port) + socket.inet_aton("127.0.0.1") + b"\0")
        rep = recv_exact(s, 10)
        assert rep[0] == 5 and rep[1] == 0x01, rep
        s.close()
        # And the proxy still serves.
        s, rep = socks5_connect(port, "127.0.0.1", echo.port)
        assert rep == 0 and echo_through(s, b"alive") == b"alive"
        s.close()
        err = t.stderr()
        assert "connection refused" in err, err


def test_server_refuses_forwarding():
    nofwd = F.shared_sshd("AllowTcpForwarding no\n")
    port = F.free_port()
    with F.Sshtun(nofwd, "-D", str(port), wait_ports=[port]) as t:
        s, rep = socks5_connect(port, "127.0.0.1", echo.port)
        assert rep == 0x02, rep
        s.close()


def test_username_password():
    creds = os.path.join(sshd.dir, "socks-users")
    with open(creds, "w") as f:
        f.write("# users\nalice:s3cret:with:colons\nbob:hunter2\n")
    os.chmod(creds, 0o600)
    with proxy("-o", "SocksAuthFile=%s" % creds) as t:
        port = t.port
        p = curl("--socks5-hostname", port, "http://localhost:%d/blob" % web.port,
                 "--proxy-user", "alice:s3cret:with:colons")
        assert p.returncode == 0 and p.stdout == web.body, p.stderr
        p = curl("--socks5", port, "http://127.0.0.1:%d/blob" % web.port,
                 "--proxy-user", "bob:wrong")
        assert p.returncode != 0
        s, rep = socks5_connect(port, "127.0.0.1", echo.port, auth=("bob", "wrong"))
        assert rep == "auth-refused", rep
        s.close()
        s, rep = socks5_connect(port, "127.0.0.1", echo.port)   # no auth offered
        assert rep == "no-method", rep
        s.close()
        s, rep = socks5_connect(port, "127.0.0.1", echo.port, auth=("bob", "hunter2"))
        assert rep == 0 and echo_through(s, b"ok") == b"ok"
        s.close()
        # SOCKS4 has no passwords: refused when a password file is set.
        s = F.connect(port)
        s.sendall(struct.pack(">BBH", 4, 1, echo.port) + socket.inet_aton("127.0.0.1") + b"bob\0")
        assert recv_exact(s, 8)[1] == 0x5B
        s.close()
        assert "refused for user 'bob'" in t.stderr(), t.stderr()
    os.chmod(creds, 0o644)
    rc, err = F.run_sshtun(sshd, "-o", "SocksAuthFile=%s" % creds,
                           "-o", "ExitOnForwardFailure=yes", "-D", str(F.free_port()))
    assert rc == 255 and "accessible by group or others" in err, (rc, err)


def test_allow_list():
    with proxy("-o", "SocksAllow=127.0.0.1:%d,*.invalid:80" % echo.port) as t:
        port = t.port
        s, rep = socks5_connect(port, "127.0.0.1", echo.port)
        assert rep == 0
        s.close()
        s, rep = socks5_connect(port, "127.0.0.1", web.port)
        assert rep == 0x02, rep
        s.close()
        # Names are not matched against address rules.
        s, rep = socks5_connect(port, "localhost", echo.port)
        assert rep == 0x02, rep
        s.close()
        assert "not allowed by SocksAllow" in t.stderr()


def test_clients_resetting_mid_handshake():
    """Clients that send CONNECT and reset at once must not disturb the
    proxy (the reply's send fails; the channel is closed exactly once)."""
    with proxy() as t:
        port = t.port
        for i in range(30):
            s = F.connect(port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(bytes([5, 1, 0]) + bytes([5, 1, 0, 1]) + socket.inet_aton("127.0.0.1")
                      + struct.pack(">H", echo.port))
            if i % 2:
                recv_exact(s, 2)
            s.close()                               # RST
        time.sleep(0.5)
        s, rep = socks5_connect(port, "127.0.0.1", echo.port)
        assert rep == 0 and echo_through(s, b"fine") == b"fine"
        s.close()
        assert t.proc.poll() is None, t.stderr()


def test_200_parallel_echoes():
    with proxy() as t:
        port = t.port
        def open_conn(i):
            s, rep = socks5_connect(port, "127.0.0.1", echo.port)
            if rep != 0:
                raise AssertionError("reply %r" % (rep,))
            return s
        errors = F.concurrent_echoes(open_conn, 200, 256 * 1024, seed=1000)
        assert not errors, errors[:5]


def test_bad_clients_do_not_delay_others():
    bad = []
    with proxy("-o", "SocksTimeout=3") as t:
        port = t.port
        try:
            for i in range(20):                         # silent
                bad.append(F.connect(port))
            for i in range(5):                          # garbage
                s = F.connect(port)
                s.sendall(os.urandom(300))
                bad.append(s)
            s = F.connect(port)                         # v5 greeting, then silence
            s.sendall(bytes([5, 1, 0]))
            bad.append(s)
            slow = F.connect(port)                      # a byte at a time
            bad.append(slow)
            slow.sendall(b"\x05")
            start = time.monotonic()
            p = curl("--socks5-hostname", port, "http://localhost:%d/blob" % web.port)
            took = time.monotonic() - start
            assert p.returncode == 0 and p.stdout == web.body, p.stderr
            assert took < 3, "curl took %.1fs behind bad clients" % took
            # The silent ones are closed at the handshake deadline.
            bad[0].settimeout(10)
            start = time.monotonic()
            assert bad[0].recv(1) == b""
            assert time.monotonic() - start < 6
            assert "no complete request within 3 s" in t.stderr()
            assert t.proc.poll() is None
        finally:
            for s in bad:
                s.close()


if __name__ == "__main__":
    F.run_tests()
