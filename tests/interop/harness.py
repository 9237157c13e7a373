"""Interop test harness: tempo in a private network namespace, the Linux kernel as the peer.

Every test makes its own namespace (named tempo-<test>-<pid>), starts a tempo app inside it
on a net_tap, af_packet or af_xdp port, gives the kernel's side an address from 198.18.0.0/15
(and 2001:db8::/64 for IPv6), and removes the namespace when it ends, also when it fails
(DESIGN.md "Test network"). Nothing is routed out.

Privileged: outside CI a non-root run skips with exit code 77 (meson's "skipped"); under CI a
skip counts as a failure (tests/run.sh).
"""

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import yaml

SRC = os.environ.get("TEMPO_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("TEMPO_BUILD", os.path.join(SRC, "build-release"))

# SIGTERM (meson test's timeout) and SIGHUP unwind like an exception: every `with` block
# removes the namespaces and processes it made, as it does when a test fails.
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, lambda n, _: sys.exit(128 + n))

KERNEL_V4 = "198.18.0.1"
TEMPO_V4 = "198.18.0.2"
KERNEL_V6 = "2001:db8::1"
TEMPO_V6 = "2001:db8::2"


def require_root():
    if os.geteuid() != 0:
        print("SKIP: interop tests need root (network namespaces, DPDK)", file=sys.stderr)
        sys.exit(77)


def app_path(name):
    return os.path.join(BUILD, "apps", name, name)


def run(*args, check=True, ns=None, timeout=60, **kw):
    cmd = list(args)
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout, **kw)


class Namespace:
    """A network namespace that exists for the life of a `with` block, then is removed along
    with every process still running in it."""

    def __init__(self, tag):
        self.name = f"tempo-{tag}-{os.getpid()}"[:40]

    def __enter__(self):
        run("ip", "netns", "add", self.name)
        run("ip", "-n", self.name, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    def destroy(self):
        out = run("ip", "netns", "pids", self.name, check=False).stdout.split()
        for pid in out:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        run("ip", "netns", "del", self.name, check=False)

    def sh(self, *args, check=True, timeout=60):
        return run(*args, ns=self.name, check=check, timeout=timeout)


def write_config(template, ns, changes):
    """Loads a drivers-config template, applies `changes` (a function on the dict), gives the
    EAL a unique file prefix, and writes it to a temp file whose path is returned."""
    with open(os.path.join(SRC, "drivers-config", template)) as f:
        cfg = yaml.safe_load(f)
    cfg["eal"]["file_prefix"] = f"{ns.name}"
    changes(cfg)
    fd, path = tempfile.mkstemp(prefix=f"{ns.name}-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(cfg, f)
    return path


def output_file():
    """A temporary file for a child's stdout that the parent may read while the child writes.
    The child's descriptor shares this file's offset, and reading seeks to the start: without
    O_APPEND a line the child writes meanwhile lands at that offset, over what it printed before
    (a SIGUSR1 test once lost its first "counters" header so). Python's mode "a" does not set
    O_APPEND on a temporary file's descriptor; fcntl does."""
    f = tempfile.TemporaryFile(mode="w+")
    fcntl.fcntl(f.fileno(), fcntl.F_SETFL, fcntl.fcntl(f.fileno(), fcntl.F_GETFL) | os.O_APPEND)
    return f


class App:
    """A tempo app running in a namespace; stop() sends SIGINT and returns its output."""

    def __init__(self, ns, name, config_path, ready_timeout=30):
        self.ns = ns
        self.name = name
        self.log = output_file()
        exe = name if os.path.isabs(name) else app_path(name)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, exe, "--config", config_path],
            stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + ready_timeout
        while time.time() < deadline:
            if "ready" in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"{name} exited {self.proc.returncode} before ready:\n{self.output()}")
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(f"{name} not ready in {ready_timeout}s:\n{self.output()}")

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def mac(self):
        m = re.search(r"mac ([0-9a-f:]{17})", self.output())
        return m.group(1) if m else None

    def wait(self, timeout=120):
        """For an app that ends by itself (tempo-loadgen): its exit code and output."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} still running after {timeout}s:\n{self.output()}")
        return self.proc.returncode, self.output()

    def close(self):
        """Stops it if it still runs (a test that failed midway) and frees its log."""
        with contextlib.suppress(AssertionError):
            self.stop()
        self.log.close()

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} ignored SIGINT for {timeout}s:\n{self.output()}")
        return self.proc.returncode, self.output()


@contextlib.contextmanager
def kernel_server(ns, addr, port, mode):
    """tests/interop/backend.py (a kernel TCP server: `echo` or `greet`) listening on
    addr:port in `ns` for the life of a `with` block; yields its process, whose stdout lists
    the peers it accepted."""
    backend = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend.py")
    proc = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", backend, addr,
                             str(port), mode], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def counters(output):
    """The `name: value` counter lines an app prints when it stops."""
    found = {}
    for m in re.finditer(r"^\s+([a-z0-9_.]+): (\d+)$", output, re.M):
        found[m.group(1)] = int(m.group(2))
    return found


def wait_for(predicate, timeout=10, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@contextlib.contextmanager
def tap_setup(tag, app="tempo-echo", changes=lambda cfg: None, before_app=lambda ns: None):
    """A namespace with tempo on net_tap (iface `tp<pid>`) and the kernel side addressed.
    `before_app(ns)` runs in the new namespace before tempo starts (and so before the tap
    device and its addresses exist: a kernel server started there binds the wildcard)."""
    with Namespace(tag) as ns:
        iface = f"tp{os.getpid() % 100000}"

        def apply(cfg):
            cfg["ports"][0]["device"] = f"net_tap0,iface={iface}"
            changes(cfg)

        path = write_config("net_tap.yaml", ns, apply)
        proc = None
        try:
            before_app(ns)
            proc = App(ns, app, path)
            assert wait_for(lambda: ns.sh("ip", "link", "show", iface, check=False).returncode == 0)
            ns.sh("ip", "addr", "add", f"{KERNEL_V4}/24", "dev", iface)
            ns.sh("ip", "-6", "addr", "add", f"{KERNEL_V6}/64", "dev", iface, "nodad")
            # The kernel queues at most txqueuelen packets toward tempo (1000 by default) and
            # drops the rest; bursts of hundreds of connections need more room than that.
            ns.sh("ip", "link", "set", iface, "txqueuelen", "10000")
            ns.sh("ip", "link", "set", iface, "up")
            yield ns, proc, iface
        finally:
            if proc is not None:
                proc.close()
            os.unlink(path)


@contextlib.contextmanager
def af_packet_setup(tag, app="tempo-echo", changes=lambda cfg: None, before_app=lambda ns: None,
                    config="af_packet.yaml"):
    """A namespace with a veth pair: the kernel owns veth-k, tempo drives veth-t by AF_PACKET
    (or by AF_XDP with config="af_xdp.yaml": af_xdp_setup). `before_app(ns)` runs once the
    kernel's side is addressed and up, before tempo starts."""
    with Namespace(tag) as ns:
        ns.sh("ip", "link", "add", "veth-k", "type", "veth", "peer", "name", "veth-t")
        ns.sh("sysctl", "-qw", "net.ipv6.conf.veth-t.disable_ipv6=1")
        # veth hands AF_PACKET the kernel's segments with the TCP checksum left to an offload
        # that never runs (CHECKSUM_PARTIAL); tempo verifies checksums, so the kernel's side
        # must fill them in.
        ns.sh("ethtool", "-K", "veth-k", "tx", "off")
        ns.sh("ip", "addr", "add", f"{KERNEL_V4}/24", "dev", "veth-k")
        ns.sh("ip", "-6", "addr", "add", f"{KERNEL_V6}/64", "dev", "veth-k", "nodad")
        ns.sh("ip", "link", "set", "veth-k", "up")
        ns.sh("ip", "link", "set", "veth-t", "up")
        before_app(ns)
        path = write_config(config, ns, changes)
        proc = None
        try:
            proc = App(ns, app, path)
            yield ns, proc, "veth-k"
        finally:
            if proc is not None:
                proc.close()
            os.unlink(path)


@contextlib.contextmanager
def hugepages(count):
    """`count` 2 MB hugepages reserved and a hugetlbfs mounted for the life of a `with` block;
    yields the mount point (eal.extra_args: --huge-dir). The reservation and the mount are undone
    after, also when the block fails. DPDK's secondary processes (dpdk-dumpcap) attach only to a
    primary on hugepages."""
    knob = "/proc/sys/vm/nr_hugepages"
    with open(knob) as f:
        before = f.read().strip()
    mount = tempfile.mkdtemp(prefix="tempo-huge-")
    mounted = False
    try:
        with open(knob, "w") as f:
            f.write(str(int(before) + count))
        run("mount", "-t", "hugetlbfs", "nodev", mount)
        mounted = True
        yield mount
    finally:
        if mounted:
            run("umount", mount, check=False)
        os.rmdir(mount)
        with open(knob, "w") as f:
            f.write(before)


def af_xdp_setup(tag, app="tempo-echo", changes=lambda cfg: None, before_app=lambda ns: None):
    """af_packet_setup's veth pair with tempo on net_af_xdp (drivers-config/af_xdp.yaml)."""
    return af_packet_setup(tag, app, changes, before_app, config="af_xdp.yaml")


def telemetry(ns, *commands):
    """Each command's reply from the app of namespace `ns` (file prefix ns.name, as
    write_config sets it), through DPDK's dpdk-telemetry.py: one JSON line a command."""
    r = subprocess.run(["dpdk-telemetry.py", "-f", ns.name],
                       input="".join(c + "\n" for c in commands), capture_output=True, text=True,
                       timeout=30, check=True)
    replies = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(replies) == len(commands), r.stdout + r.stderr
    return [next(iter(reply.values())) for reply in replies]


def open_connections(ns):
    """The connections the app of `ns` holds, in any state but TIME-WAIT (its census)."""
    conns, = telemetry(ns, "/tempo/connections")
    return sum(v for k, v in conns.items() if k.isupper() and k != "TIME_WAIT")


def http_clients(ns, addr, count, port=80, source_port=0, timeout=600):
    """tests/interop/http_client.py in `ns`: `count` short HTTP/1.1 requests to addr:port, one a
    connection (from one fixed source port when `source_port` is set). Returns its JSON summary
    ({} when it printed none) and everything it printed."""
    client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_client.py")
    args = ["/usr/bin/python3", client, addr, "--count", str(count), "--port", str(port)]
    if source_port:
        args += ["--source-port", str(source_port)]
    r = ns.sh(*args, check=False, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), r.stdout + r.stderr
