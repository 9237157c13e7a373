"""Short HTTP/1.1 connections from the kernel's sockets, run inside the test namespace:
`--count` connections, one `Connection: close` request each, optionally all from one fixed
source port (reusing the 4-tuple the server holds in TIME_WAIT). Prints one JSON line."""

import argparse
import errno
import json
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--source-port", type=int, default=0)
    ap.add_argument("--body", type=int, default=1024)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ok = failed = 0
    errors = {}
    t0 = time.time()
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            if a.source_port:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.source_port))
                # The previous connection on this tuple may still be in LAST_ACK here for a
                # moment (our FIN not yet acknowledged): the kernel refuses the tuple until then.
                for _ in range(100):
                    try:
                        s.connect((a.addr, a.port))
                        break
                    except OSError as e:
                        if e.errno != errno.EADDRNOTAVAIL:
                            raise
                        time.sleep(0.01)
            else:
                s.connect((a.addr, a.port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: tempo\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            head, _, body = data.partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 200") and len(body) == a.body:
                ok += 1
            else:
                failed += 1
                errors["bad response"] = errors.get("bad response", 0) + 1
        except OSError as e:
            failed += 1
            name = errno.errorcode.get(e.errno, type(e).__name__)
            errors[name] = errors.get(name, 0) + 1
        finally:
            s.close()
    dt = time.time() - t0
    print(json.dumps({"ok": ok, "failed": failed, "errors": errors, "seconds": round(dt, 3),
                      "per_second": round(a.count / dt, 1)}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
