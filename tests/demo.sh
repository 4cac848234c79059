#!/bin/sh
# demo.sh - sshtun end to end, on this machine only.
#
# Starts a throwaway OpenSSH server and a small web server on loopback,
# opens a tunnel to the web server with `sshtun -L`, fetches the page
# through the tunnel with curl, and tears everything down again.  Nothing
# outside a temporary directory is touched; every process started here is
# stopped by its PID.
#
# Environment: SSHTUN (the sshtun program), SSHD (the sshd program),
# PYTHON3 (default python3).  `make demo` sets the first two.
#
# Exit status: 0 when the page came through the tunnel, 1 otherwise.

set -u

PYTHON3=${PYTHON3:-python3}
SSHTUN=${SSHTUN:-./sshtun}
SSHD=${SSHD:-}

tmp=
sshd_pid=
web_pid=
tun_pid=
waiter=

say() {
    printf '%s\n' "$*"
}

step() {
    printf '\n==> %s\n' "$*"
}

fail() {
    printf 'demo: %s\n' "$*" >&2
    exit 1
}

# Stop one process by PID: SIGTERM, then SIGKILL if it lingers.
stop_pid() {
    pid=$1
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    stop_pid "$waiter"
    stop_pid "$tun_pid"
    stop_pid "$web_pid"
    stop_pid "$sshd_pid"
    [ -n "$tmp" ] && rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Show a log file when something went wrong.
show_log() {
    if [ -s "$2" ]; then
        printf -- '---- %s (%s) ----\n' "$1" "$2" >&2
        tail -n 40 "$2" >&2
        printf -- '---- end of %s ----\n' "$1" >&2
    fi
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    "$PYTHON3" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# Wait until 127.0.0.1:$1 accepts connections (and, when $3 is "ssh",
# answers with an SSH banner), giving up if process $2 exits first.
wait_port() {
    "$PYTHON3" - "$1" "${3:-}" <<'EOF' &
import socket, sys, time
port, want = int(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), 1) as s:
            if want != "ssh":
                sys.exit(0)
            s.settimeout(2)
            if s.recv(64).startswith(b"SSH-2.0"):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
EOF
    waiter=$!
    while kill -0 "$waiter" 2>/dev/null; do
        if ! kill -0 "$2" 2>/dev/null; then
            kill "$waiter" 2>/dev/null
            wait "$waiter" 2>/dev/null
            waiter=
            return 1
        fi
        sleep 0.05
    done
    wait "$waiter"
    rc=$?
    waiter=
    return $rc
}

# ------------------------------------------------------------- the tools

if [ -z "$SSHD" ]; then
    SSHD=$(PATH=$PATH:/usr/sbin:/usr/local/sbin:/sbin command -v sshd) \
        || fail "sshd not found (Debian: apt-get install openssh-server)"
fi
case $SSHD in
    /*) ;;
    *) SSHD=$(command -v "$SSHD") || fail "sshd '$SSHD' not found" ;;
esac
[ -x "$SSHTUN" ] || fail "sshtun not found at '$SSHTUN' (run make first)"
for tool in ssh-keygen curl "$PYTHON3"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed for the demo"
done
user=$(id -un) || fail "cannot tell who you are"

say "sshtun demo: a tunnel through a throwaway sshd to a local web server."
say "sshtun: $SSHTUN"
say "sshd:   $SSHD"

# ------------------------------------------------------------- the server

step "1. Temporary directory, host key and client key"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sshtun-demo.XXXXXX") || fail "mktemp failed"
ssh-keygen -q -t ed25519 -N '' -C sshtun-demo-host -f "$tmp/host_ed25519" \
    || fail "ssh-keygen (host key) failed"
ssh-keygen -q -t ed25519 -N '' -C sshtun-demo-client -f "$tmp/id_ed25519" \
    || fail "ssh-keygen (client key) failed"
cp "$tmp/id_ed25519.pub" "$tmp/authorized_keys"
say "directory:   $tmp"
say "host key:    $tmp/host_ed25519"
say "client key:  $tmp/id_ed25519 (authorized in $tmp/authorized_keys)"

step "2. A minimal sshd on 127.0.0.1"
ssh_port=$(free_port) || fail "no free port"
cat >"$tmp/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $tmp/host_ed25519
AuthorizedKeysFile $tmp/authorized_keys
PidFile $tmp/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
# sshd wants its privilege separation directory when started as root.
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
"$SSHD" -t -f "$tmp/sshd_config" || fail "sshd -t rejected $tmp/sshd_config"
say "config checked with: $SSHD -t -f $tmp/sshd_config"
"$SSHD" -D -e -f "$tmp/sshd_config" </dev/null >/dev/null 2>"$tmp/sshd.log" &
sshd_pid=$!
if ! wait_port "$ssh_port" "$sshd_pid" ssh; then
    show_log sshd "$tmp/sshd.log"
    fail "sshd did not come up on port $ssh_port"
fi
say "sshd (pid $sshd_pid) answers on 127.0.0.1:$ssh_port"

step "3. The server's host key in a known_hosts file"
read -r kind blob _ <"$tmp/host_ed25519.pub"
printf '[127.0.0.1]:%s %s %s\n' "$ssh_port" "$kind" "$blob" \
    >"$tmp/known_hosts"
say "$tmp/known_hosts:"
sed 's/^/    /' "$tmp/known_hosts"

# ------------------------------------------------------------- the target

step "4. A web server on 127.0.0.1 (the tunnel's target)"
mkdir "$tmp/www"
printf '<!DOCTYPE html>\n<html><body><p>hello from behind the tunnel</p></body></html>\n' \
    >"$tmp/www/index.html"
web_port=$(free_port) || fail "no free port"
"$PYTHON3" -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$web_port" \
    </dev/null >"$tmp/web.log" 2>&1 &
web_pid=$!
if ! wait_port "$web_port" "$web_pid"; then
    show_log "web server" "$tmp/web.log"
    fail "the web server did not come up on port $web_port"
fi
say "web server (pid $web_pid) on 127.0.0.1:$web_port serves $tmp/www"

# ------------------------------------------------------------- the tunnel

step "5. sshtun -L: local port to the web server, through sshd"
local_port=$(free_port) || fail "no free port"
set -- -F /dev/null -N -p "$ssh_port" -i "$tmp/id_ed25519" \
    -o IdentitiesOnly=yes -o UserKnownHostsFile="$tmp/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes \
    -L "$local_port:127.0.0.1:$web_port" "$user@127.0.0.1"
say "$SSHTUN $*"
"$SSHTUN" "$@" </dev/null >/dev/null 2>"$tmp/sshtun.log" &
tun_pid=$!
if ! wait_port "$local_port" "$tun_pid"; then
    show_log sshtun "$tmp/sshtun.log"
    show_log sshd "$tmp/sshd.log"
    fail "sshtun did not start listening on 127.0.0.1:$local_port"
fi
say "sshtun (pid $tun_pid) listens on 127.0.0.1:$local_port"

step "6. The page, fetched through the tunnel"
say "curl -sS http://127.0.0.1:$local_port/"
page=$(curl -sS --max-time 20 "http://127.0.0.1:$local_port/") || page=
if ! printf '%s' "$page" | grep -q 'hello from behind the tunnel'; then
    printf '%s\n' "$page"
    show_log sshtun "$tmp/sshtun.log"
    show_log sshd "$tmp/sshd.log"
    fail "the page did not come through the tunnel"
fi
printf '%s\n' "$page" | sed 's/^/    /'

step "7. Clean shutdown"
kill -TERM "$tun_pid"
wait "$tun_pid"
tun_status=$?
tun_pid=
say "sshtun exited with status $tun_status after SIGTERM"
stop_pid "$web_pid"
web_pid=
stop_pid "$sshd_pid"
sshd_pid=
say "web server and sshd stopped; $tmp is removed on exit"
if [ "$tun_status" -ne 0 ]; then
    show_log sshtun "$tmp/sshtun.log"
    fail "sshtun did not shut down cleanly"
fi

printf '\nDemo OK: the page came through the tunnel.\n'
exit 0
