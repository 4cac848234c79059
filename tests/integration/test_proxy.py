"""ProxyCommand and jump hosts (-J / ProxyJump) through real sshds.

The session to the target runs over a ProxyCommand (nc) or over a
direct-tcpip channel of a session to a jump host, each hop with its own
host key check and authentication, inside the one sshtun process.  The
jump sshd's log shows the forward to the target; two hops; a refused jump.
"""
import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

target = F.shared_sshd()
jump = F.shared_sshd()
# One client key for both servers; both servers' keys in one file list.
shutil.copy(target.client_key + ".pub", jump.authorized_keys)
KNOWN = "%s %s" % (target.known_hosts, jump.known_hosts)


def args(*extra):
    return [F.SSHTUN, "-F", "/dev/null"] + list(extra) + [
        "-i", target.client_key, "-o", "IdentitiesOnly=yes",
        "-o", "UserKnownHostsFile=%s" % KNOWN, "-o", "GlobalKnownHostsFile=none",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-N",
        "-p", str(target.port), "%s@127.0.0.1" % target.user]


def tunnel_works(*extra):
    lp = F.free_port()
    errpath = os.path.join(target.dir, "proxy-err-%d" % lp)
    with F.TcpServer(F.echo_handler) as srv:
        p = F.start(args(*extra, "-L", "%d:127.0.0.1:%d" % (lp, srv.port)),
                    env=target.env(), stdout=subprocess.DEVNULL,
                    stderr=open(errpath, "w"))
        try:
            try:
                F.wait_port(lp, proc=p, timeout=20)
            except RuntimeError:
                raise AssertionError(open(errpath).read())
            data = F.pattern(300000, seed=71)
            s = F.connect(lp)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            assert F.recv_all(s) == data
            s.close()
        finally:
            assert F.stop(p) == 0, open(errpath).read()
            F.assert_no_sanitizer_report(open(errpath).read())


def test_proxy_command_nc():
    tunnel_works("-o", "ProxyCommand=nc %h %p")


def test_jump_host():
    tunnel_works("-J", "%s@127.0.0.1:%d" % (jump.user, jump.port))
    log = jump.log_text()
    assert "target 127.0.0.1 port %d" % target.port in log, log[-3000:]


def test_two_hops():
    hop = "%s@127.0.0.1:%d" % (jump.user, jump.port)
    tunnel_works("-J", "%s,%s" % (hop, hop))


def test_refused_jump():
    closed = F.free_port()
    p = subprocess.run(args("-J", "127.0.0.1:%d" % closed), env=target.env(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 255, (p.returncode, err)
    assert "jump host 127.0.0.1:%d" % closed in err and "refused" in err, err


def test_jump_cannot_reach_target():
    closed = F.free_port()
    start = __import__("time").monotonic()
    argv = args("-J", "%s@127.0.0.1:%d" % (jump.user, jump.port))
    argv[argv.index(str(target.port))] = str(closed)
    p = subprocess.run(argv, env=target.env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 255 and "jump host" in err and "connect failed" in err, err
    assert __import__("time").monotonic() - start < 15


def test_proxy_command_in_config_unquoted():
    cfg = os.path.join(target.dir, "proxy.cfg")
    with open(cfg, "w") as f:
        f.write("Host *\n  ProxyCommand nc %h %p\n  ForwardAgent no\n")
    tunnel_works("-F", cfg, "-o", "ControlMaster=no")


if __name__ == "__main__":
    F.run_tests()
