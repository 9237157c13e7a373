// kernel-peer: the Linux-socket side of the whole-stack comparisons (perf/macro/compare.py).
// One small epoll program, so that tempo and the kernel are measured with the same client and
// against servers of the same shape:
//
//   kernel-peer echo-server PORT                 TCP echo (the kernel's counterpart of tempo-echo)
//   kernel-peer http-server PORT BYTES           fixed HTTP responses, closes first on
//                                                "Connection: close" (counterpart of tempo-httpd)
//   kernel-peer bulk ADDR PORT MBYTES            streams MBYTES through an echo server; prints
//                                                {"mbytes_per_s": ...} (both directions' bytes)
//   kernel-peer short ADDR PORT SECONDS CONC     HTTP/1.1 "Connection: close" requests on CONC
//                                                connections at a time; prints {"conn_per_s": ...}
//   kernel-peer keepalive ADDR PORT SECONDS CONC BYTES
//                                                keep-alive requests on CONC connections to an
//                                                http-server BYTES; prints {"requests_per_s": ...,
//                                                "mbytes_per_s": ...} (bodies)
//
// Not a test (tests live in tests/interop); a measuring tool, bounded in time and count.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "kernel-peer: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

bool parse_addr(const char* text, int port, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof *ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v6;
    return true;
  }
  return false;
}

int listener(int port) {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    die("socket");
  }
  const int one = 1;
  const int zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  a.sin6_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
    die("bind/listen");
  }
  return fd;
}

// Both servers: one epoll loop, level-triggered; `on_readable` returns false to close.
template <class OnReadable>
int serve(int port, OnReadable&& on_readable) {
  const int lfd = listener(port);
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<epoll_event> events(256);
  std::vector<char> buf(1 << 18);
  for (;;) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == lfd) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      if (!on_readable(fd, buf)) {
        close(fd);
      }
    }
  }
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN) {
        fd_set s;
        FD_ZERO(&s);
        FD_SET(fd, &s);
        select(fd + 1, nullptr, &s, nullptr, nullptr);
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int echo_server(int port) {
  return serve(port, [](int fd, std::vector<char>& buf) {
    const ssize_t r = read(fd, buf.data(), buf.size());
    if (r <= 0) {
      return r < 0 && errno == EAGAIN;
    }
    return write_all(fd, buf.data(), static_cast<size_t>(r));
  });
}

int http_server(int port, size_t bytes) {
  std::string body(bytes, 'x');
  for (size_t i = 0; i < bytes; ++i) {
    body[i] = static_cast<char>('a' + i % 26);
  }
  const std::string head =
      "HTTP/1.1 200 OK\r\nServer: kernel-peer\r\nContent-Type: text/plain\r\n"
      "Content-Length: " +
      std::to_string(bytes);
  const std::string keep = head + "\r\n\r\n" + body;
  const std::string close_resp = head + "\r\nConnection: close\r\n\r\n" + body;
  return serve(port, [&](int fd, std::vector<char>& buf) {
    const ssize_t r = read(fd, buf.data(), buf.size());
    if (r <= 0) {
      return r < 0 && errno == EAGAIN;
    }
    const std::string_view req(buf.data(), static_cast<size_t>(r));
    const bool close_it = req.find("onnection: close") != std::string_view::npos;
    const std::string& resp = close_it ? close_resp : keep;
    write_all(fd, resp.data(), resp.size());
    if (close_it) {
      shutdown(fd, SHUT_WR);  // the server closes first: TIME_WAIT is the server's
      return false;
    }
    return true;
  });
}

int connect_to(const sockaddr_storage& ss, socklen_t len, bool nonblock) {
  const int fd = socket(ss.ss_family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    die("socket");
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    die("connect");
  }
  return fd;
}

int bulk(const char* addr, int port, size_t mbytes) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(addr, port, &ss, &len)) {
    die("address");
  }
  const int fd = connect_to(ss, len, false);
  const size_t total = mbytes << 20;
  std::vector<char> out(1 << 18, 'b');
  std::vector<char> in(1 << 18);
  size_t sent = 0;
  size_t got = 0;
  const auto t0 = Clock::now();
  fcntl(fd, F_SETFL, O_NONBLOCK);
  while (got < total) {
    fd_set r;
    fd_set w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    if (sent < total) {
      FD_SET(fd, &w);
    }
    timeval tv{30, 0};
    if (select(fd + 1, &r, &w, nullptr, &tv) <= 0) {
      die("bulk stalled");
    }
    if (FD_ISSET(fd, &w)) {
      const ssize_t n = write(fd, out.data(), std::min(out.size(), total - sent));
      if (n > 0) {
        sent += static_cast<size_t>(n);
      }
    }
    if (FD_ISSET(fd, &r)) {
      const ssize_t n = read(fd, in.data(), in.size());
      if (n == 0) {
        die("bulk: early EOF");
      }
      if (n > 0) {
        got += static_cast<size_t>(n);
      }
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  close(fd);
  std::printf("{\"mbytes\": %zu, \"seconds\": %.3f, \"mbytes_per_s\": %.1f}\n", mbytes, s,
              2.0 * static_cast<double>(total) / s / 1e6);
  return 0;
}

int short_conns(const char* addr, int port, double seconds, int conc) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(addr, port, &ss, &len)) {
    die("address");
  }
  static constexpr char kReq[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const int ep = epoll_create1(0);
  struct Slot {
    int fd = -1;
    bool sent = false;
  };
  std::vector<Slot> slots(static_cast<size_t>(conc));
  auto start = [&](size_t i) {
    slots[i].fd = connect_to(ss, len, true);
    slots[i].sent = false;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, slots[i].fd, &ev);
  };
  for (size_t i = 0; i < slots.size(); ++i) {
    start(i);
  }
  uint64_t done = 0;
  uint64_t errors = 0;
  std::vector<epoll_event> events(256);
  std::vector<char> buf(1 << 16);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      const size_t i = events[static_cast<size_t>(k)].data.u64;
      Slot& s = slots[i];
      if (!s.sent && (events[static_cast<size_t>(k)].events & EPOLLOUT)) {
        if (write(s.fd, kReq, sizeof kReq - 1) != static_cast<ssize_t>(sizeof kReq - 1)) {
          ++errors;
          close(s.fd);
          start(i);
          continue;
        }
        s.sent = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
        continue;
      }
      const ssize_t r = read(s.fd, buf.data(), buf.size());
      if (r > 0 || (r < 0 && errno == EAGAIN)) {
        continue;
      }
      if (r == 0) {
        ++done;
      } else {
        ++errors;
      }
      close(s.fd);
      start(i);
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "{\"connections\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"conn_per_s\": %.1f}\n",
      static_cast<unsigned long long>(done), static_cast<unsigned long long>(errors), s,
      static_cast<double>(done) / s);
  return 0;
}

// Keep-alive HTTP/1.1 requests on CONC connections for SECONDS, each response a head then a
// BYTES-long body (what http-server BYTES sends): requests/s and body MB/s.
int keepalive(const char* addr, int port, double seconds, int conc, size_t bytes) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(addr, port, &ss, &len)) {
    die("address");
  }
  static constexpr char kReq[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  struct Slot {
    int fd = -1;
    bool in_head = true;
    uint32_t crlf = 0;  // the last bytes of the head seen, as a shift register
    size_t body_left = 0;
  };
  std::vector<Slot> slots(static_cast<size_t>(conc));
  const int ep = epoll_create1(0);
  for (size_t i = 0; i < slots.size(); ++i) {
    slots[i].fd = connect_to(ss, len, false);  // blocking connect, then non-blocking reads
    fcntl(slots[i].fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, slots[i].fd, &ev);
    write_all(slots[i].fd, kReq, sizeof kReq - 1);
  }
  uint64_t requests = 0;
  uint64_t body_bytes = 0;
  uint64_t errors = 0;
  std::vector<epoll_event> events(256);
  std::vector<char> buf(1 << 18);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      Slot& s = slots[events[static_cast<size_t>(k)].data.u64];
      const ssize_t r = read(s.fd, buf.data(), buf.size());
      if (r <= 0) {
        if (r == 0 || errno != EAGAIN) {
          ++errors;
          epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
        }
        continue;
      }
      for (size_t off = 0; off < static_cast<size_t>(r);) {
        if (s.in_head) {
          s.crlf = s.crlf << 8 | static_cast<uint8_t>(buf[off++]);
          if (s.crlf == 0x0d0a0d0a) {
            s.in_head = false;
            s.body_left = bytes;
          }
        } else {
          const size_t take = std::min(s.body_left, static_cast<size_t>(r) - off);
          s.body_left -= take;
          body_bytes += take;
          off += take;
        }
        if (!s.in_head && s.body_left == 0) {
          ++requests;
          s.in_head = true;
          s.crlf = 0;
          write_all(s.fd, kReq, sizeof kReq - 1);
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "{\"requests\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"requests_per_s\": %.1f, "
      "\"mbytes_per_s\": %.2f}\n",
      static_cast<unsigned long long>(requests), static_cast<unsigned long long>(errors), secs,
      static_cast<double>(requests) / secs, static_cast<double>(body_bytes) / secs / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "echo-server" && argc == 3) {
    return echo_server(std::atoi(argv[2]));
  }
  if (mode == "http-server" && argc == 4) {
    return http_server(std::atoi(argv[2]), static_cast<size_t>(std::atol(argv[3])));
  }
  if (mode == "bulk" && argc == 5) {
    return bulk(argv[2], std::atoi(argv[3]), static_cast<size_t>(std::atol(argv[4])));
  }
  if (mode == "short" && argc == 6) {
    return short_conns(argv[2], std::atoi(argv[3]), std::atof(argv[4]), std::atoi(argv[5]));
  }
  if (mode == "keepalive" && argc == 7) {
    return keepalive(argv[2], std::atoi(argv[3]), std::atof(argv[4]), std::atoi(argv[5]),
                     static_cast<size_t>(std::atol(argv[6])));
  }
  std::fprintf(stderr,
               "usage: kernel-peer echo-server PORT | http-server PORT BYTES |\n"
               "       bulk ADDR PORT MBYTES | short ADDR PORT SECONDS CONCURRENCY |\n"
               "       keepalive ADDR PORT SECONDS CONCURRENCY BYTES\n");
  return 2;
}
