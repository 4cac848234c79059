"""Test fixture: a real OpenSSH sshd on loopback, targets, and sshtun runs.

Each test module builds an Sshd in a temporary directory with its own host
keys (ed25519 and ECDSA) and client key, checks its config with `sshd -t`,
starts it in the foreground (-D -e) on a free port and waits until it
answers with its banner.  Its log is printed when a test fails.  Every
process started here is remembered by PID and killed by PID at the end;
nothing is ever killed by name.

Sshd, Sshtun and TcpServer are context managers (`with F.TcpServer(h) as
srv, F.forward(sshd, "-L", srv.port) as t:`), stopped or closed on the way
out.  A test module ends with `F.run_tests()`, which runs every `test_*`
function the module defines, in the order they are written.
"""
import hashlib
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SSHTUN = os.environ.get("SSHTUN", "sshtun")
SSHD = os.environ.get("SSHD") or shutil.which("sshd") or "/usr/sbin/sshd"
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR", ".")

_procs = []


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port that was free a moment ago."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    """Wait until something accepts connections on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited (%s) before listening on %s:%d"
                               % (proc.returncode, host, port))
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect((host, port))
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on %s:%d after %.0fs" % (host, port, timeout))


def start(argv, **kw):
    """Start a process, remembered for cleanup."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, **kw)
    _procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10.0):
    """Stop one process by PID, escalating to SIGKILL."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return p.returncode


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer")


def assert_no_sanitizer_report(text, what="sshtun"):
    """Fail when a sanitizer build reported a problem on stderr."""
    for m in SANITIZER_MARKERS:
        if m in text:
            raise AssertionError("%s: sanitizer report:\n%s" % (what, text[-6000:]))


def stop_all():
    for p in list(_procs):
        stop(p)
    _procs.clear()


def descendants(pid):
    """PIDs of every process below pid (read from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def keygen(path, kind="ed25519", passphrase=""):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C",
                    "sshtun-test", "-f", path], check=True, timeout=30)


class Sshd:
    """A throwaway sshd on 127.0.0.1 and ::1."""

    def __init__(self, extra_config="", host_key_types=("ed25519", "ecdsa")):
        self.dir = tempfile.mkdtemp(prefix="sshtun-test-")
        self.port = free_port()
        self.host_keys = []
        for kind in host_key_types:
            path = os.path.join(self.dir, "host_%s" % kind)
            keygen(path, kind)
            self.host_keys.append(path)
        self.client_key = os.path.join(self.dir, "id_ed25519")
        keygen(self.client_key)
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        shutil.copy(self.client_key + ".pub", self.authorized_keys)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        with open(self.known_hosts, "w") as f:
            for k in self.host_keys:
                with open(k + ".pub") as pub:
                    kind, blob = pub.read().split()[:2]
                f.write("[127.0.0.1]:%d %s %s\n" % (self.port, kind, blob))
                f.write("[::1]:%d %s %s\n" % (self.port, kind, blob))
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        self.log = os.path.join(self.dir, "sshd.log")
        self.user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            # sshd keeps the first value of a keyword: extra settings first.
            f.write(extra_config)
            f.write("Port %d\nListenAddress 127.0.0.1\nListenAddress ::1\n" % self.port)
            for k in self.host_keys:
                f.write("HostKey %s\n" % k)
            f.write("PidFile %s/sshd.pid\n" % self.dir)
            f.write("AuthorizedKeysFile %s\n" % self.authorized_keys)
            f.write("StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPermitRootLogin yes\n"
                    "LogLevel DEBUG1\nMaxStartups 200\nMaxSessions 100\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)
        subprocess.run([SSHD, "-t", "-f", self.config], check=True, timeout=30)
        self.start()

    def start(self):
        """Start (or restart) the daemon on the same port and keys.  If
        another program took the port meanwhile (free_port only says it
        was free), the first start moves to another one."""
        for attempt in range(3):
            self.proc = start([SSHD, "-D", "-e", "-f", self.config],
                              stdout=subprocess.DEVNULL,
                              stderr=open(self.log, "a"))
            try:
                self._wait_banner()
                self.started_once = True
                return
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in self.log_text() \
                        or getattr(self, "started_once", False):
                    stop(self.proc)         # it may listen on one address
                    raise
            stop(self.proc)
            self._move_port(free_port())

    def _move_port(self, port):
        """Use another port: in the config and in known_hosts."""
        for path in (self.config, self.known_hosts):
            with open(path) as f:
                text = f.read()
            text = text.replace("Port %d\n" % self.port, "Port %d\n" % port)
            text = text.replace("]:%d " % self.port, "]:%d " % port)
            with open(path, "w") as f:
                f.write(text)
        with open(self.log, "w"):
            pass
        self.port = port

    def kill(self):
        """Kill the daemon and every session process below it, by PID."""
        pids = descendants(self.proc.pid) + [self.proc.pid]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(10)

    def _wait_banner(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1.0) as s:
                    s.settimeout(2.0)
                    if s.recv(64).startswith(b"SSH-2.0"):
                        return
            except OSError:
                time.sleep(0.05)
        self.dump_log()
        raise RuntimeError("sshd did not come up on port %d" % self.port)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def dump_log(self):
        sys.stderr.write("---- sshd log (%s) ----\n%s---- end of sshd log ----\n"
                         % (self.log, self.log_text()[-20000:]))

    def env(self):
        e = dict(os.environ)
        e["HOME"] = self.home
        e.pop("SSH_AUTH_SOCK", None)
        e.pop("SSH_ASKPASS", None)
        return e

    def sshtun_args(self, *extra, key=None, known_hosts=None, strict="yes",
                    dest_host="127.0.0.1"):
        # Options given first win, as in ssh: extra can override defaults.
        args = [SSHTUN, "-F", "/dev/null"] + list(extra)
        if key is not False:
            args += ["-i", key or self.client_key, "-o", "IdentitiesOnly=yes"]
        if strict is not None:
            args += ["-o", "StrictHostKeyChecking=%s" % strict]
        return args + [
            "-p", str(self.port),
            "-o", "UserKnownHostsFile=%s" % (known_hosts or self.known_hosts),
            "-o", "GlobalKnownHostsFile=none",
            "-o", "BatchMode=yes", "-N",
            "%s@%s" % (self.user, "[%s]" % dest_host if ":" in dest_host else dest_host)]

    def swap_host_keys(self):
        """Start another daemon on the same port with new host keys (the
        old listener must be gone); returns its process."""
        config = self.config + ".swapped"
        with open(self.config) as f:
            lines = [l for l in f if not l.startswith("HostKey ")]
        path = os.path.join(self.dir, "host_swapped_ed25519")
        keygen(path, "ed25519")
        with open(config, "w") as f:
            f.write("HostKey %s\n" % path)
            f.writelines(lines)
        self.proc = start([SSHD, "-D", "-e", "-f", config],
                          stdout=subprocess.DEVNULL, stderr=open(self.log, "a"))
        self._wait_banner()
        return self.proc

    def close(self):
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Sshtun:
    """A running `sshtun` process, its stderr kept in a file.  As a context
    manager it is stopped on the way out (and its stderr checked for a
    sanitizer report, unless the block is already failing)."""

    port = None     # the forward's port, when started by forward()

    def __init__(self, sshd, *args, wait_ports=(), env=None, preexec_fn=None,
                 **kw):
        self.errpath = tempfile.mktemp(prefix="sshtun-err-", dir=sshd.dir)
        self.proc = start(sshd.sshtun_args(*args, **kw), env=env or sshd.env(),
                          stdout=subprocess.DEVNULL,
                          stderr=open(self.errpath, "w"), preexec_fn=preexec_fn)
        for spec in wait_ports:
            host, port = spec if isinstance(spec, tuple) else ("127.0.0.1", spec)
            try:
                wait_port(port, host, proc=self.proc)
            except RuntimeError:
                sys.stderr.write("sshtun stderr:\n%s\n" % self.stderr())
                raise

    def stderr(self):
        with open(self.errpath, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        rc = stop(self.proc, sig, timeout)
        assert_no_sanitizer_report(self.stderr())
        return rc

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.stop()
        else:
            stop(self.proc)
        return False


def forward(sshd, flag, target=None, *args, port=None, bind=None, **kw):
    """Start sshtun with one forward and wait until its port listens.

    flag is "-L", "-R" or "-D"; target the port (on 127.0.0.1) or (host,
    port) that -L and -R forward to, None for -D; port the listening port
    (a free one by default) and bind its address.  Further args go before
    the forward, keywords to Sshtun.  Returns the Sshtun, its port in
    .port."""
    port = port or free_port()
    listen = []
    if bind:
        listen.append("[%s]" % bind if ":" in bind else bind)
    listen.append(str(port))
    if target is not None:
        host, tport = target if isinstance(target, tuple) else ("127.0.0.1", target)
        listen += ["[%s]" % host if ":" in host else host, str(tport)]
    wait_host = bind if bind and bind not in ("*", "0.0.0.0", "") else "127.0.0.1"
    if wait_host == "::":
        wait_host = "::1"
    t = Sshtun(sshd, *args, flag, ":".join(listen),
               wait_ports=[(wait_host, port)], **kw)
    t.port = port
    return t


def run_sshtun(sshd, *args, timeout=30, env=None, **kw):
    """Run sshtun to completion; returns (exit code, stderr)."""
    p = subprocess.run(sshd.sshtun_args(*args, **kw), env=env or sshd.env(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    assert_no_sanitizer_report(err)
    return p.returncode, err


# ------------------------------------------------------------------ targets

class TcpServer:
    """A threaded TCP server on loopback calling handler(conn) per client."""

    def __init__(self, handler, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.errors = []
        self.results = []
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(120)
            r = self.handler(conn)
            if r is not None:
                with self.lock:
                    self.results.append(r)
        except Exception:
            with self.lock:
                self.errors.append(traceback.format_exc())
        finally:
            conn.close()

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def echo_handler(conn):
    while True:
        d = conn.recv(65536)
        if not d:
            conn.shutdown(socket.SHUT_WR)
            return
        conn.sendall(d)


def recv_all(sock, limit=None):
    """Read until EOF; returns the bytes."""
    chunks = []
    n = 0
    while True:
        d = sock.recv(1 << 20)
        if not d:
            return b"".join(chunks)
        chunks.append(d)
        n += len(d)
        if limit is not None and n > limit:
            raise AssertionError("more data than expected")


def pattern(n, seed=0):
    """n deterministic pseudo-random bytes."""
    out = bytearray()
    block = hashlib.sha256(b"sshtun-%d" % seed).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def digest_stream(sock):
    """Read to EOF; returns (bytes read, sha256 hex) without keeping them."""
    h = hashlib.sha256()
    n = 0
    while True:
        d = sock.recv(1 << 20)
        if not d:
            return n, h.hexdigest()
        h.update(d)
        n += len(d)


def swap_handler(down):
    """A TcpServer handler that sends down (then EOF) while reading the
    client's stream; its result is (bytes read, sha256 hex)."""
    def handler(conn):
        sender = threading.Thread(target=lambda: (conn.sendall(down),
                                                  conn.shutdown(socket.SHUT_WR)))
        sender.start()
        got = digest_stream(conn)
        sender.join()
        return got
    return handler


def check_both_ways(srv, port, up, down, timeout=180):
    """Through port to a swap_handler server: send up while receiving,
    and check both directions byte for byte (by sha256)."""
    s = connect(port, timeout=timeout)
    result = {}
    r = threading.Thread(target=lambda: result.setdefault("down", digest_stream(s)))
    r.start()
    s.sendall(up)
    s.shutdown(socket.SHUT_WR)
    r.join(timeout)
    s.close()
    want_up = (len(up), hashlib.sha256(up).hexdigest())
    deadline = time.monotonic() + 30
    while want_up not in srv.results and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not srv.errors, srv.errors
    assert result.get("down") == (len(down), hashlib.sha256(down).hexdigest()), \
        "download differs: %r" % (result.get("down"),)
    # (A readiness probe's empty connection may be there too.)
    assert [r for r in srv.results if r[0]] == [want_up], \
        "upload differs: %r" % (srv.results,)


def echo_roundtrip(sock, data):
    """Send data (then EOF) while reading the echo; returns what came back."""
    w = threading.Thread(target=lambda: (sock.sendall(data), sock.shutdown(socket.SHUT_WR)))
    w.start()
    got = recv_all(sock)
    w.join()
    return got


def concurrent_echoes(open_conn, count, size, seed=0):
    """count connections at once, each echoing size pattern bytes through
    open_conn(i) -> socket; returns the list of problems (empty if none)."""
    errors = []

    def one(i):
        try:
            data = pattern(size, seed=seed + i)
            s = open_conn(i)
            got = echo_roundtrip(s, data)
            s.close()
            if got != data:
                errors.append("conn %d: %d of %d bytes back" % (i, len(got), size))
        except Exception as e:  # noqa: BLE001
            errors.append("conn %d: %r" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(180)
    return errors


def recv_exact(sock, n):
    """Exactly n bytes (an AssertionError at EOF before that)."""
    out = b""
    while len(out) < n:
        d = sock.recv(n - len(out))
        if not d:
            raise AssertionError("EOF after %d of %d bytes" % (len(out), n))
        out += d
    return out


def echo_roundtrip_keep(sock, data):
    """Send data and read as much back, keeping the connection open."""
    sock.sendall(data)
    return recv_exact(sock, len(data))


def connect(port, host="127.0.0.1", timeout=30.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def discover_tests(module=None):
    """The test_* functions a module (by default the one run as a script)
    defines, in the order they are written."""
    module = module or sys.modules["__main__"]
    found = []
    for name, f in vars(module).items():
        if name.startswith("test_") and inspect.isfunction(f):
            code = inspect.unwrap(f)    # a decorated test: where it is written
            if code.__module__ == module.__name__:
                found.append((code.__code__.co_firstlineno, name, f))
    return [(name, f) for _, name, f in sorted(found)]


def run_tests(tests=None):
    """Run every test_* function of the calling script; print results;
    exit 0/1.  Names on the command line run only those tests.  (A list
    of tests, as older scripts pass, must name only defined tests; every
    defined test runs, listed or not.)

    Each test gets a bounded time through the socket timeouts inside it and
    the per-test alarm below; the sshd log is dumped on failure."""
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("test timed out")))
    found = discover_tests()
    names = [name for name, _ in found]
    unknown = [t.__name__ for t in (tests or []) if t.__name__ not in names]
    unknown += [a for a in sys.argv[1:] if a not in names]
    if unknown:
        print("FAIL: no such test: %s" % ", ".join(unknown), flush=True)
        sys.exit(1)
    if sys.argv[1:]:
        found = [(name, t) for name, t in found if name in sys.argv[1:]]
    if not found:
        print("FAIL: no test_* function found", flush=True)
        sys.exit(1)
    passed = failed = 0
    for name, t in found:
        signal.alarm(240)
        try:
            t()
            passed += 1
            print("PASS: %s" % name, flush=True)
        except Exception:
            failed += 1
            print("FAIL: %s\n%s" % (name, traceback.format_exc()), flush=True)
            for sshd in list(Sshd_registry):
                sshd.dump_log()
        finally:
            signal.alarm(0)
    stop_all()
    for sshd in list(Sshd_registry):
        sshd.close()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


Sshd_registry = []


def shared_sshd(extra_config="", host_key_types=("ed25519", "ecdsa")):
    s = Sshd(extra_config, host_key_types)
    Sshd_registry.append(s)
    return s


class BlackHole:
    """A loopback port that never answers: a listening socket with backlog
    0 whose accept queue is kept full, so the kernel drops every further
    SYN and a connect to it hangs, as sshd's connect does for a host that
    does not answer."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(s)
        time.sleep(0.2)

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
