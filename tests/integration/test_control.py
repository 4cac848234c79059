"""The control socket (`sshtun -M -S path`) driven by OpenSSH's own `ssh`
client and by sshtun's -O commands, against a real sshd.

OpenSSH's ssh checks the master, adds and cancels -L, -R and -D forwards
(bytes moved through each, both ways), prints the port the server picked
for -R 0, runs -W through the master (no new login) and tells it to
exit.  Another user cannot use the socket.  A stale socket, an over-long
path and an unknown -O command give clear errors; statistics match the
bytes a test moved; READY=1 reaches a NOTIFY_SOCKET only once the forward
listens, and STOPPING=1 comes on SIGTERM with exit status 0.
"""
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()
SSH = shutil.which("ssh") or "/usr/bin/ssh"


def ctl_path(name="ctl"):
    d = tempfile.mkdtemp(prefix="c", dir=sshd.dir)
    return os.path.join(d, name)


def wait_socket(path, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("sshtun exited (%s)" % proc.returncode)
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise RuntimeError("no control socket at %s" % path)


def master(path, *extra):
    t = F.Sshtun(sshd, "-M", "-S", path, *extra)
    try:
        wait_socket(path, t.proc)
    except RuntimeError:
        sys.stderr.write("sshtun stderr:\n%s\n" % t.stderr())
        raise
    return t


def ssh(path, *args, data=None, timeout=30, user=None, command=()):
    """OpenSSH's client on the control socket; (rc, stdout, stderr)."""
    argv = [SSH, "-F", "/dev/null", "-S", path, "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=2", "-p", "1"] + list(args) + ["127.0.0.1"] \
        + list(command)
    kw = {}
    if user is not None:
        kw["user"] = user
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       env=sshd.env(), **kw)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def sshtun_ctl(path, *args, timeout=30):
    """sshtun as a control client; (rc, stdout, stderr)."""
    argv = [F.SSHTUN, "-F", "/dev/null", "-S", path] + list(args) + ["x"]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=sshd.env())
    err = p.stderr.decode(errors="replace")
    F.assert_no_sanitizer_report(err)
    return p.returncode, p.stdout.decode(errors="replace"), err


def refused(port):
    try:
        F.connect(port, timeout=5).close()
    except OSError:
        return True
    return False


def socks5_connect(port, target_port):
    s = F.connect(port)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + target_port.to_bytes(2, "big"))
    reply = b""
    while len(reply) < 10:
        d = s.recv(10 - len(reply))
        assert d, "SOCKS reply cut short"
        reply += d
    assert reply[1] == 0, "SOCKS reply %r" % reply
    return s


def test_ssh_check_forward_cancel_exit():
    path = ctl_path()
    t = master(path)
    srv = F.TcpServer(F.echo_handler)
    try:
        rc, _, err = ssh(path, "-O", "check")
        assert rc == 0 and "Master running (pid=%d)" % t.proc.pid in err, (rc, err)
        # -L
        lp = F.free_port()
        spec = "%d:127.0.0.1:%d" % (lp, srv.port)
        rc, _, err = ssh(path, "-O", "forward", "-L", spec)
        assert rc == 0, err
        s = F.connect(lp)
        data = F.pattern(1 << 20, seed=71)
        assert F.echo_roundtrip(s, data) == data
        s.close()
        rc, _, err = ssh(path, "-O", "cancel", "-L", spec)
        assert rc == 0, err
        assert refused(lp), "-L port still open after cancel"
        # -R
        rp = F.free_port()
        rspec = "%d:127.0.0.1:%d" % (rp, srv.port)
        rc, _, err = ssh(path, "-O", "forward", "-R", rspec)
        assert rc == 0, err
        F.wait_port(rp)
        s = F.connect(rp)
        assert F.echo_roundtrip(s, data) == data
        s.close()
        rc, _, err = ssh(path, "-O", "cancel", "-R", rspec)
        assert rc == 0, err
        deadline = time.monotonic() + 10
        while not refused(rp) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert refused(rp), "-R port still open after cancel"
        # -D
        dp = F.free_port()
        rc, _, err = ssh(path, "-O", "forward", "-D", str(dp))
        assert rc == 0, err
        s = socks5_connect(dp, srv.port)
        assert F.echo_roundtrip(s, data) == data
        s.close()
        rc, _, err = ssh(path, "-O", "cancel", "-D", str(dp))
        assert rc == 0, err
        assert refused(dp), "-D port still open after cancel"
        # Cancelling what is not there is refused (ssh says so, exit 0).
        rc, _, err = ssh(path, "-O", "cancel", "-L", spec)
        assert "not forwarded" in err, (rc, err)
        # exit
        rc, _, err = ssh(path, "-O", "exit")
        assert rc == 0 and "Exit request sent" in err, (rc, err)
        assert t.proc.wait(15) == 0, t.stderr()
        assert not os.path.exists(path), "socket left behind"
        F.assert_no_sanitizer_report(t.stderr())
    finally:
        t.stop()
        srv.close()


def test_ssh_stdio_through_master():
    path = ctl_path()
    t = master(path)
    srv = F.TcpServer(F.echo_handler)
    try:
        logins = sshd.log_text().count("Accepted publickey")
        data = F.pattern(2 << 20, seed=72)
        rc, out, err = ssh(path, "-W", "127.0.0.1:%d" % srv.port, data=data,
                           timeout=60)
        assert rc == 0 and out == data, (rc, len(out), err)
        # ... and sshtun's own client the same way.
        p = subprocess.run([F.SSHTUN, "-F", "/dev/null", "-S", path, "-W",
                            "127.0.0.1:%d" % srv.port, "x"], input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, env=sshd.env())
        assert p.returncode == 0 and p.stdout == data, (p.returncode, p.stderr)
        assert sshd.log_text().count("Accepted publickey") == logins, \
            "a new login was made"
        # A refused target is reported, not a hang.
        rc, out, err = ssh(path, "-W", "127.0.0.1:%d" % F.free_port(), data=b"")
        assert rc != 0 and "failed" in err.lower(), (rc, err)
        # A session (a command) is refused with the reason.
        rc, _, err = ssh(path, "-o", "ControlMaster=no", command=["true"])
        assert rc != 0 and "runs no commands" in err, (rc, err)
    finally:
        t.stop()
        srv.close()


def test_remote_port_zero_printed():
    path = ctl_path()
    t = master(path)
    srv = F.TcpServer(F.echo_handler)
    try:
        rc, out, err = ssh(path, "-O", "forward", "-R", "0:127.0.0.1:%d" % srv.port)
        assert rc == 0, err
        port = int(out.decode().strip())
        s = F.connect(port)
        assert F.echo_roundtrip(s, b"picked by the server") == b"picked by the server"
        s.close()
        # sshtun's client prints it the same way.
        rc, out2, err = sshtun_ctl(path, "-O", "forward", "-R",
                                   "0:127.0.0.1:%d" % srv.port)
        assert rc == 0 and out2.strip().isdigit(), (rc, out2, err)
    finally:
        t.stop()
        srv.close()


def other_user():
    """A non-root user to try the socket as, or None (with why)."""
    if os.geteuid() != 0:
        return None, "not root: cannot run as another user"
    name = "sshtunctl"
    try:
        pwd.getpwnam(name)
    except KeyError:
        if not shutil.which("useradd"):
            return None, "no useradd"
        r = subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name],
                           stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            return None, "useradd failed: %s" % r.stderr.decode()
    return name, ""


def test_other_user_refused():
    user, why = other_user()
    if user is None:
        print("SKIP: test_other_user_refused: %s" % why)
        return
    d = tempfile.mkdtemp(prefix="pub")
    os.chmod(d, 0o755)
    path = os.path.join(d, "ctl")
    t = master(path)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o600, oct(os.stat(path).st_mode)
        rc, _, err = ssh(path, "-O", "check", user=user)
        assert rc != 0, "another user used the socket: %s" % err
        # Even with the file opened up, the master checks who is calling.
        os.chmod(path, 0o666)
        rc, _, err = ssh(path, "-O", "check", user=user)
        assert rc != 0, "another user passed the peer check: %s" % err
        assert "refused" in t.stderr(), t.stderr()
        rc, _, err = ssh(path, "-O", "check")
        assert rc == 0, err                 # root still may
    finally:
        t.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_stale_long_and_unknown():
    path = ctl_path()
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()                               # stale: nobody listens
    rc, _, err = sshtun_ctl(path, "-O", "check")
    assert rc == 255 and "stale" in err, (rc, err)
    rc, err = F.run_sshtun(sshd, "-M", "-S", path)
    assert rc == 255 and "already exists" in err, (rc, err)
    # ControlMaster=auto replaces a stale socket, as ssh does.
    with F.Sshtun(sshd, "-o", "ControlMaster=auto", "-S", path) as t:
        deadline = time.monotonic() + 15
        while sshtun_ctl(path, "-O", "check")[0] != 0:
            assert time.monotonic() < deadline, t.stderr()
            time.sleep(0.1)
    long_path = os.path.join(sshd.dir, "x" * 120)
    rc, err = F.run_sshtun(sshd, "-M", "-S", long_path)
    assert rc == 255 and "too long" in err, (rc, err)
    rc, _, err = sshtun_ctl(long_path, "-O", "check")
    assert rc == 255 and "too long" in err, (rc, err)
    rc, _, err = sshtun_ctl(path, "-O", "bogus")
    assert rc == 255 and "unknown -O command 'bogus'" in err, (rc, err)


def test_sshtun_client_commands_and_stats():
    path = ctl_path()
    t = master(path)
    srv = F.TcpServer(F.swap_handler(F.pattern(300000, seed=74)))
    try:
        rc, _, err = sshtun_ctl(path, "-O", "check")
        assert rc == 0 and "Master running" in err, (rc, err)
        lp = F.free_port()
        spec = "%d:127.0.0.1:%d" % (lp, srv.port)
        # A plain sshtun -L with a live master hands the forward to it.
        rc, _, err = sshtun_ctl(path, "-L", spec)
        assert rc == 0, err
        up = F.pattern(123457, seed=73)
        F.check_both_ways(srv, lp, up, F.pattern(300000, seed=74))
        deadline = time.monotonic() + 10
        while True:
            rc, out, err = sshtun_ctl(path, "-O", "stats")
            assert rc == 0, err
            st = json.loads(out)
            fw = [f for f in st["forwards"] if f["spec"] == spec]
            assert len(fw) == 1, st
            if fw[0]["conns_open"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert st["version"] == 1 and st["session"]["up"] is True, st
        assert fw[0]["kind"] == "local" and fw[0]["port"] == lp, fw
        assert fw[0]["bytes_up"] == len(up), fw
        assert fw[0]["bytes_down"] == 300000, fw
        assert fw[0]["conns_total"] >= 1 and fw[0]["conns_open"] == 0, fw
        assert st["session"]["bytes_out"] >= len(up), st
        assert st["session"]["bytes_in"] >= 300000, st
        assert st["session"]["connections_up"] == 1, st
        # A refused open is counted by reason.
        lp2 = F.free_port()
        dspec = "%d:127.0.0.1:%d" % (lp2, F.free_port())
        rc, _, err = sshtun_ctl(path, "-O", "forward", "-L", dspec)
        assert rc == 0, err
        c = F.connect(lp2)
        assert F.recv_all(c) == b""
        c.close()
        deadline = time.monotonic() + 10
        while True:
            st = json.loads(sshtun_ctl(path, "-O", "stats")[1])
            fw = [f for f in st["forwards"] if f["spec"] == dspec]
            if fw[0]["open_failed"]["connect_failed"] == 1:
                break
            assert time.monotonic() < deadline, fw
            time.sleep(0.1)
        rc, out, err = sshtun_ctl(path, "-O", "stats", "-v")
        assert rc == 0 and "session: up since" in out and spec[:20] in out, out
        rc, _, err = sshtun_ctl(path, "-O", "cancel", "-L", spec)
        assert rc == 0, err
        assert refused(lp)
        rc, _, err = sshtun_ctl(path, "-O", "stop")
        assert rc == 0 and not os.path.exists(path), (rc, err)
        assert t.proc.poll() is None, "stop must not end the master"
        assert t.stop() == 0
    finally:
        t.stop()
        srv.close()


def test_percent_c_and_config_keyword():
    """%C names the socket as OpenSSH's ssh does; the config files'
    ControlMaster/ControlPath are ssh's and ignored, SshtunControlPath is
    sshtun's."""
    d = tempfile.mkdtemp(prefix="pc", dir=sshd.dir)
    conf = os.path.join(d, "config")
    with open(conf, "w") as f:
        f.write("Host *\n  ControlMaster auto\n  ControlPath %s/ssh-%%C\n"
                "  SshtunControlPath %s/tun-%%C\n" % (d, d))
    args = ["-p", str(sshd.port), "-l", sshd.user, "127.0.0.1"]
    want = subprocess.run([SSH, "-G", "-F", "/dev/null", "-o",
                           "ControlPath=%s/tun-%%C" % d] + args,
                          stdout=subprocess.PIPE, timeout=30, env=sshd.env())
    path = [line.split(None, 1)[1] for line in want.stdout.decode().splitlines()
            if line.startswith("controlpath ")][0]
    argv = sshd.sshtun_args("-M")
    argv[argv.index("/dev/null")] = conf
    t = F.start(argv, env=sshd.env(), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
    try:
        wait_socket(path, t)
        assert sorted(os.listdir(d)) == sorted(["config", os.path.basename(path)]), \
            os.listdir(d)
        rc, _, err = ssh(path, "-O", "check")
        assert rc == 0, err
    finally:
        F.stop(t)


def test_stalled_reader_visible():
    path = ctl_path()
    big = F.pattern(8 << 20, seed=75)

    def flood(conn):
        try:
            conn.sendall(big)
        except OSError:
            pass

    srv = F.TcpServer(flood)
    lp = F.free_port()
    t = master(path, "-L", "%d:127.0.0.1:%d" % (lp, srv.port))
    try:
        F.wait_port(lp)
        c = F.connect(lp)           # connects, never reads
        deadline = time.monotonic() + 30
        while True:
            st = json.loads(sshtun_ctl(path, "-O", "stats")[1])
            fw = st["forwards"][0]
            if fw["stalled"] >= 1 and fw["queued_bytes"] > 0:
                assert len(fw["stalled_conns"]) == fw["stalled"], fw
                assert fw["stalled_conns"][0]["queued_bytes"] > 0, fw
                assert "window" in fw["stalled_conns"][0], fw
                break
            assert time.monotonic() < deadline, fw
            time.sleep(0.2)
        c.close()
    finally:
        t.stop()
        srv.close()


def test_socks_replies_counted():
    path = ctl_path()
    dp = F.free_port()
    srv = F.TcpServer(F.echo_handler)
    t = master(path, "-D", str(dp))
    try:
        F.wait_port(dp)
        s = socks5_connect(dp, srv.port)
        assert F.echo_roundtrip(s, b"counted") == b"counted"
        s.close()
        # BIND is refused by the decoder: "command not supported".
        s = F.connect(dp)
        s.sendall(b"\x05\x01\x00")
        assert s.recv(2) == b"\x05\x00"
        s.sendall(b"\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50")
        assert F.recv_all(s)[1] == 7
        s.close()
        deadline = time.monotonic() + 10
        while True:
            fw = json.loads(sshtun_ctl(path, "-O", "stats")[1])["forwards"][0]
            r = fw["socks_replies"]
            if r["succeeded"] == 1 and r["command_not_supported"] == 1:
                break
            assert time.monotonic() < deadline, fw
            time.sleep(0.1)
        assert fw["kind"] == "dynamic" and fw["bytes_up"] == 7, fw
    finally:
        t.stop()
        srv.close()


def notify_socket(abstract):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "@sshtun-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        s.bind("\0" + name[1:])
    else:
        name = os.path.join(sshd.dir, "notify-%d" % time.monotonic_ns())
        s.bind(name)
    s.settimeout(30)
    return s, name


def test_ready_only_once_listening():
    with F.TcpServer(F.echo_handler) as srv:
        for abstract in (False, True):
            s, name = notify_socket(abstract)
            env = sshd.env()
            env["NOTIFY_SOCKET"] = name
            lp = F.free_port()
            t = F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port), env=env)
            try:
                msg = s.recv(4096).decode()
                assert "READY=1" in msg, msg
                # READY means listening: the port answers at once.
                c = F.connect(lp, timeout=5)
                assert F.echo_roundtrip(c, b"ready") == b"ready"
                c.close()
                assert t.stop() == 0, t.stderr()
                msgs = []
                s.settimeout(5)
                try:
                    while True:
                        msgs.append(s.recv(4096).decode())
                except socket.timeout:
                    pass
                assert any("STOPPING=1" in m for m in msgs), msgs
            finally:
                t.stop()
                s.close()


def test_no_ready_when_forward_fails():
    s, name = notify_socket(False)
    env = sshd.env()
    env["NOTIFY_SOCKET"] = name
    try:
        # The server cannot listen on its own port: the -R is refused.
        rc, err = F.run_sshtun(sshd, "-o", "ExitOnForwardFailure=yes", "-R",
                               "%d:127.0.0.1:1" % sshd.port, env=env)
        assert rc == 255, (rc, err)
        s.settimeout(1)
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            msg = ""
        assert "READY=1" not in msg, msg
    finally:
        s.close()


if __name__ == "__main__":
    F.run_tests()
