"""Host key verification against known_hosts, through a real sshd.

Unknown and changed keys are refused before authentication with the key
type, fingerprint and file named; accept-new records the key; hashed
entries and hosts known by one key type only are honoured; an RSA-only
server gets a message saying why it cannot be verified.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()


def kh_file(name, lines):
    path = os.path.join(sshd.dir, name)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return path


def host_pub(kind):
    with open(os.path.join(sshd.dir, "host_%s.pub" % kind)) as f:
        return f.read().split()[:2]


def connects(known_hosts, strict="yes", env=None):
    """True if sshtun authenticates and stays up (then stopped by SIGTERM)."""
    t = F.Sshtun(sshd, known_hosts=known_hosts, strict=strict, env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and t.proc.poll() is None:
        if "Authenticated" in t.stderr():
            time.sleep(0.3)     # until main has seen the session up
            break
        time.sleep(0.05)
    up = t.proc.poll() is None
    rc = t.stop(signal.SIGTERM)
    return up and rc == 0, t.stderr()


def test_known_key_connects():
    ok, err = connects(sshd.known_hosts, env=dict(sshd.env()))
    assert ok, err


def test_changed_key_refused():
    other = os.path.join(sshd.dir, "other_host_key")
    F.keygen(other)
    with open(other + ".pub") as f:
        kind, blob = f.read().split()[:2]
    path = kh_file("kh_changed", ["# a comment",
                                  "[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob)])
    start = time.monotonic()
    rc, err = F.run_sshtun(sshd, "-v", known_hosts=path)
    assert rc == 255, (rc, err)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in err, err
    # Refused before authentication.
    assert "Authenticated" not in err and "Trying private key" not in err, err
    assert "%s:2" % path in err, err
    assert "SHA256:" in err, err
    assert time.monotonic() - start < 10


def test_unknown_host_strict_yes():
    path = kh_file("kh_empty", [])
    rc, err = F.run_sshtun(sshd, known_hosts=path, strict="yes")
    assert rc == 255, (rc, err)
    assert "No ED25519 host key is known for [127.0.0.1]:%d" % sshd.port in err, err
    assert open(path).read() == "", "strict checking must not write known_hosts"


def test_unknown_host_default_is_refused():
    path = kh_file("kh_empty2", [])
    rc, err = F.run_sshtun(sshd, known_hosts=path, strict=None)
    assert rc == 255, (rc, err)
    assert "accept-new" in err, err


def test_accept_new_records_key():
    path = kh_file("kh_new", [])
    ok, err = connects(path, strict="accept-new")
    assert ok, err
    assert "Permanently added" in err, err
    kind, blob = host_pub("ed25519")
    assert "[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob) in open(path).read()
    ok, err = connects(path, strict="yes")
    assert ok, err


def test_accept_new_still_refuses_changed_key():
    other = os.path.join(sshd.dir, "other_host_key2")
    F.keygen(other)
    with open(other + ".pub") as f:
        kind, blob = f.read().split()[:2]
    path = kh_file("kh_changed2", ["[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob)])
    rc, err = F.run_sshtun(sshd, known_hosts=path, strict="accept-new")
    assert rc == 255 and "HAS CHANGED" in err, (rc, err)


def test_accept_new_hashed():
    path = kh_file("kh_new_hashed", [])
    t = F.Sshtun(sshd, "-o", "HashKnownHosts=yes", known_hosts=path, strict="accept-new")
    deadline = time.monotonic() + 10
    while "Permanently added" not in t.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    t.stop()
    text = open(path).read()
    assert text.startswith("|1|") and "127.0.0.1" not in text, text
    ok, err = connects(path, strict="yes")
    assert ok, err


def test_changed_key_with_strict_no_disables_forwarding():
    other = os.path.join(sshd.dir, "other_host_key3")
    F.keygen(other)
    with open(other + ".pub") as f:
        kind, blob = f.read().split()[:2]
    path = kh_file("kh_changed3", ["[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob)])
    rc, err = F.run_sshtun(sshd, "-o", "ExitOnForwardFailure=yes",
                           "-L", "%d:127.0.0.1:9" % F.free_port(),
                           known_hosts=path, strict="no")
    assert rc == 255, (rc, err)
    assert "HAS CHANGED" in err and "forwarding is disabled" in err, err


def test_hashed_entries():
    path = kh_file("kh_hashed", open(sshd.known_hosts).read().splitlines())
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", path], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert "|1|" in open(path).read()
    ok, err = connects(path)
    assert ok, err


def test_only_ecdsa_known():
    """libssh2 alone would pick whatever; the known type must be asked for."""
    kind, blob = host_pub("ecdsa")
    path = kh_file("kh_ecdsa", ["[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob)])
    ok, err = connects(path)
    assert ok, err
    kind, blob = host_pub("ed25519")
    path = kh_file("kh_ed", ["[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob)])
    ok, err = connects(path)
    assert ok, err


def test_unsupported_lines_are_skipped():
    kind, blob = host_pub("ed25519")
    path = kh_file("kh_mixed", [
        "@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE",
        "otherhost sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t",
        "garbage line",
        "[127.0.0.1]:%d %s %s" % (sshd.port, kind, blob)])
    ok, err = connects(path)
    assert ok, err


def test_rsa_only_server_explained():
    rsa = F.shared_sshd(host_key_types=("rsa",))
    rc, err = F.run_sshtun(rsa, strict="yes")
    assert rc == 255, (rc, err)
    assert "RSA" in err and "handshake" in err, err


if __name__ == "__main__":
    F.run_tests()
