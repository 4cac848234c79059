"""Passphrase prompts on a terminal, signals and early exits of the sshtun
program, against a real sshd.

On a pseudo-terminal: Ctrl-C at the passphrase prompt ends sshtun (255)
with the terminal's echo back on; a prompt asked during a reconnect ends
when sshtun is told to stop (SIGTERM), promptly and with echo restored.
A bad configuration line exits before any thread is started (checked
with strace where it is installed).  SIGUSR1 logs the statistics summary,
and a reconnect shows up as STATUS= on the NOTIFY_SOCKET.
"""
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()
PASSPHRASE = "open sesame"
enc_key = os.path.join(sshd.dir, "id_enc")
F.keygen(enc_key, passphrase=PASSPHRASE)
with open(enc_key + ".pub") as pub, open(sshd.authorized_keys, "a") as ak:
    ak.write(pub.read())
# A second encrypted key, authorized only later: a reconnect that may no
# longer log in as the first connection did has to ask for it.
enc_key2 = os.path.join(sshd.dir, "id_enc2")
F.keygen(enc_key2, passphrase=PASSPHRASE)


def spawn_on_pty(argv, env):
    """Start argv with a new pseudo-terminal as its controlling tty;
    returns (pid, master fd)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    return pid, fd


def read_until(fd, want, timeout=30.0):
    """Read the pty until want appears; returns everything read."""
    out = b""
    deadline = time.monotonic() + timeout
    while want not in out:
        left = deadline - time.monotonic()
        assert left > 0, "no %r on the terminal; got %r" % (want, out)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                d = b""
            assert d, "terminal closed before %r; got %r" % (want, out)
            out += d
    return out


def reap(pid):
    """Kill (by PID) and reap a pty child a failed test left running."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def echo_on(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def wait_exit(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("sshtun did not exit within %.0f s" % timeout)


def pty_args(*extra, key=None):
    return sshd.sshtun_args("-o", "BatchMode=no", *extra, key=key or enc_key)


def test_ctrl_c_at_prompt_restores_echo():
    env = sshd.env()
    env["SSH_ASKPASS_REQUIRE"] = "never"
    pid, fd = spawn_on_pty(pty_args(), env)
    try:
        read_until(fd, b"passphrase")
        time.sleep(0.2)             # the prompt turns echo off after writing
        assert not echo_on(fd), "echo is on during the passphrase prompt"
        os.write(fd, b"\x03")       # Ctrl-C through the line discipline
        rc = wait_exit(pid, 15)
        assert rc == 255, rc
        assert echo_on(fd), "Ctrl-C left the terminal with echo off"
    finally:
        reap(pid)
        os.close(fd)


def test_close_during_reconnect_prompt():
    env = sshd.env()
    env["SSH_ASKPASS_REQUIRE"] = "never"
    lp = F.free_port()
    with open(sshd.authorized_keys) as f:
        authorized = f.read()
    with F.TcpServer(F.echo_handler) as srv:
        pid, fd = spawn_on_pty(pty_args("-o", "Reconnect=yes", "-o",
                                        "ServerAliveInterval=1", "-i", enc_key2,
                                        "-L", "%d:127.0.0.1:%d" % (lp, srv.port)),
                               env)
        try:
            for _ in range(2):
                read_until(fd, b"passphrase")
                time.sleep(0.2)
                os.write(fd, PASSPHRASE.encode() + b"\n")
            F.wait_port(lp)
            # Only the second key is let in from now on, so the reconnect
            # cannot log in as before and asks for the second key's passphrase.
            with open(sshd.authorized_keys, "w") as f:
                with open(enc_key2 + ".pub") as pub:
                    f.write(pub.read())
            sshd.kill()                 # lost: sshtun reconnects ...
            sshd.start()                # ... and asks for a passphrase again
            read_until(fd, b"passphrase", timeout=60)
            time.sleep(0.2)
            assert not echo_on(fd)
            os.kill(pid, signal.SIGTERM)
            rc = wait_exit(pid, 10)     # without cancelling, it waits for a key
            assert rc == 0, rc
            assert echo_on(fd), "the terminal was left with echo off"
        finally:
            with open(sshd.authorized_keys, "w") as f:
                f.write(authorized)
            reap(pid)
            os.close(fd)


def test_bad_config_starts_no_thread():
    strace = shutil.which("strace")
    if not strace:
        print("SKIP: test_bad_config_starts_no_thread: strace not installed")
        return
    conf = os.path.join(sshd.dir, "bad_config")
    with open(conf, "w") as f:
        f.write("Host *\n  Frobnicate yes\n")
    trace = os.path.join(sshd.dir, "strace.out")
    env = sshd.env()
    # LeakSanitizer cannot run under ptrace; this test is about threads.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    p = subprocess.run([strace, "-f", "-qq", "-e", "trace=clone,clone3",
                        "-o", trace, F.SSHTUN, "-F", conf, "host"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60, env=env)
    assert p.returncode == 255, p.stderr
    assert b"Frobnicate" in p.stderr, p.stderr
    with open(trace) as f:
        calls = [line for line in f if "clone" in line]
    assert not calls, "threads started before the config was accepted: %s" % calls


def test_sigusr1_logs_statistics():
    lp = F.free_port()
    with (F.TcpServer(F.echo_handler) as srv,
          F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, srv.port), wait_ports=[lp]) as t):
        s = F.connect(lp)
        assert F.echo_roundtrip(s, b"x" * 1000) == b"x" * 1000
        s.close()
        t.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while "session: up since" not in t.stderr():
            assert time.monotonic() < deadline, t.stderr()
            time.sleep(0.05)
        assert "%d:127.0.0.1:%d" % (lp, srv.port) in t.stderr(), t.stderr()
        assert t.proc.poll() is None, "SIGUSR1 must not stop sshtun"
        assert t.stop() == 0


def test_reconnect_status_notified():
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = os.path.join(sshd.dir, "notify-reconnect")
    n.bind(name)
    n.settimeout(30)
    env = sshd.env()
    env["NOTIFY_SOCKET"] = name
    env["WATCHDOG_USEC"] = "1000000"
    lp = F.free_port()
    t = F.Sshtun(sshd, "-o", "Reconnect=yes", "-o", "ServerAliveInterval=1",
                 "-L", "%d:127.0.0.1:1" % lp, env=env)
    try:
        msgs = [n.recv(4096).decode()]
        assert "READY=1" in msgs[0], msgs
        sshd.kill()
        deadline = time.monotonic() + 30
        while not any("STATUS=reconnecting in" in m for m in msgs):
            assert time.monotonic() < deadline, msgs
            msgs.append(n.recv(4096).decode())
        sshd.start()
        while not any("STATUS=connected" in m for m in msgs[1:]):
            assert time.monotonic() < deadline + 30, msgs
            msgs.append(n.recv(4096).decode())
        assert any("WATCHDOG=1" in m for m in msgs), msgs
        assert t.stop() == 0, t.stderr()
    finally:
        t.stop()
        n.close()


if __name__ == "__main__":
    F.run_tests()
