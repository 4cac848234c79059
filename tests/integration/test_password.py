"""Password and keyboard-interactive authentication through a real sshd.

Needs a throwaway account with a known password: created when the tests
run as root (and removed afterwards); otherwise the tests say SKIP and
why.  Answers come through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force);
BatchMode=yes must fail fast without asking.
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

pw_sshd = kbd_sshd = None
if not skip_reason:
    pw_sshd = F.shared_sshd("PasswordAuthentication yes\nPubkeyAuthentication no\n")
    kbd_sshd = F.shared_sshd("UsePAM yes\nKbdInteractiveAuthentication yes\n"
                             "PasswordAuthentication no\nPubkeyAuthentication no\n")


def askpass_env(sshd, answer):
    script = os.path.join(sshd.dir, "askpass-%d.sh" % time.monotonic_ns())
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho '%s'\n" % answer)
    os.chmod(script, 0o755)
    env = sshd.env()
    env.update(SSH_ASKPASS=script, SSH_ASKPASS_REQUIRE="force")
    return env


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


if __name__ == "__main__":
    try:
        F.run_tests()
    finally:
        if created:
            subprocess.run(["userdel", USER], timeout=30)
