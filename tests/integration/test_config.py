"""ssh_config files (-F, ~/.ssh/config) through a real sshd.

A Host alias resolved by HostName, Port, User, IdentityFile and
LocalForward from the file; the command line beating the file; Host
patterns with wildcards and negation; Include; keywords OpenSSH knows
being ignored; Match blocks skipped with a warning; and bad lines named
by file:line with exit 255.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def write(name, text):
    path = os.path.join(sshd.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def base_block(port_line=None):
    return ("  HostName 127.0.0.1\n"
            "  %s\n"
            "  User %s\n"
            "  IdentityFile %s\n"
            "  IdentitiesOnly yes\n"
            "  UserKnownHostsFile %s\n"
            "  GlobalKnownHostsFile none\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n") % (port_line or "Port %d" % sshd.port, sshd.user,
                                    sshd.client_key, sshd.known_hosts)


def run(args, env=None, timeout=30):
    p = subprocess.run([F.SSHTUN] + args, env=env or sshd.env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    F.assert_no_sanitizer_report(err)
    return p.returncode, err


def start(args, env=None):
    errpath = os.path.join(sshd.dir, "err-%d" % time.monotonic_ns())
    p = F.start([F.SSHTUN] + args, env=env or sshd.env(), stdout=subprocess.DEVNULL,
                stderr=open(errpath, "w"))
    return p, errpath


def echo_through(port):
    s = F.connect(port)
    s.sendall(b"configured")
    s.shutdown(socket.SHUT_WR)
    got = F.recv_all(s)
    s.close()
    return got


def test_alias_with_forward_from_file():
    lp = F.free_port()
    with F.TcpServer(F.echo_handler) as srv:
        cfg = write("cfg1", "# tunnels\nHost other\n  Port 1\n\nHost myalias\n" + base_block()
                    + "  LocalForward %d 127.0.0.1:%d\n  ForwardAgent no\n"
                      "  ControlMaster auto\n  SendEnv LANG\n" % (lp, srv.port))
        p, errpath = start(["-F", cfg, "-N", "myalias"])
        try:
            F.wait_port(lp, proc=p)
            assert echo_through(lp) == b"configured"
        finally:
            F.stop(p)


def test_command_line_wins():
    cfg = write("cfg2", "Host myalias\n" + base_block("Port 1"))
    p, errpath = start(["-F", cfg, "-N", "-v", "-p", str(sshd.port), "myalias"])
    try:
        deadline = time.monotonic() + 10
        while "Authenticated" not in open(errpath).read() and time.monotonic() < deadline:
            assert p.poll() is None, open(errpath).read()
            time.sleep(0.05)
        assert "Authenticated" in open(errpath).read()
    finally:
        F.stop(p)


def test_patterns_negation_and_include():
    lp = F.free_port()
    with F.TcpServer(F.echo_handler) as srv:
        write("included.conf", "Host db-*\n  LocalForward %d 127.0.0.1:%d\n" % (lp, srv.port))
        cfg = write("cfg3", "Include included.conf\n"
                            "Host db-* !db-old\n" + base_block() +
                            "Host db-old\n  Port 1\n")
        p, _ = start(["-F", cfg, "-N", "db-main"])
        try:
            F.wait_port(lp, proc=p)
            assert echo_through(lp) == b"configured"
        finally:
            F.stop(p)
    # db-old is excluded from the block with the real settings: no HostName,
    # so it cannot even resolve.
    rc, err = run(["-F", cfg, "-N", "-o", "ConnectTimeout=5", "db-old"])
    assert rc == 255, (rc, err)


def test_default_user_config_and_match_warning():
    ssh_dir = os.path.join(sshd.home, ".ssh")
    os.makedirs(ssh_dir, exist_ok=True)
    with open(os.path.join(ssh_dir, "config"), "w") as f:
        f.write("Match host nothing\n  Port 1\nHost homealias\n" + base_block())
    try:
        p, errpath = start(["-N", "-v", "homealias"])
        deadline = time.monotonic() + 10
        while "Authenticated" not in open(errpath).read() and time.monotonic() < deadline:
            assert p.poll() is None, open(errpath).read()
            time.sleep(0.05)
        F.stop(p)
        text = open(errpath).read()
        assert "Authenticated" in text, text
        assert "Match block(s)" in text, text
    finally:
        os.unlink(os.path.join(ssh_dir, "config"))


def test_bad_lines():
    for body, want in (("Host x\n  Port abc\n", "cfg4:2"),
                       ("Host *\n  Portt 22\n", "Bad configuration option: Portt"),
                       ("Host x\n  StrictHostKeyChecking maybe\n", "StrictHostKeyChecking"),
                       ('Host x\n  IdentityFile "unbalanced\n', "unbalanced quote")):
        cfg = write("cfg4", body)
        rc, err = run(["-F", cfg, "-N", "x"])
        assert rc == 255 and want in err, (body, rc, err)
        assert len(err.splitlines()) <= 2, err


if __name__ == "__main__":
    F.run_tests()
