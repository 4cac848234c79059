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


def connects(known_hosts, strict="yes", env=None, extra=(), **kw):
    """True if sshtun authenticates and stays up (then stopped by SIGTERM)."""
    t = F.Sshtun(sshd, *extra, known_hosts=known_hosts, strict=strict, env=env,
                 **kw)
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


def pinned(name=None, kind="ed25519"):
    """A known_hosts line pinning the server's key under name."""
    k, blob = host_pub(kind)
    return "%s %s %s" % (name or "[127.0.0.1]:%d" % sshd.port, k, blob)


def other_key():
    path = os.path.join(sshd.dir, "kh_other_%d" % time.monotonic_ns())
    F.keygen(path)
    with open(path + ".pub") as f:
        return f.read().split()[:2]


def test_names_are_case_insensitive():
    """ssh lowercases names: a key pinned for localhost serves LocalHost."""
    path = kh_file("kh_case", [pinned("[localhost]:%d" % sshd.port)])
    ok, err = connects(path, dest_host="LocalHost")
    assert ok, err
    path = kh_file("kh_case2", [pinned("[LOCALHOST]:%d" % sshd.port)])
    ok, err = connects(path, dest_host="localhost")
    assert ok, err


def test_wildcard_and_negated_patterns():
    path = kh_file("kh_glob", [pinned("otherhost,[127.0.0.*]:%d" % sshd.port)])
    ok, err = connects(path)
    assert ok, err
    # A negated pattern takes the host out of the line, even if another
    # pattern of the line matches.
    path = kh_file("kh_negated", [pinned("[127.0.0.*]:%d,![127.0.0.1]:*"
                                         % sshd.port)])
    rc, err = F.run_sshtun(sshd, known_hosts=path, strict="yes")
    assert rc == 255 and "No ED25519 host key is known" in err, (rc, err)


def test_revoked_key_refused_everywhere():
    kind, blob = host_pub("ed25519")
    lines = [pinned(), "@revoked * %s %s" % (kind, blob)]
    for strict in ("yes", "accept-new", "no"):
        path = kh_file("kh_revoked_" + strict, lines)
        rc, err = F.run_sshtun(sshd, known_hosts=path, strict=strict)
        assert rc == 255, (strict, rc, err)
        assert "REVOKED" in err and "%s:2" % path in err, err
        assert "Authenticated" not in err, err
        assert open(path).read().count("\n") == 2, "known_hosts was written"
    # A @revoked line for another key does not matter.
    okind, oblob = other_key()
    path = kh_file("kh_revoked_other", [pinned(), "@revoked * %s %s" % (okind, oblob)])
    ok, err = connects(path)
    assert ok, err


def test_cert_authority_only_is_refused():
    okind, oblob = other_key()
    line = "@cert-authority [127.0.0.*]:%d %s %s" % (sshd.port, okind, oblob)
    for strict in ("yes", "accept-new", "no"):
        path = kh_file("kh_ca_" + strict, [line])
        rc, err = F.run_sshtun(sshd, known_hosts=path, strict=strict)
        assert rc == 255, (strict, rc, err)
        assert "@cert-authority" in err and "%s:1" % path in err, err
        assert open(path).read() == line + "\n", "a key was added"
    # With the host's own key pinned as well, the key decides.
    path = kh_file("kh_ca_pinned", [line, pinned()])
    ok, err = connects(path)
    assert ok, err


def test_host_key_alias():
    path = kh_file("kh_alias", [pinned("gateway.example")])
    ok, err = connects(path, extra=("-o", "HostKeyAlias=Gateway.Example"))
    assert ok, err
    rc, err = F.run_sshtun(sshd, known_hosts=path, strict="yes")
    assert rc == 255 and "No ED25519" in err, (rc, err)
    # accept-new records the key under the alias.
    path = kh_file("kh_alias_new", [])
    ok, err = connects(path, strict="accept-new",
                       extra=("-o", "HostKeyAlias=relay.example"))
    assert ok, err
    kind, blob = host_pub("ed25519")
    assert open(path).read() == "relay.example %s %s\n" % (kind, blob)
    # A pattern is never written: it would pin the key for other hosts.
    path = kh_file("kh_alias_star", [])
    rc, err = F.run_sshtun(sshd, "-o", "HostKeyAlias=*", known_hosts=path,
                           strict="accept-new")
    assert rc == 255 and "not a plain host name" in err, (rc, err)
    assert open(path).read() == ""


def test_revoked_host_keys_file():
    kind, blob = host_pub("ed25519")
    path = kh_file("kh_rhk", [pinned()])
    revoked = kh_file("revoked_keys", ["# revoked", "%s %s old server" % (kind, blob)])
    rc, err = F.run_sshtun(sshd, "-o", "RevokedHostKeys=%s" % revoked,
                           known_hosts=path)
    assert rc == 255 and "REVOKED" in err and "%s:2" % revoked in err, (rc, err)
    okind, oblob = other_key()
    fine = kh_file("revoked_other", ["%s %s" % (okind, oblob)])
    ok, err = connects(path, extra=("-o", "RevokedHostKeys=%s" % fine))
    assert ok, err
    # An unreadable file or a binary KRL fails closed.
    rc, err = F.run_sshtun(sshd, "-o", "RevokedHostKeys=%s.missing" % revoked,
                           known_hosts=path)
    assert rc == 255 and "RevokedHostKeys" in err, (rc, err)
    krl = os.path.join(sshd.dir, "krl")
    subprocess.run(["ssh-keygen", "-q", "-k", "-f", krl,
                    os.path.join(sshd.dir, "host_ed25519.pub")], check=True,
                   timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc, err = F.run_sshtun(sshd, "-o", "RevokedHostKeys=%s" % krl,
                           known_hosts=path)
    assert rc == 255 and "binary KRL" in err, (rc, err)


def test_check_host_ip_accepted():
    ok, err = connects(sshd.known_hosts, extra=("-o", "CheckHostIP=yes"))
    assert ok, err


def test_shell_metacharacters_refused():
    """CVE-2023-51385: a destination is pasted into ProxyCommand's shell."""
    marker = os.path.join(sshd.dir, "injected")
    path = kh_file("kh_inject", [])
    for dest in ("gw$(touch %s)" % marker, "gw`touch %s`" % marker,
                 "a;touch %s" % marker):
        args = [F.SSHTUN, "-F", "/dev/null", "-o", "ProxyCommand=nc %h %p",
                "-o", "UserKnownHostsFile=%s" % path,
                "-o", "StrictHostKeyChecking=accept-new", "-N", dest]
        p = subprocess.run(args, env=sshd.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=30)
        err = p.stderr.decode(errors="replace")
        assert p.returncode == 255, (dest, p.returncode, err)
        assert "hostname contains invalid characters" in err, err
        args[-1] = "u$(touch %s)@gw" % marker
        p = subprocess.run(args, env=sshd.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=30)
        assert p.returncode == 255, p.stderr
        assert b"username contains invalid" in p.stderr, p.stderr
        args[-1] = "-J"
        args += ["gw$(touch %s)" % marker, "host"]
        p = subprocess.run(args, env=sshd.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=30)
        assert p.returncode == 255 and b"ProxyJump: hostname" in p.stderr, p.stderr
    assert not os.path.exists(marker)
    assert open(path).read() == ""


if __name__ == "__main__":
    F.run_tests()
