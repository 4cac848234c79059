"""Fault injection: walk N over a scripted session (build configured with
--enable-fault-injection, best with --enable-sanitizers).

Each run starts sshtun against a real sshd with a -L, a -D and a -R
forward, with SSHTUN_FAIL_AT=N (and SSHTUN_FAIL_KIND) making the Nth
counted allocation, thread start, socket, accept or poll fail once.  The
script then moves bytes through -L, makes a SOCKS request through -D,
connects through the server's -R port, and stops sshtun with SIGTERM.
Every run must end in a clean error or a dropped connection: the process
exits 0 or 255 within a bound (255 with a message), bytes that arrive
are the bytes sent, every client step ends within a bound (data or a
close, never a hang), and the sanitizers report nothing (no crash, no
leak).

  fault_walk.py --sample 8          a fixed sample of N per kind (CI)
  fault_walk.py --all               every N of every kind (hours)
  fault_walk.py --kind alloc --from 100 --to 200
"""
import argparse
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import fixture as F  # noqa: E402

KINDS = ("alloc", "crypto", "thread", "socket", "accept", "poll")
STEP_TIMEOUT = 15.0         # a client step that takes longer is a hang
EXIT_TIMEOUT = 20.0         # so is an sshtun that does not exit on SIGTERM
PAYLOAD = F.pattern(200000, seed=7)


def echo_check(sock, data):
    """Send data, read the echo until EOF or all back; what arrives must
    be a prefix of what was sent.  Returns bytes echoed."""
    sock.settimeout(STEP_TIMEOUT)
    got = bytearray()
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass                                    # dropped: fine
    while len(got) < len(data):
        try:
            b = sock.recv(65536)
        except socket.timeout:
            raise AssertionError("hang: no data and no close within %.0fs"
                                 % STEP_TIMEOUT)
        except OSError:
            break                               # reset: fine
        if not b:
            break
        got += b
    if bytes(got) != data[:len(got)]:
        raise AssertionError("corrupted: %d bytes differ from those sent"
                             % len(got))
    return len(got)


def recv_exact(sock, n):
    """Up to n bytes: fewer only if the connection ends first."""
    got = b""
    while len(got) < n:
        b = sock.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def connect(port):
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT)
    except socket.timeout:
        raise AssertionError("hang: connect to %d" % port)
    except OSError:
        return None


def step_local(lp):
    s = connect(lp)
    if s:
        with s:
            return echo_check(s, PAYLOAD)
    return 0


def step_socks(dp, target):
    s = connect(dp)
    if not s:
        return 0
    with s:
        s.settimeout(STEP_TIMEOUT)
        try:
            s.sendall(b"\x05\x01\x00")
            if recv_exact(s, 2) != b"\x05\x00":
                return 0
            s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1")
                      + struct.pack(">H", target))
            rep = recv_exact(s, 10)
        except socket.timeout:
            raise AssertionError("hang: SOCKS handshake")
        except OSError:
            return 0
        if len(rep) < 10 or rep[1] != 0:
            return 0
        return echo_check(s, PAYLOAD[:20000])


def step_remote(rp):
    s = connect(rp)
    if s:
        with s:
            return echo_check(s, PAYLOAD[:20000])
    return 0


def run_once(sshd, echo, kind, n, report=None):
    """One scripted session with the nth call of kind failing (0: none).
    Returns a problem description or None."""
    lp, dp, rp = F.free_port(), F.free_port(), F.free_port()
    env = sshd.env()
    env["SSHTUN_FAIL_AT"] = str(n)
    if kind:
        env["SSHTUN_FAIL_KIND"] = kind
    if report:
        env["SSHTUN_FAULT_REPORT"] = report
    env["SSHTUN_FAULT_TRACE"] = "1"
    env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=86:abort_on_error=0"
    t = F.Sshtun(sshd, "-L", "%d:127.0.0.1:%d" % (lp, echo.port),
                 "-D", str(dp), "-R", "%d:127.0.0.1:%d" % (rp, echo.port),
                 env=env)
    try:
        try:
            F.wait_port(lp, proc=t.proc, timeout=STEP_TIMEOUT)
        except RuntimeError:
            pass                    # exited or -L refused: later steps see it
        step_local(lp)
        step_socks(dp, echo.port)
        # The server's listener may come a moment after ours.
        deadline = time.monotonic() + 3
        while t.proc.poll() is None and time.monotonic() < deadline:
            if connect_ok(rp):
                break
            time.sleep(0.05)
        step_remote(rp)
    except AssertionError as e:
        F.stop(t.proc, signal.SIGKILL)
        return "%s\n%s\n%s" % (e, injected_site(t.stderr()), t.stderr()[-1500:])
    if t.proc.poll() is None:
        t.proc.send_signal(signal.SIGTERM)
        try:
            t.proc.wait(EXIT_TIMEOUT)
        except Exception:
            F.stop(t.proc, signal.SIGKILL)
            return "hang: no exit within %.0fs of SIGTERM\n%s\n%s" % (
                EXIT_TIMEOUT, injected_site(t.stderr()), t.stderr()[-1500:])
    rc, err = t.proc.returncode, t.stderr()
    for m in F.SANITIZER_MARKERS:
        if m in err:
            known = third_party(err)
            if known:
                return KNOWN + known
            return "sanitizer report (exit %d):\n%s\n%s" % (
                rc, injected_site(err), err[-6000:])
    if rc not in (0, 255):
        return "exit status %d:\n%s" % (rc, err[-3000:])
    if rc == 255 and not err.strip():
        return "exit 255 without a message"
    return None


KNOWN = "known: "
# Frames that only carry an allocation through (ours, ASan's, OpenSSL's
# wrappers), skipped to find who asked for it.
PLUMBING = re.compile(r"libasan|libsanitizer|/fault\.c|in fault_|in (CRYPTO_"
                      r"(malloc|zalloc|realloc|strdup|strndup|memdup|clear_free"
                      r"|free)|__interceptor_)\b")


def owner(frames):
    """Who made the first real call in a stack: ours, libssh2, openssl."""
    for f in frames:
        if PLUMBING.search(f):
            continue
        if "libssh2.so" in f:
            return "libssh2"
        if "libcrypto.so" in f:
            return "openssl"
        return "ours"
    return "ours"


def stacks(text):
    """Each stack in a report: a list of its frame lines."""
    out, cur = [], None
    for line in text.split("\n"):
        if re.match(r"\s+#\d+ ", line):
            if cur is None:
                cur = []
                out.append(cur)
            cur.append(line)
        else:
            cur = None
    return out


def third_party(err):
    """A report that libssh2 1.10 or OpenSSL alone is to blame for: the
    failure was injected inside them, and what leaked they allocated, or
    where it crashed is inside them.  Returns why, or None."""
    at = err.find("fault injected here:")
    if at < 0:
        return None
    site = stacks(err[at:])
    if not site or owner(site[0]) == "ours":
        return None
    report = err[err.find("==", at):]
    if "ERROR: LeakSanitizer" in report:
        blocks = re.split(r"\n(?:Direct|Indirect) leak of", report)[1:]
        if blocks and all(owner(stacks(b)[0]) != "ours" for b in blocks):
            where = [w for w in ("libssh2_session_handshake",
                                 "libssh2_channel_", "libssh2_init")
                     if w in "".join(site[0])]
            return "%s leaks its own objects when an allocation fails inside it%s" % (
                owner(site[0]), " (%s)" % where[0] if where else "")
        return None
    if "ERROR: AddressSanitizer: SEGV" in report:
        crash = stacks(report)[0]
        if owner(crash[:2]) != "ours" and "HMAC_Init_ex" in crash[0]:
            return ("libssh2 1.10 uses HMAC_CTX_new() without checking it: "
                    "NULL dereference when OpenSSL is out of memory")
    return None


def injected_site(err):
    """The stack where the failure was injected (SSHTUN_FAULT_TRACE)."""
    at = err.find("fault injected here:")
    if at < 0:
        return "(no failure injected: the count was not reached)"
    return err[at:at + 2500].split("\n\n")[0]


def connect_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def counts(sshd, echo):
    """Calls of each kind in one session without failures."""
    path = tempfile.mktemp(prefix="fault-report-", dir=sshd.dir)
    problem = run_once(sshd, echo, None, 0, report=path)
    if problem:
        raise SystemExit("the session fails without injected faults: %s" % problem)
    with open(path) as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


def sample(total, k):
    """k values spread over 1..total, fixed for a given total."""
    if total <= k:
        return list(range(1, total + 1))
    step = total / k
    return sorted({1 + int(i * step + (i * 7919) % max(1, int(step)))
                   for i in range(k)} | {1, total})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--sample", type=int, default=8)
    ap.add_argument("--kind", choices=KINDS, action="append")
    ap.add_argument("--from", dest="lo", type=int)
    ap.add_argument("--to", dest="hi", type=int)
    a = ap.parse_args()

    sshd = F.shared_sshd()
    echo = F.TcpServer(F.echo_handler)
    found, known, runs, started = [], {}, 0, time.monotonic()
    try:
        total = counts(sshd, echo)
        print("calls in one session: %s" % ", ".join(
            "%s %d" % (k, total[k]) for k in KINDS), flush=True)
        for kind in a.kind or KINDS:
            # Counts vary a little from run to run (threads, timing).
            top = total[kind] + total[kind] // 20 + 2
            if a.lo or a.hi:
                ns = list(range(a.lo or 1, (a.hi or top) + 1))
            elif a.all:
                ns = list(range(1, top + 1))
            else:
                ns = sample(top, a.sample)
            for n in ns:
                problem = run_once(sshd, echo, kind, n)
                runs += 1
                if problem and problem.startswith(KNOWN):
                    known[problem] = known.get(problem, 0) + 1
                    print("known %s #%d: %s" % (kind, n, problem[len(KNOWN):]),
                          flush=True)
                elif problem:
                    found.append((kind, n, problem))
                    print("FAIL %s #%d: %s" % (kind, n, problem), flush=True)
                else:
                    print("ok   %s #%d" % (kind, n), flush=True)
    finally:
        echo.close()
        F.stop_all()
        sshd.close()
    for why, count in sorted(known.items()):
        print("third-party, %d runs: %s" % (count, why[len(KNOWN):]))
    print("%d runs in %.0f s, %d problems, %d known third-party" % (
        runs, time.monotonic() - started, len(found), sum(known.values())),
        flush=True)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
