"""Memory stays bounded when readers stall, through a real sshd.

Fifty clients of one -L forward stop reading while their target keeps
streaming.  Each channel's window falls back to its floor and all
windows share one MemoryBudget, so the sshtun process grows by far less
than fifty full windows (OpenSSH's ssh grows by about 110 MiB in the same
test; sshtun used to grow by 400).  This is about memory, not time: the
bound is on the resident size, measured once it has settled.  Sanitizer
builds keep freed memory in quarantine, so there only the forward's
working is checked.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()
CLIENTS = 50
BOUND_MIB = 100


def source(conn):
    block = b"s" * (1 << 16)
    try:
        while True:
            conn.sendall(block)
    except OSError:
        return None


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return "libasan" in maps or "libtsan" in maps


def settled_rss(pid, limit_s=30):
    """The RSS once it has stopped growing (checked each second)."""
    prev = -1
    for _ in range(limit_s):
        time.sleep(1)
        now = rss_mib(pid)
        if now == prev:
            return now
        prev = now
    return prev


def test_stalled_readers_bounded():
    lp = F.free_port()
    clients = []
    with (F.TcpServer(source) as srv,
          F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port),
                   wait_ports=[lp]) as t):
        try:
            pid = t.proc.pid
            time.sleep(0.5)
            before = rss_mib(pid)
            for _ in range(CLIENTS):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect(("127.0.0.1", lp))
                clients.append(s)
            grown = settled_rss(pid) - before
            # The forward still works for a client that reads.
            probe = F.connect(lp, timeout=20)
            assert len(F.recv_exact(probe, 1 << 20)) == 1 << 20
            probe.close()
            if not sanitized(pid):
                assert grown <= BOUND_MIB, "RSS grew by %d MiB" % grown
            print("%d stalled readers: RSS grew by %d MiB" % (CLIENTS, grown))
        finally:
            for s in clients:
                s.close()


if __name__ == "__main__":
    F.run_tests()
