"""A kernel TCP server for the proxy tests, run inside the test's namespace.

  backend.py ADDR PORT echo        echo every connection's bytes until EOF, then close
  backend.py ADDR PORT greet       send "hello N from PEER\n" and close first (the kernel
                                   then holds TIME_WAIT for the tuple)
  backend.py ADDR PORT http        read one request head, answer 200 with a 1024-byte body,
                                   close first
Prints "ready" once listening, then one "peer IP PORT" line per accepted connection."""

import socket
import sys
import threading


def echo(conn):
    with conn:
        try:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                conn.sendall(data)
        except ConnectionResetError:  # the proxy reset the pair (a test of its timeouts)
            return


def http(conn):
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n" +
                     b"x" * 1024)


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
        elif mode == "http":
            threading.Thread(target=http, args=(conn,), daemon=True).start()
        else:
            with conn:
                conn.sendall(f"hello {n} from {peer[0]}:{peer[1]}\n".encode())


if __name__ == "__main__":
    main()
