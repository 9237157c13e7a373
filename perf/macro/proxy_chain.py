"""The proxy workload's two set-ups (perf/macro/compare.py's `proxy`), each the proxy alone on
CPU 0 with its client and its backend on CPU 1:

  tempo   tempo-loadgen --memif 0--> tempo-proxy --memif 1--> tempo-httpd
          one namespace; tempo-proxy has ports[0] toward the clients, ports[1] toward the
          backend (it picks the port by subnet). The ends keep their t2t roles (the loadgen
          the client of link 0, the server the server of link 1), the proxy takes the other
          end of each: memif copies each frame once at each end of link 0, and once on link 1,
          where the proxy is the zero-copy client and tempo-httpd copies into its memory as a
          NIC's DMA would. The loadgen and the server share CPU 1, so both sleep after a
          run of empty polls (eal.idle_sleep_us) and leave the core to the other, as the
          kernel's blocked client and server do.
  haproxy kernel-peer client --veth a--> HAProxy (mode tcp) --veth b--> kernel-peer servers
          two namespaces: the ends (client and servers, CPU 1) and the proxy's (HAProxy, one
          thread pinned to CPU 0 by taskset and cpu-map), config perf/macro/haproxy.cfg.

Both listen on port 80 (1 KiB responses, the server closing first) and 81 (1 MiB responses);
tempo's is one tempo-proxy per workload, as its httpd serves one size."""

import contextlib
import json
import os
import subprocess
import time

import yaml

from netns_set import NamespaceSet

HERE = os.path.dirname(os.path.abspath(__file__))
HAPROXY_CFG = os.path.join(HERE, "haproxy.cfg")
PROXY_FRONT = "198.18.0.1"  # the proxy's address toward its clients (a /23)
CLIENT = "198.18.0.2"  # the client's, its sources in 198.18.1.0/26
PROXY_BACK = "198.18.4.1"  # the proxy's address toward the backend (a /24)
BACKEND = "198.18.4.2"
# CPU 1's two tempo apps sleep this long after 64 empty polls in a row.
IDLE_SLEEP_US, IDLE_POLLS = 20, 64


def haproxy_path():
    for d in ("/usr/sbin", "/usr/bin"):
        if os.path.exists(os.path.join(d, "haproxy")):
            return os.path.join(d, "haproxy")
    return None


class Chain:
    """tempo_chain's running set-up: the namespace, the three apps."""

    def __init__(self, ns, proxy, server, loadgen):
        self.ns, self.proxy, self.server, self.loadgen = ns, proxy, server, loadgen

    def run(self, timeout):
        """tempo-loadgen to its end: (exit code, output, JSON summary or {})."""
        rc, out = self.loadgen.wait(timeout=timeout)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        return rc, out, (json.loads(lines[-1]) if lines else {})


@contextlib.contextmanager
def tempo_chain(harness, tag, httpd, loadgen, inject=False):
    """tempo-loadgen and tempo-httpd (lcore 1), then tempo-proxy between them (lcore 0), in one
    namespace: yields a Chain whose run() waits for the loadgen. The caller then stops the
    proxy (its counters are the figure) and the server. `inject`: the loadgen is given a
    setting it refuses (compare.py --inject-failure), so run() reports its failure."""
    import test_loadgen  # tests/interop, beside harness
    with harness.Namespace(tag) as ns:

        def memif(template, i, addr, secondary=None):
            """The template's memif port (role, MTU, buffers, zero-copy, trusted link) as memif
            `i` on link i's control socket."""
            port = dict(template["ports"][0], name=f"memif{i}", ipv4=addr,
                        device=test_loadgen.memif_device(template, f"/run/{ns.name}-{i}.sock",
                                                         i))
            port.pop("ipv4_secondary", None)
            if secondary:
                port["ipv4_secondary"] = secondary
            return port

        def idle(cfg, who):
            cfg["eal"].update(lcores="1", idle_sleep_us=IDLE_SLEEP_US, idle_polls=IDLE_POLLS,
                              file_prefix=f"{ns.name}-{who}")

        def proxy(cfg):
            # The server of link 0 (as tempo-httpd is of the loadgen's in t2t), the client of
            # link 1 (as tempo-loadgen is of the server's), in memif's zero-copy mode there:
            # what a proxy on memif would choose, the bytes it relays arriving in its memory
            # with no copy of its own. DPDK 22.11's memif cannot make one process the
            # zero-copy client of two links: the second server's mmap of the first's memory
            # fails ("mmap failed: No such device").
            cfg["eal"].update(lcores="0", file_prefix=f"{ns.name}-p")
            cfg["ports"] = [memif(templates["memif.yaml"], 0, f"{PROXY_FRONT}/23"),
                            memif(templates["memif-client.yaml"], 1, f"{PROXY_BACK}/24")]
            cfg["ports"][1]["device"] += ",zero-copy=yes"
            cfg["app"] = {"proxy": {"listen": 80, "backends": [f"{BACKEND}:80"]}}

        def server(cfg):
            idle(cfg, "s")
            cfg["ports"] = [memif(cfg, 1, f"{BACKEND}/24")]
            cfg["app"] = {"httpd": dict(httpd, port=80)}

        def client(cfg):
            idle(cfg, "c")
            cfg["ports"] = [memif(cfg, 0, f"{CLIENT}/23", ["198.18.1.0/26"])]
            cfg["app"] = {"loadgen": dict(loadgen, target=f"{PROXY_FRONT}:80",
                                          sources=["198.18.1.0/26"])}
            if inject:
                cfg["app"]["loadgen"]["injected_failure"] = True

        templates = {}
        for name in ("memif.yaml", "memif-client.yaml"):
            with open(os.path.join(harness.SRC, "drivers-config", name)) as f:
                templates[name] = yaml.safe_load(f)
        # Each started after the server of its links.
        paths = [harness.write_config("memif.yaml", ns, server),
                 harness.write_config("memif.yaml", ns, proxy),
                 harness.write_config("memif-client.yaml", ns, client)]
        apps = []
        try:
            for name, path in zip(("tempo-httpd", "tempo-proxy", "tempo-loadgen"), paths):
                apps.append(harness.App(ns, name, path))
            yield Chain(ns, apps[1], apps[0], apps[2])
        finally:
            for app in reversed(apps):
                app.close()
            for p in paths:
                os.unlink(p)


class HaproxyChain(NamespaceSet):
    """The kernel's set-up for the life of a `with` block: namespaces, veths, the kernel-peer
    servers and HAProxy. renew() makes it again (after a failed round). `ends` is the client's
    namespace; `pid` HAProxy's."""

    def __init__(self, peer, tag, sh):
        super().__init__()
        self.peer, self.sh = peer, sh
        self.ends, self.prx = f"tempo-cmp-e{tag}", f"tempo-cmp-p{tag}"
        self.namespaces = (self.ends, self.prx)
        self.cli = self.ends  # where compare.py's kernel client runs
        self.pid = None

    def up(self):
        sh, ends, prx = self.sh, self.ends, self.prx
        for ns in (ends, prx):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for link, mine, theirs in (("a", f"{CLIENT}/23", f"{PROXY_FRONT}/23"),
                                   ("b", f"{BACKEND}/24", f"{PROXY_BACK}/24")):
            sh("ip", "link", "add", f"cmp-e{link}", "netns", ends, "type", "veth", "peer",
               "name", f"cmp-p{link}", "netns", prx)
            sh("ip", "addr", "add", mine, "dev", f"cmp-e{link}", ns=ends)
            sh("ip", "addr", "add", theirs, "dev", f"cmp-p{link}", ns=prx)
            sh("ip", "link", "set", f"cmp-e{link}", "up", ns=ends)
            sh("ip", "link", "set", f"cmp-p{link}", "up", ns=prx)
        for port, size in (("80", "1024"), ("81", str(1 << 20))):
            self.spawn(ends, "1", subprocess.DEVNULL, self.peer, "http-server", port, size)
        haproxy = self.spawn(prx, "0", subprocess.PIPE, haproxy_path(), "-db", "-f",
                             HAPROXY_CFG)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.listening():
            if haproxy.poll() is not None:
                out = haproxy.stdout.read()
                raise RuntimeError(f"haproxy exited {haproxy.returncode}: {out}")
            time.sleep(0.1)
        pids = subprocess.run(["ip", "netns", "pids", prx], capture_output=True, text=True)
        self.pid = int(pids.stdout.split()[0])

    def spawn(self, ns, cpu, out, *cmd):
        """`cmd` in `ns` on `cpu`, its output to `out` (HAProxy's: read if it exits early)."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, "taskset", "-c", cpu, *cmd],
                             stdout=out, stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        return p

    def listening(self):
        r = subprocess.run(["ip", "netns", "exec", self.prx, "ss", "-Hltn"], capture_output=True,
                           text=True)
        return f"{PROXY_FRONT}:81" in r.stdout

    def cpu_s(self):
        """HAProxy's own CPU time so far (user + system), in seconds."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
