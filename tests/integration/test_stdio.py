"""Stdio forwarding (`sshtun -W host:port`) through a real sshd.

Standard input and output joined to one channel: 4 MiB each way with
checksums, a target that answers only after EOF, use as OpenSSH's
ProxyCommand, and a refused target giving exit 255 with the reason.
"""
import hashlib
import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def sshtun_w(target, data, timeout=60):
    p = subprocess.run(sshd.sshtun_args("-W", target), env=sshd.env(), input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    F.assert_no_sanitizer_report(err)
    return p.returncode, p.stdout, err


def test_4mib_both_ways_and_reply_after_eof():
    down = F.pattern(4 << 20, seed=21)

    def handler(conn):
        got = F.recv_all(conn)                      # until the client's EOF
        conn.sendall(hashlib.sha256(got).digest() + down)
        conn.shutdown(socket.SHUT_WR)

    with F.TcpServer(handler) as srv:
        up = F.pattern(4 << 20, seed=22)
        rc, out, err = sshtun_w("127.0.0.1:%d" % srv.port, up)
        assert rc == 0, (rc, err)
        assert out[:32] == hashlib.sha256(up).digest(), "upload differs"
        assert out[32:] == down, "download differs (%d bytes)" % (len(out) - 32)


def test_ipv6_target():
    with F.TcpServer(F.echo_handler, host="::1") as srv:
        rc, out, err = sshtun_w("[::1]:%d" % srv.port, b"over v6")
        assert rc == 0 and out == b"over v6", (rc, out, err)


def test_ends_when_server_closes_with_stdin_open():
    def handler(conn):
        conn.sendall(b"bye")
        conn.close()

    with F.TcpServer(handler) as srv:
        p = F.start(sshd.sshtun_args("-W", "127.0.0.1:%d" % srv.port), env=sshd.env(),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL)
        out = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:      # stdin is still open here
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                d = os.read(p.stdout.fileno(), 4096)
                if not d:
                    break
                out += d
        rc = p.wait(10)
        p.stdin.close()
        assert rc == 0 and out == b"bye", (rc, out)


def test_refused_target():
    rc, out, err = sshtun_w("127.0.0.1:%d" % F.free_port(), b"")
    assert rc == 255 and "connect failed" in err, (rc, err)


def test_as_openssh_proxycommand():
    # The `ssh` to the sshd goes through `sshtun -W` to the same sshd.
    inner = " ".join(sshd.sshtun_args("-W", "%h:%p"))
    p = subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-i", sshd.client_key, "-o", "UserKnownHostsFile=%s" % sshd.known_hosts,
         "-o", "StrictHostKeyChecking=yes", "-o", "ProxyCommand=%s" % inner,
         "-p", str(sshd.port), "%s@127.0.0.1" % sshd.user, "echo", "via-stdio"],
        env=sshd.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == b"via-stdio", \
        (p.returncode, p.stdout, p.stderr[-2000:])


if __name__ == "__main__":
    F.run_tests()
