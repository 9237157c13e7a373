"""A kernel TCP server for the proxy tests, run inside the test's namespace.

  backend.py ADDR PORT echo        echo every connection's bytes until EOF, then close
  backend.py ADDR PORT greet       send "hello N from PEER\n" and close first (the kernel
                                   then holds TIME_WAIT for the tuple)
Prints "ready" once listening, then one "peer IP PORT" line per accepted connection."""

import socket
import sys
import threading


def echo(conn):
    with conn:
        while True:
            data = conn.recv(1 << 16)
            if not data:
                return
            conn.sendall(data)


def main():
    addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1024)
    print("ready", flush=True)
    n = 0
    while True:
        conn, peer = srv.accept()
        n += 1
        print(f"peer {peer[0]} {peer[1]}", flush=True)
        if mode == "echo":
            threading.Thread(target=echo, args=(conn,), daemon=True).start()
        else:
            with conn:
                conn.sendall(f"hello {n} from {peer[0]}:{peer[1]}\n".encode())


if __name__ == "__main__":
    main()
