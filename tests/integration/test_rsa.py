"""RSA user keys through a real sshd, in every form they come in.

libssh2 1.10 signs RSA keys only as ssh-rsa (SHA-1), which OpenSSH 8.8 and
later refuse; sshtun signs them itself as rsa-sha2-512 (falling back to
rsa-sha2-256).  Checked here: keys in OpenSSH format (plain, and encrypted
with the passphrase from SSH_ASKPASS, asked once), PEM and PKCS#8, the
default ~/.ssh/id_rsa, a key in a real ssh-agent (started here, killed by
PID; a key added with ssh-add -c, refused then confirmed), a key from
memory through the C API, a server that accepts only
rsa-sha2-256 or only ssh-rsa, PubkeyAcceptedAlgorithms (and its old name
PubkeyAcceptedKeyTypes) from -o and from a config file, a wrong
passphrase, keys sshtun cannot use (768 bits, aes256-gcm) followed by one
it can, an RSA key the server does not know followed by an ed25519 key
it does, PubkeyAuthentication=no, and two authentications sharing one
memo asking for the passphrase once.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

BUILD = F.TOP_BUILDDIR
sshd = F.shared_sshd()
sha256_sshd = F.shared_sshd("PubkeyAcceptedAlgorithms rsa-sha2-256\n")
sha1_sshd = F.shared_sshd("PubkeyAcceptedAlgorithms ssh-rsa\n")
PASSPHRASE = "rsa test passphrase"


def make_key(server, name, fmt="openssh", passphrase="", authorize=True,
             bits=None):
    """An RSA key in server.dir in format fmt; added to authorized_keys."""
    path = os.path.join(server.dir, name)
    cmd = ["ssh-keygen", "-q", "-t", "rsa", "-N", passphrase, "-C", name, "-f", path]
    if bits:
        cmd[4:4] = ["-b", str(bits)]
    if fmt != "openssh":
        cmd[4:4] = ["-m", fmt]
    subprocess.run(cmd, check=True, timeout=60)
    if authorize:
        for s in (server,) if not isinstance(server, tuple) else server:
            with open(s.authorized_keys, "a") as f, open(path + ".pub") as pub:
                f.write(pub.read())
    return path


def authorize(server, pubpath):
    with open(server.authorized_keys, "a") as f, open(pubpath) as pub:
        f.write(pub.read())


def askpass_env(server, answer):
    """An environment whose SSH_ASKPASS answers answer and counts calls
    (one line per call in the returned file)."""
    stamp = time.monotonic_ns()
    script = os.path.join(server.dir, "askpass-%d.sh" % stamp)
    count = os.path.join(server.dir, "askpass-%d.count" % stamp)
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho called >> '%s'\necho '%s'\n" % (count, answer))
    os.chmod(script, 0o755)
    env = server.env()
    env.update(SSH_ASKPASS=script, SSH_ASKPASS_REQUIRE="force")
    return env, count


def calls(count):
    try:
        with open(count) as f:
            return len(f.read().splitlines())
    except OSError:
        return 0


def authenticates(server, *args, env=None, key=None, timeout=30):
    """Run sshtun -N -v until it says Authenticated (or exits); returns
    (authenticated, exit code or None, stderr)."""
    t = F.Sshtun(server, "-v", *args, env=env, key=key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and t.proc.poll() is None:
        if "Authenticated to" in t.stderr():
            break
        time.sleep(0.05)
    ok = "Authenticated to" in t.stderr()
    rc = t.proc.poll()
    t.stop()
    return ok, rc, t.stderr()


def test_openssh_key_moves_bytes():
    key = make_key(sshd, "id_rsa_plain")
    port = F.free_port()
    with (F.TcpServer(F.swap_handler(F.pattern(300000, seed=2))) as srv,
          F.Sshtun(sshd, "-v", "-L", "%d:127.0.0.1:%d" % (port, srv.port),
                   wait_ports=[port], key=key) as t):
        F.check_both_ways(srv, port, F.pattern(200000, seed=1),
                          F.pattern(300000, seed=2))
    err = t.stderr()
    assert "Offering RSA key %s with rsa-sha2-512" % key in err, err
    assert "Accepted publickey" in sshd.log_text() and "RSA SHA256:" in sshd.log_text()


def test_encrypted_openssh_key_asks_once():
    key = make_key(sshd, "id_rsa_enc", passphrase=PASSPHRASE)
    env, count = askpass_env(sshd, PASSPHRASE)
    ok, rc, err = authenticates(sshd, "-o", "BatchMode=no", env=env, key=key)
    assert ok, err
    assert calls(count) == 1, calls(count)


def test_pem_and_pkcs8():
    for fmt in ("PEM", "PKCS8"):
        plain = make_key(sshd, "id_rsa_%s" % fmt.lower(), fmt)
        ok, rc, err = authenticates(sshd, key=plain)
        assert ok, (fmt, err)
        enc = make_key(sshd, "id_rsa_%s_enc" % fmt.lower(), fmt, PASSPHRASE)
        env, count = askpass_env(sshd, PASSPHRASE)
        ok, rc, err = authenticates(sshd, "-o", "BatchMode=no", env=env, key=enc)
        assert ok, (fmt, err)
        assert calls(count) == 1, (fmt, calls(count))


def test_wrong_passphrase():
    key = make_key(sshd, "id_rsa_wrong", passphrase=PASSPHRASE)
    env, count = askpass_env(sshd, "not the passphrase")
    rc, err = F.run_sshtun(sshd, "-o", "BatchMode=no", env=env, key=key)
    assert rc == 255, err
    assert "Bad passphrase" in err and "wrong passphrase for %s" % key in err, err
    assert calls(count) == 3, calls(count)
    # BatchMode=yes: not asked, and said why.
    env, count = askpass_env(sshd, PASSPHRASE)
    rc, err = F.run_sshtun(sshd, env=env, key=key)
    assert rc == 255 and "no passphrase given" in err, err
    assert calls(count) == 0


def test_default_id_rsa():
    key = make_key(sshd, "id_rsa_default")
    ssh_dir = os.path.join(sshd.home, ".ssh")
    os.makedirs(ssh_dir, exist_ok=True)
    shutil.copy(key, os.path.join(ssh_dir, "id_rsa"))
    try:
        ok, rc, err = authenticates(sshd, key=False)
        assert ok and "id_rsa with rsa-sha2-512" in err, err
    finally:
        shutil.rmtree(ssh_dir)


def test_agent_rsa_key():
    key = make_key(sshd, "id_rsa_agent", passphrase=PASSPHRASE)
    sock = os.path.join(sshd.dir, "agent.sock")
    agent = F.start(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        env, _ = askpass_env(sshd, PASSPHRASE)
        env["SSH_AUTH_SOCK"] = sock
        subprocess.run(["ssh-add", key], env=env, check=True, timeout=30,
                       stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = sshd.env()
        env["SSH_AUTH_SOCK"] = sock
        ok, rc, err = authenticates(sshd, env=env, key=False)
        assert ok, err
        assert "Offering agent key id_rsa_agent with rsa-sha2-512" in err, err
        # IdentityAgent names the socket too; none turns it off.
        ok, rc, err = authenticates(sshd, "-o", "IdentityAgent=%s" % sock, key=False)
        assert ok, err
        rc, err = F.run_sshtun(sshd, "-o", "IdentityAgent=none", key=False, env=env)
        assert rc == 255 and "agent key" not in err, err
        # Other key types sign through the same agent client.
        subprocess.run(["ssh-add", "-D"], env=env, check=True, timeout=30,
                       stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["ssh-add", sshd.client_key], env=env, check=True, timeout=30,
                       stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok, rc, err = authenticates(sshd, env=env, key=False)
        assert ok and "with ssh-ed25519 (offer 1)" in err, err
    finally:
        F.stop(agent)


def test_agent_confirmation():
    # ssh-add -c: the agent asks its SSH_ASKPASS before each signature.
    key = make_key(sshd, "id_rsa_confirm")
    sock = os.path.join(sshd.dir, "agent-confirm.sock")
    answer = os.path.join(sshd.dir, "confirm-answer")
    script = os.path.join(sshd.dir, "confirm.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\ngrep -q yes '%s' && echo yes && exit 0\nexit 1\n" % answer)
    os.chmod(script, 0o755)
    aenv = sshd.env()
    aenv.update(SSH_ASKPASS=script, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    agent = F.start(["ssh-agent", "-D", "-a", sock], env=aenv, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        env = sshd.env()
        env["SSH_AUTH_SOCK"] = sock
        subprocess.run(["ssh-add", "-c", key], env=env, check=True, timeout=30,
                       stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(answer, "w") as f:
            f.write("no\n")
        # Refused: the next key (the ed25519 file) gets in.
        ok, rc, err = authenticates(sshd, "-i", sshd.client_key, env=env, key=False)
        assert ok and "ssh-agent did not sign with rsa-sha2-512 (refused)" in err, err
        with open(answer, "w") as f:
            f.write("yes\n")
        ok, rc, err = authenticates(sshd, env=env, key=False)
        assert ok and "Offering agent key id_rsa_confirm with rsa-sha2-512" in err, err
        assert "did not sign" not in err, err
    finally:
        F.stop(agent)


def test_memory_key_through_api():
    with F.TcpServer(F.echo_handler) as srv:
        for name, pw in (("id_rsa_mem", ""), ("id_rsa_mem_enc", PASSPHRASE)):
            key = make_key(sshd, name, passphrase=pw)
            argv = [os.path.join(BUILD, "tests/api/api_identity"), str(sshd.port),
                    sshd.user, key, sshd.known_hosts, str(srv.port)]
            if pw:
                argv.append(pw)
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60, env=sshd.env())
            out, err = p.stdout.decode(), p.stderr.decode()
            F.assert_no_sanitizer_report(err, "api_identity")
            assert p.returncode == 0, out + err
            assert "ok: key from memory, %d prompts" % (1 if pw else 0) in out, out


def test_server_accepting_only_rsa_sha2_256():
    key = make_key(sha256_sshd, "id_rsa_256")
    ok, rc, err = authenticates(sha256_sshd, key=key)
    assert ok, err
    assert "with rsa-sha2-512 (offer 1)" in err and "with rsa-sha2-256 (offer 2)" in err, err
    # ^ puts rsa-sha2-256 first: one offer.
    ok, rc, err = authenticates(sha256_sshd, "-o", "PubkeyAcceptedAlgorithms=^rsa-sha2-256",
                                key=key)
    assert ok and "with rsa-sha2-256 (offer 1)" in err, err
    assert "rsa-sha2-512" not in err, err


def test_ssh_rsa_only_when_named():
    key = make_key(sha1_sshd, "id_rsa_sha1")
    rc, err = F.run_sshtun(sha1_sshd, key=key)
    assert rc == 255 and "Permission denied" in err, err
    assert "refused under every algorithm tried" in err, err
    ok, rc, err = authenticates(sha1_sshd, "-o", "PubkeyAcceptedAlgorithms=+ssh-rsa", key=key)
    assert ok and "with ssh-rsa" in err, err


def test_accepted_algorithms_from_config_file():
    key = make_key(sshd, "id_rsa_cfg")
    cfg = os.path.join(sshd.dir, "cfg_no_rsa")
    with open(cfg, "w") as f:
        f.write("Host *\n  PubkeyAcceptedKeyTypes -rsa-sha2-*\n")
    args = [a for a in sshd.sshtun_args("-v", key=key) if a != "/dev/null"]
    args[args.index("-F") + 1:args.index("-F") + 1] = [cfg]
    p = subprocess.run(args, env=sshd.env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    err = p.stderr.decode()
    F.assert_no_sanitizer_report(err)
    assert p.returncode == 255, err
    assert "PubkeyAcceptedAlgorithms allows no RSA algorithm" in err, err
    # ed25519 filtered by -o.
    rc, err = F.run_sshtun(sshd, "-o", "PubkeyAcceptedAlgorithms=rsa-sha2-512")
    assert rc == 255 and "ssh-ed25519 is not in PubkeyAcceptedAlgorithms" in err, err
    rc, err = F.run_sshtun(sshd, "-o", "PubkeyAcceptedAlgorithms=+ssh-nonsense")
    assert rc == 255 and "ssh-nonsense" in err, err


def test_unknown_rsa_then_ed25519():
    unknown = make_key(sshd, "id_rsa_unknown", authorize=False)
    ok, rc, err = authenticates(sshd, "-i", unknown, "-i", sshd.client_key,
                                "-o", "IdentitiesOnly=yes", key=False)
    assert ok, err
    # The RSA key's fallback waits until the ed25519 key has had its turn.
    assert "%s with rsa-sha2-512 (offer 1)" % unknown in err, err
    assert "(offer 2)" in err and "rsa-sha2-256" not in err, err


def test_unusable_keys_then_usable_one():
    small = os.path.join(sshd.dir, "id_rsa_768")
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", small, "768"],
                   check=True, timeout=60, stderr=subprocess.DEVNULL)
    os.chmod(small, 0o600)
    gcm = os.path.join(sshd.dir, "id_rsa_gcm")
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-N", PASSPHRASE, "-Z",
                    "aes256-gcm@openssh.com", "-f", gcm], check=True, timeout=60)
    authorize(sshd, gcm + ".pub")
    env, count = askpass_env(sshd, PASSPHRASE)
    ok, rc, err = authenticates(sshd, "-o", "BatchMode=no", "-i", small, "-i", gcm,
                                "-i", sshd.client_key, "-o", "IdentitiesOnly=yes",
                                env=env, key=False)
    assert ok, err
    assert "768-bit RSA key" in err and "aes256-gcm@openssh.com" in err, err
    assert calls(count) == 0, calls(count)


def test_pubkey_authentication_no():
    rc, err = F.run_sshtun(sshd, "-v", "-o", "PubkeyAuthentication=no")
    assert rc == 255 and "Permission denied" in err, err
    assert "Offering" not in err, err


def test_memo_asks_once_for_two_connections():
    key = make_key(sshd, "id_rsa_memo", passphrase=PASSPHRASE)
    p = subprocess.run([os.path.join(BUILD, "tests/api/api_auth_memo"), str(sshd.port),
                        sshd.user, key, PASSPHRASE], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, env=sshd.env())
    out, err = p.stdout.decode(), p.stderr.decode()
    F.assert_no_sanitizer_report(err, "api_auth_memo")
    assert p.returncode == 0, out + err
    assert "prompts: 1" in out and "can repeat: 1" in out, out
    assert sshd.log_text().count("Accepted publickey for %s" % sshd.user) >= 2


if __name__ == "__main__":
    F.run_tests()
