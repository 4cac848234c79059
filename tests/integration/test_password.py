"""Password and keyboard-interactive authentication through a real sshd.

Needs a throwaway account with a known password: created when the tests
run as root (and removed afterwards); otherwise the tests say SKIP and
why.  Answers come through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force);
BatchMode=yes must fail fast without asking.  PasswordAuthentication,
KbdInteractiveAuthentication and PreferredAuthentications are honoured
(a disabled method is never asked for; the preferred order decides which
of two working methods logs in), and two authentications sharing one
memo ask for the password once.
"""
import functools
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

USER = "sshtuntest"
PASSWORD = "correct horse battery"
skip_reason = None
created = False

if os.geteuid() != 0:
    skip_reason = "not root: cannot create a throwaway account"
elif subprocess.run(["id", USER], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL).returncode == 0:
    skip_reason = "account %s already exists; not touching it" % USER
else:
    hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], stdout=subprocess.PIPE,
                            check=True, timeout=30).stdout.decode().strip()
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-p", hashed,
                    USER], check=True, timeout=30)
    created = True

pw_sshd = kbd_sshd = both_sshd = None
if not skip_reason:
    both_sshd = F.shared_sshd("PasswordAuthentication yes\n")
    # sshd reads authorized_keys as the user: let the test account read it.
    os.chmod(both_sshd.dir, 0o755)
    os.chmod(both_sshd.authorized_keys, 0o644)
    pw_sshd = F.shared_sshd("PasswordAuthentication yes\nPubkeyAuthentication no\n")
    kbd_sshd = F.shared_sshd("UsePAM yes\nKbdInteractiveAuthentication yes\n"
                             "PasswordAuthentication no\nPubkeyAuthentication no\n")


def askpass_env(sshd, answer):
    script = os.path.join(sshd.dir, "askpass-%d.sh" % time.monotonic_ns())
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho \"called $1\" >> '%s.count'\necho '%s'\n" % (script, answer))
    os.chmod(script, 0o755)
    env = sshd.env()
    env.update(SSH_ASKPASS=script, SSH_ASKPASS_REQUIRE="force")
    return env


def asked(env):
    """How many times the askpass of env was called."""
    try:
        with open(env["SSH_ASKPASS"] + ".count") as f:
            return len(f.read().splitlines())
    except OSError:
        return 0


def connect_args(sshd, *extra):
    return [F.SSHTUN, "-F", "/dev/null"] + list(extra) + [
        "-o", "UserKnownHostsFile=%s" % sshd.known_hosts, "-o", "GlobalKnownHostsFile=none",
        "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-v", "-N",
        "-p", str(sshd.port), "%s@127.0.0.1" % USER]


def authenticates(sshd, env, *extra):
    path = os.path.join(sshd.dir, "pw-%d.err" % time.monotonic_ns())
    p = F.start(connect_args(sshd, *extra), env=env, stdout=subprocess.DEVNULL,
                stderr=open(path, "w"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and p.poll() is None:
        if "Authenticated" in open(path).read():
            break
        time.sleep(0.05)
    ok = "Authenticated" in open(path).read()
    F.stop(p)
    text = open(path).read()
    F.assert_no_sanitizer_report(text)
    return ok, p.returncode, text


def skip_or(fn):
    @functools.wraps(fn)
    def wrapper():
        if skip_reason:
            print("SKIP: %s: %s" % (fn.__name__, skip_reason))
            return
        fn()
    return wrapper


@skip_or
def test_password():
    ok, rc, err = authenticates(pw_sshd, askpass_env(pw_sshd, PASSWORD), "-o", "BatchMode=no")
    assert ok, err
    ok, rc, err = authenticates(pw_sshd, askpass_env(pw_sshd, "wrong"), "-o", "BatchMode=no")
    assert not ok and rc == 255 and "Permission denied" in err, err


@skip_or
def test_keyboard_interactive():
    ok, rc, err = authenticates(kbd_sshd, askpass_env(kbd_sshd, PASSWORD), "-o", "BatchMode=no")
    if not ok and "keyboard-interactive" not in err:
        print("SKIP: test_keyboard_interactive: sshd offers no keyboard-interactive "
              "here (PAM unavailable)")
        return
    assert ok, err


@skip_or
def test_batch_mode_never_asks():
    start = time.monotonic()
    ok, rc, err = authenticates(pw_sshd, askpass_env(pw_sshd, PASSWORD), "-o", "BatchMode=yes")
    assert not ok and rc == 255 and "Permission denied" in err, err
    assert time.monotonic() - start < 10


@skip_or
def test_disabled_methods_never_ask():
    env = askpass_env(pw_sshd, PASSWORD)
    ok, rc, err = authenticates(pw_sshd, env, "-o", "BatchMode=no",
                                "-o", "PasswordAuthentication=no")
    assert not ok and "Permission denied" in err, err
    assert asked(env) == 0, asked(env)
    env = askpass_env(kbd_sshd, PASSWORD)
    ok, rc, err = authenticates(kbd_sshd, env, "-o", "BatchMode=no",
                                "-o", "KbdInteractiveAuthentication=no")
    assert not ok and asked(env) == 0, err


@skip_or
def test_preferred_authentications():
    key = ["-i", both_sshd.client_key]
    env = askpass_env(both_sshd, PASSWORD)
    ok, rc, err = authenticates(both_sshd, env, "-o", "BatchMode=no", *key)
    assert ok and asked(env) == 0, err
    env = askpass_env(both_sshd, PASSWORD)
    ok, rc, err = authenticates(both_sshd, env, "-o", "BatchMode=no", "-o",
                                "PreferredAuthentications=password,publickey", *key)
    assert ok and asked(env) == 1, (asked(env), err)
    assert "Accepted password for %s" % USER in both_sshd.log_text()


@skip_or
def test_memo_password_asked_once():
    p = subprocess.run([os.path.join(F.TOP_BUILDDIR, "tests/api/api_auth_memo"),
                        str(pw_sshd.port), USER, "-", PASSWORD], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, env=pw_sshd.env())
    out, err = p.stdout.decode(), p.stderr.decode()
    F.assert_no_sanitizer_report(err, "api_auth_memo")
    assert p.returncode == 0 and "prompts: 1" in out, out + err
    assert pw_sshd.log_text().count("Accepted password for %s" % USER) >= 2


@skip_or
def test_pool_asks_for_the_password_once():
    """A password-authenticated pool: the extra connection made for an
    open waiting behind a stuck one logs in with the password typed once."""
    import socket
    import struct
    env = askpass_env(pw_sshd, PASSWORD)
    dport = F.free_port()
    path = os.path.join(pw_sshd.dir, "pool-%d.err" % time.monotonic_ns())
    before = pw_sshd.log_text().count("Accepted password for %s" % USER)
    p = F.start(connect_args(pw_sshd, "-o", "BatchMode=no", "-D", str(dport)),
                env=env, stdout=subprocess.DEVNULL, stderr=open(path, "w"))
    socks = []
    with F.TcpServer(F.echo_handler) as echo, F.BlackHole() as hole:
        try:
            F.wait_port(dport, proc=p)

            def request(port):
                s = F.connect(dport, timeout=10)
                s.sendall(b"\x05\x01\x00")
                F.recv_exact(s, 2)
                s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1")
                          + struct.pack(">H", port))
                socks.append(s)
                return s
            request(hole.port)
            time.sleep(0.3)
            s = request(echo.port)
            assert F.recv_exact(s, 10)[1] == 0, open(path).read()
            assert F.echo_roundtrip_keep(s, b"pooled") == b"pooled"
            assert "pool: connection 2 up" in open(path).read(), open(path).read()
            assert asked(env) == 1, asked(env)
            assert pw_sshd.log_text().count("Accepted password for %s" % USER) \
                - before >= 2
        finally:
            for s in socks:
                s.close()
            F.stop(p)
            F.assert_no_sanitizer_report(open(path).read())


if __name__ == "__main__":
    try:
        F.run_tests()
    finally:
        if created:
            subprocess.run(["userdel", USER], timeout=30)
