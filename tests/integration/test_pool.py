"""The connection pool: one destination that never answers must delay no
other client, through a real sshd.

A "black hole" (a loopback port whose SYNs are dropped) makes sshd's own
connect hang, so it answers that channel open only after minutes; libssh2
1.10 lets one open be pending per connection.  These tests check that
other SOCKS and -L clients of the same sshtun get through while such opens
are pending (the pool adds connections), that the pool shrinks back, keeps
-R on its connection, respects PoolMax, backs off when sshd refuses extra
connections, refuses a later connection with a different host key, and
that losing an extra connection fails only its own channels.
"""
import os
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()
echo = F.TcpServer(F.echo_handler)

# Far below the minute a stuck open lasts: this is about never waiting
# behind it, not about speed.
THROUGH_S = 10


def socks5_request(port, host, dport):
    """Send a SOCKS5 CONNECT (no auth) and return the socket without
    reading the reply."""
    s = F.connect(port, timeout=THROUGH_S)
    s.sendall(b"\x05\x01\x00")
    assert F.recv_exact(s, 2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host)
              + struct.pack(">H", dport))
    return s


def socks5_reply(s):
    """Read a SOCKS5 reply; returns its code."""
    head = F.recv_exact(s, 4)
    F.recv_exact(s, {1: 4, 4: 16}.get(head[3], 0) + 2)
    return head[1]


def still_waiting(s):
    """Whether a SOCKS client has had no reply yet."""
    s.settimeout(0.2)
    try:
        s.recv(1)
        return False
    except socket.timeout:
        return True
    finally:
        s.settimeout(THROUGH_S)


def healthy_socks(port, seed):
    """A SOCKS client to the echo server: bytes compared both ways."""
    s = socks5_request(port, "127.0.0.1", echo.port)
    assert socks5_reply(s) == 0
    data = F.pattern(64 * 1024, seed=seed)
    assert F.echo_roundtrip(s, data) == data
    s.close()


def healthy_local(lport, seed):
    """A -L client to the echo server: bytes compared both ways."""
    s = F.connect(lport, timeout=THROUGH_S)
    data = F.pattern(64 * 1024, seed=seed)
    assert F.echo_roundtrip(s, data) == data
    s.close()


def run_parallel(fns):
    """Run the callables at once; returns the errors they raised."""
    errors = []

    def wrap(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(THROUGH_S * 3)
    return errors


def tunnel(*extra, remote=None):
    """sshtun -D (and -L to the echo server, and -R if asked), verbose;
    its ports in .dport and .lport."""
    dport, lport = F.free_port(), F.free_port()
    args = list(extra) + ["-v", "-D", str(dport),
                          "-L", "%d:127.0.0.1:%d" % (lport, echo.port)]
    if remote:
        args += ["-R", "%d:127.0.0.1:%d" % (remote, echo.port)]
    t = F.Sshtun(sshd, *args, wait_ports=[dport, lport])
    t.dport, t.lport = dport, lport
    return t


def wait_for(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def test_black_hole_delays_nobody():
    """While one SOCKS client waits on a destination that never answers,
    five SOCKS clients and a -L client get through."""
    with F.BlackHole() as hole, tunnel() as t:
        dport, lport = t.dport, t.lport
        stuck = socks5_request(dport, "127.0.0.1", hole.port)
        time.sleep(0.3)
        errors = run_parallel([lambda i=i: healthy_socks(dport, i)
                               for i in range(5)]
                              + [lambda: healthy_local(lport, 99)])
        assert not errors, (errors, t.stderr())
        assert still_waiting(stuck), "the black-holed open was answered"
        assert "pool: connection 2 up" in t.stderr(), t.stderr()
        stuck.close()


def test_three_black_holes_default_pool():
    with F.BlackHole() as hole, tunnel() as t:
        dport, lport = t.dport, t.lport
        stuck = [socks5_request(dport, "127.0.0.1", hole.port)
                 for _ in range(3)]
        time.sleep(0.3)
        errors = run_parallel([lambda i=i: healthy_socks(dport, 10 + i)
                               for i in range(5)]
                              + [lambda: healthy_local(lport, 98)])
        assert not errors, (errors, t.stderr())
        assert all(still_waiting(s) for s in stuck)
        for s in stuck:
            s.close()


def accepted_logins():
    return sshd.log_text().count("Accepted publickey")


def test_grows_and_shrinks():
    """An extra connection appears for the waiting opens and closes after
    PoolIdleTime without channels; the first stays."""
    before = accepted_logins()
    with F.BlackHole() as hole, tunnel("-o", "PoolIdleTime=2") as t:
        dport, lport = t.dport, t.lport
        stuck = socks5_request(dport, "127.0.0.1", hole.port)
        time.sleep(0.3)
        healthy_socks(dport, 20)
        assert wait_for(lambda: accepted_logins() - before >= 2)
        assert wait_for(lambda: "pool: closing idle connection" in
                        t.stderr()), t.stderr()
        healthy_local(lport, 21)     # the pool still serves
        stuck.close()


def test_pool_max_one_keeps_one_connection():
    before = accepted_logins()
    with F.BlackHole() as hole, tunnel("-o", "PoolMax=1") as t:
        dport, lport = t.dport, t.lport
        stuck = socks5_request(dport, "127.0.0.1", hole.port)
        time.sleep(0.3)
        waiting = socks5_request(dport, "127.0.0.1", echo.port)
        assert wait_for(lambda: "all PoolMax connections" in t.stderr()), \
            t.stderr()
        assert accepted_logins() - before == 1
        assert "pool: opening connection" not in t.stderr()
        stuck.close()
        waiting.close()


def test_remote_forward_stays_while_pool_grows():
    rport = F.free_port()
    with F.BlackHole() as hole, tunnel(remote=rport) as t:
        dport, lport = t.dport, t.lport
        F.wait_port(rport)
        stuck = socks5_request(dport, "127.0.0.1", hole.port)
        time.sleep(0.3)
        healthy_socks(dport, 30)
        assert "pool: connection 2 up" in t.stderr()
        healthy_local(rport, 31)     # through the server's listener
        stuck.close()


def test_lost_extra_connection_fails_only_its_channels():
    """Kill the sshd process of the extra connection mid-transfer: the
    channel on it ends, a channel on the first connection goes on."""
    with F.BlackHole() as hole, tunnel() as t:
        dport, lport = t.dport, t.lport
        first = F.connect(lport, timeout=THROUGH_S)    # on connection 1
        assert F.echo_roundtrip_keep(first, b"one") == b"one"
        procs_before = set(F.descendants(sshd.proc.pid))
        stuck = socks5_request(dport, "127.0.0.1", hole.port)
        time.sleep(0.3)
        extra = socks5_request(dport, "127.0.0.1", echo.port)
        assert socks5_reply(extra) == 0                # on connection 2
        extra.sendall(b"two")
        assert F.recv_exact(extra, 3) == b"two"
        new = set(F.descendants(sshd.proc.pid)) - procs_before
        assert new, "no sshd process for the extra connection"
        for pid in new:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        extra.settimeout(THROUGH_S)
        try:
            while extra.recv(4096):
                pass
        except OSError:
            pass                     # reset or EOF: either ends it
        assert F.echo_roundtrip_keep(first, b"three") == b"three"
        first.close()
        stuck.close()
        extra.close()
        assert t.proc.poll() is None


def test_maxstartups_refusals_back_off():
    """sshd drops extra connections (its startup limit, here per source,
    is reached): the pool says so once, backs off, and the first
    connection goes on serving."""
    dport, lport = F.free_port(), F.free_port()
    with (F.Sshd("PerSourceMaxStartups 1\n") as own, F.BlackHole() as hole,
          F.Sshtun(own, "-v", "-D", str(dport), "-L",
                   "%d:127.0.0.1:%d" % (lport, echo.port),
                   wait_ports=[dport, lport]) as t,
          socket.create_connection(("127.0.0.1", own.port)) as blocker):
        first = F.connect(lport, timeout=THROUGH_S)
        time.sleep(0.3)
        stuck = socks5_request(dport, "127.0.0.1", hole.port)
        time.sleep(0.3)
        waiting = [socks5_request(dport, "127.0.0.1", echo.port)
                   for _ in range(3)]
        assert wait_for(lambda: "pool: cannot add a connection" in
                        t.stderr()), t.stderr()
        time.sleep(3)
        assert t.stderr().count("pool: cannot add a connection") == 1
        drops = own.log_text().count("drop connection")
        assert 1 <= drops <= 4, drops     # backing off, not hammering
        assert F.echo_roundtrip_keep(first, b"alive") == b"alive"
        for s in [first, stuck] + waiting:
            s.close()


def test_later_connection_with_another_host_key_is_refused():
    """The server's host key changes after the first connection: a new
    pool connection refuses it loudly; the first one carries on."""
    dport, lport = F.free_port(), F.free_port()
    swapped = None
    try:
        with (F.Sshd() as own, F.BlackHole() as hole,
              F.Sshtun(own, "-v", "-D", str(dport), "-L",
                       "%d:127.0.0.1:%d" % (lport, echo.port),
                       wait_ports=[dport, lport]) as t):
            first = F.connect(lport, timeout=THROUGH_S)
            assert F.echo_roundtrip_keep(first, b"before") == b"before"
            # Restart only the listener, with new host keys on the same port;
            # the first connection's own sshd process lives on.
            os.kill(own.proc.pid, signal.SIGTERM)
            own.proc.wait(10)
            swapped = own.swap_host_keys()
            stuck = socks5_request(dport, "127.0.0.1", hole.port)
            time.sleep(0.3)
            waiting = socks5_request(dport, "127.0.0.1", echo.port)
            assert wait_for(lambda: "different host key" in t.stderr()), \
                t.stderr()
            assert F.echo_roundtrip_keep(first, b"after") == b"after"
            assert t.proc.poll() is None
            for s in (first, stuck, waiting):
                s.close()
    finally:
        if swapped:
            F.stop(swapped)


if __name__ == "__main__":
    F.run_tests()
