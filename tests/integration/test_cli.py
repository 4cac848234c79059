"""The sshtun command line: ssh's options, its errors and exit codes.

Bad input gets one clear line and exit 255; keys of every supported kind
(files, encrypted via SSH_ASKPASS, agent, default identity) log in
through a real sshd.
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def run(args, env=None, timeout=30):
    p = subprocess.run([F.SSHTUN] + args, env=env or sshd.env(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    F.assert_no_sanitizer_report(err)
    return p.returncode, p.stdout.decode(errors="replace"), err


def comes_up(*args, env=None, key=None):
    """Start sshtun, wait for authentication, stop it; returns stderr."""
    t = F.Sshtun(sshd, "-v", *args, env=env, key=key)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and t.proc.poll() is None:
        if "Authenticated" in t.stderr():
            time.sleep(0.3)     # until main has seen the session up
            break
        time.sleep(0.05)
    alive = t.proc.poll() is None
    rc = t.stop()
    assert alive and rc == 0, (rc, t.stderr())
    return t.stderr()


def authorize(pub_path):
    with open(pub_path) as src, open(sshd.authorized_keys, "a") as dst:
        dst.write(src.read())


def test_version_and_help():
    rc, out, err = run(["-V"])
    assert rc == 0 and "sshtun" in err and "libssh2" in err, (rc, err)
    rc, out, err = run(["-h"])
    assert rc == 0 and "usage: sshtun" in out, (rc, out)


def test_bad_options():
    for args, text in ((["-Z", "host"], "unknown option -- Z"),
                       (["-p"], "requires an argument"),
                       (["-p", "0", "host"], "Port"),
                       (["-L", "80:host", "host"], "Bad local forwarding specification"),
                       (["-L", "99999:h:80", "host"], "bad port"),
                       (["-o", "NoSuchOption=1", "host"], "Bad configuration option"),
                       (["-o", "StrictHostKeyChecking=perhaps", "host"], "StrictHostKeyChecking"),
                       (["-X", "host"], "unknown option -- X"),
                       (["-R", "a:b", "host"], "Bad remote forwarding specification"),
                       (["-W", "nocolon", "host"], "Bad stdio forwarding specification"),
                       (["-D", "x", "host"], "Bad dynamic forwarding specification"),
                       ([], "no destination"),
                       (["host", "uptime"], "runs no remote command")):
        rc, out, err = run(args)
        assert rc == 255, (args, rc, err)
        assert text in err, (args, err)
        # One line saying what is wrong (then, for usage errors, the usage).
        assert text in err.splitlines()[0], (args, err)
        assert len(err.splitlines()) <= 12, err


def test_config_file_missing():
    rc, _, err = run(["-F", "/nonexistent/cfg", "host"])
    assert rc == 255 and "Can't open config file /nonexistent/cfg" in err, err


def test_unreachable_server():
    closed = F.free_port()
    start = time.monotonic()
    rc, _, err = run(["-F", "/dev/null", "-N", "-p", str(closed), "127.0.0.1"])
    assert rc == 255 and "Connection refused" in err, err
    assert time.monotonic() - start < 10
    rc, _, err = run(["-F", "/dev/null", "-N", "no-such-host.invalid"])
    assert rc == 255 and "Could not resolve hostname" in err, err


def test_connect_timeout_on_silent_server():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    try:
        start = time.monotonic()
        rc, _, err = run(["-F", "/dev/null", "-N", "-o", "ConnectTimeout=2",
                          "-p", str(silent.getsockname()[1]), "127.0.0.1"])
        took = time.monotonic() - start
        assert rc == 255 and "timed out" in err, (rc, err)
        assert took < 8, took
    finally:
        silent.close()


def test_wrong_key():
    other = os.path.join(sshd.dir, "unauthorized")
    F.keygen(other)
    rc, err = F.run_sshtun(sshd, key=other)
    assert rc == 255 and "Permission denied" in err, (rc, err)


def test_rsa_key():
    # Signed as rsa-sha2-512 (test_rsa.py covers every form of RSA key).
    rsa = os.path.join(sshd.dir, "id_rsa_test")
    F.keygen(rsa, "rsa")
    authorize(rsa + ".pub")
    comes_up(key=rsa)


def test_ecdsa_key():
    key = os.path.join(sshd.dir, "id_ecdsa_test")
    F.keygen(key, "ecdsa")
    authorize(key + ".pub")
    comes_up(key=key)


def test_encrypted_key_via_askpass():
    key = os.path.join(sshd.dir, "id_enc")
    F.keygen(key, "ed25519", passphrase="correct horse")
    authorize(key + ".pub")
    askpass = os.path.join(sshd.dir, "askpass.sh")
    with open(askpass, "w") as f:
        f.write("#!/bin/sh\necho 'correct horse'\n")
    os.chmod(askpass, 0o755)
    env = sshd.env()
    env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force")
    comes_up("-o", "BatchMode=no", env=env, key=key)
    # BatchMode=yes never prompts: fails fast, saying why.
    start = time.monotonic()
    rc, err = F.run_sshtun(sshd, key=key, env=env)
    assert rc == 255 and "encrypted" in err, (rc, err)
    assert time.monotonic() - start < 10
    # A wrong passphrase is refused.
    with open(askpass, "w") as f:
        f.write("#!/bin/sh\necho wrong\n")
    rc, err = F.run_sshtun(sshd, "-o", "BatchMode=no", key=key, env=env)
    assert rc == 255 and "Permission denied" in err, (rc, err)


def test_agent():
    sock = os.path.join(sshd.dir, "agent.sock")
    agent = F.start(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        env = sshd.env()
        env["SSH_AUTH_SOCK"] = sock
        subprocess.run(["ssh-add", "-q", sshd.client_key], env=env, check=True,
                       timeout=30, stderr=subprocess.DEVNULL)
        err = comes_up(env=env, key=False)
        assert "Authenticated" in err
    finally:
        F.stop(agent)


def test_identity_agent_option():
    sock = os.path.join(sshd.dir, "agent2.sock")
    agent = F.start(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        env = sshd.env()
        env["SSH_AUTH_SOCK"] = sock
        subprocess.run(["ssh-add", "-q", sshd.client_key], env=env, check=True,
                       timeout=30, stderr=subprocess.DEVNULL)
        # Named with IdentityAgent, not found through the environment.
        comes_up("-o", "IdentityAgent=%s" % sock, key=False)
        rc, err = F.run_sshtun(sshd, "-o", "IdentityAgent=none", key=False)
        assert rc == 255 and "Permission denied" in err, (rc, err)
    finally:
        F.stop(agent)


def test_host_key_algorithms():
    comes_up("-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256")
    rc, err = F.run_sshtun(sshd, "-o", "HostKeyAlgorithms=ssh-dss")
    assert rc == 255, (rc, err)


def test_default_identity():
    ssh_dir = os.path.join(sshd.home, ".ssh")
    os.makedirs(ssh_dir, exist_ok=True)
    shutil.copy(sshd.client_key, os.path.join(ssh_dir, "id_ed25519"))
    os.chmod(os.path.join(ssh_dir, "id_ed25519"), stat.S_IRUSR | stat.S_IWUSR)
    try:
        comes_up(key=False)
    finally:
        os.unlink(os.path.join(ssh_dir, "id_ed25519"))


def test_cipher_and_mac_options():
    comes_up("-c", "aes128-ctr", "-m", "hmac-sha2-256")
    rc, err = F.run_sshtun(sshd, "-c", "no-such-cipher")
    assert rc == 255 and "Unsupported cipher" in err, (rc, err)


def test_gateway_ports_binds_all():
    if not shutil.which("ss"):
        raise AssertionError("ss is not installed")
    lp = F.free_port()
    with F.Sshtun(sshd, "-g", "-L", "%d:127.0.0.1:9" % lp, wait_ports=[lp]) as t:
        out = subprocess.run(["ss", "-Hltn", "sport = :%d" % lp], stdout=subprocess.PIPE,
                             timeout=10).stdout.decode()
        local = sorted(line.split()[3] for line in out.splitlines())
        assert local == ["*:%d" % lp, "0.0.0.0:%d" % lp] or \
            local == ["0.0.0.0:%d" % lp, "[::]:%d" % lp], local


def test_family_flag_restricts_listeners():
    if not shutil.which("ss"):
        raise AssertionError("ss is not installed")
    for flag, want in (("-4", "127.0.0.1:%d"), ("-6", "[::1]:%d")):
        lp = F.free_port()
        host = "127.0.0.1" if flag == "-4" else "::1"
        with F.Sshtun(sshd, flag, "-L", "%d:127.0.0.1:9" % lp, wait_ports=[(host, lp)],
                      dest_host=host) as t:
            out = subprocess.run(["ss", "-Hltn", "sport = :%d" % lp],
                                 stdout=subprocess.PIPE, timeout=10).stdout.decode()
            local = [line.split()[3] for line in out.splitlines()]
            assert local == [want % lp], (flag, local)


def listener_pid(port):
    """PID of the process listening on port (from ss)."""
    out = subprocess.run(["ss", "-Hltnp", "sport = :%d" % port], stdout=subprocess.PIPE,
                         timeout=10).stdout.decode()
    for part in out.split("pid=")[1:]:
        return int(part.split(",")[0])
    return None


def run_background(*args):
    """Run sshtun -f: stderr goes to a file, since the background process
    keeps it open (as ssh -f does); returns the parent's status."""
    path = os.path.join(sshd.dir, "bg-%d.err" % time.monotonic_ns())
    with open(path, "w") as f:
        rc = subprocess.run(sshd.sshtun_args(*args), env=sshd.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=f, timeout=30).returncode
    return rc, open(path).read()


def test_background_after_forwards_are_up():
    lp = F.free_port()
    with F.TcpServer(F.echo_handler) as srv:
        start = time.monotonic()
        rc, err = run_background("-f", "-L", "%d:127.0.0.1:%d" % (lp, srv.port))
        assert rc == 0, (rc, err)
        assert time.monotonic() - start < 15
        # The parent has exited and the forward is already up.
        s = F.connect(lp)
        s.sendall(b"in the background")
        s.shutdown(socket.SHUT_WR)
        assert F.recv_all(s) == b"in the background"
        s.close()
        pid = listener_pid(lp)
        assert pid, "no background process listening"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while listener_pid(lp) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not listener_pid(lp)
    # A forward that cannot come up: the parent exits 255.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        rc, err = run_background("-f", "-o", "ExitOnForwardFailure=yes", "-L",
                                 "127.0.0.1:%d:127.0.0.1:9" % taken.getsockname()[1])
        assert rc == 255 and "Address already in use" in err, (rc, err)
    finally:
        taken.close()


def test_verbose_and_quiet():
    err = comes_up()
    assert "Connecting to 127.0.0.1" in err
    t = F.Sshtun(sshd, "-q")
    time.sleep(1.0)
    assert t.stop() == 0
    assert t.stderr() == "", t.stderr()


if __name__ == "__main__":
    F.run_tests()
