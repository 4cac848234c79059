"""The C API from programs: the threaded API test and the HTTP example.

tests/api/api_threads drives two channels from four threads at once and
checks timeouts, half-close, refused opens and session close;
tests/examples/http_get fetches a page through a channel from code.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture as F  # noqa: E402

sshd = F.shared_sshd()
BUILD = F.TOP_BUILDDIR


def test_api_threads():
    with F.TcpServer(F.echo_handler) as srv:
        p = subprocess.run([os.path.join(BUILD, "tests/api/api_threads"),
                            str(sshd.port), sshd.user, sshd.client_key,
                            sshd.known_hosts, str(srv.port), str(F.free_port()),
                            str(8 << 20)],
                           env=sshd.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode()
        F.assert_no_sanitizer_report(p.stderr.decode(), "api_threads")
        assert p.returncode == 0, (out, p.stderr.decode())
        for line in ("two channels, four threads", "half-close",
                     "forward started, used and closed from code",
                     "refused open: channel open to 127.0.0.1:",
                     "released a blocked recv",
                     "forwards closed during and after the session's close"):
            assert line in out, out


def test_api_pool():
    """Two threads open channels while another open hangs on a
    destination that never answers: the pool carries them."""
    with F.TcpServer(F.echo_handler) as srv, F.BlackHole() as hole:
        p = subprocess.run([os.path.join(BUILD, "tests/api/api_pool"),
                            str(sshd.port), sshd.user, sshd.client_key,
                            sshd.known_hosts, str(srv.port), str(hole.port)],
                           env=sshd.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode()
        F.assert_no_sanitizer_report(p.stderr.decode(), "api_pool")
        assert p.returncode == 0, (out, p.stderr.decode())
        for line in ("two threads opened", "connections",
                     "closed with an open pending"):
            assert line in out, out


def test_http_get_example():
    import tempfile
    web = tempfile.mkdtemp(dir=sshd.dir)
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("hello through the tunnel\n")
    wport = F.free_port()
    httpd = F.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                     str(wport), "--directory", web],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        F.wait_port(wport, proc=httpd)
        p = subprocess.run([os.path.join(BUILD, "tests/examples/http_get"),
                            "127.0.0.1", str(sshd.port), sshd.user, sshd.client_key,
                            sshd.known_hosts, "127.0.0.1", str(wport), "/index.html"],
                           env=sshd.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode(errors="replace")
        F.assert_no_sanitizer_report(p.stderr.decode(), "http_get")
        assert p.returncode == 0, (out, p.stderr.decode())
        assert out.startswith("HTTP/1.0 200") and "hello through the tunnel" in out, out
    finally:
        F.stop(httpd)


if __name__ == "__main__":
    F.run_tests()
