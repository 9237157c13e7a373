"""A set-up of namespaces and processes that lives for a `with` block (compare.py's KernelPair,
proxy_chain.py's HaproxyChain): up() makes it, down() removes it (its namespaces, and every
process in them), renew() makes it again after a failed round (what it runs may be what
failed). Subclasses give up() and `namespaces`."""

import subprocess


class NamespaceSet:
    namespaces = ()

    def __init__(self):
        self.procs = []  # processes started outside the namespaces' own pids (ip netns exec)

    def __enter__(self):
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def up(self):
        raise NotImplementedError

    def down(self):
        for ns in self.namespaces:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []

    def renew(self):
        self.down()
        self.up()
