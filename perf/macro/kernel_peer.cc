// kernel-peer: the Linux-socket side of the whole-stack comparisons (perf/macro/compare.py).
// One small epoll program, so that tempo and the kernel are measured with the same client and
// against servers of the same shape:
//
//   kernel-peer echo-server PORT                 TCP echo (the kernel's counterpart of tempo-echo)
//   kernel-peer http-server PORT BYTES           fixed HTTP responses, closes first on
//                                                "Connection: close" (counterpart of tempo-httpd)
//   kernel-peer bulk ADDR PORT MBYTES            streams MBYTES through an echo server; prints
//                                                {"mbytes_per_s": ...} (both directions' bytes)
//   kernel-peer short ADDR PORT SECONDS CONC [rate=R] [client-close=BYTES]
//                                                short HTTP/1.1 connections, CONC at a time
//                                                (paced at R/s; the client closing first after
//                                                a BYTES body); prints {"conn_per_s": ...,
//                                                "latency_us": ..., "per_second": [...]}
//   kernel-peer idle ADDR PORT CONC SECONDS      holds CONC idle connections for SECONDS
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
#include <sys/resource.h>
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

// rusage of this process (user + system seconds), for the CPU that is not the client's.
double own_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Latency samples in microseconds: p50/p99/p999 once, at the end.
struct Latencies {
  std::vector<uint32_t> us;
  void add(Clock::duration d) {
    us.push_back(
        static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
  }
  uint32_t at(double q) {
    if (us.empty()) {
      return 0;
    }
    const auto k = static_cast<size_t>(q * static_cast<double>(us.size() - 1));
    std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(k), us.end());
    return us[k];
  }
};

// Short HTTP/1.1 connections on CONC slots for SECONDS. Options:
//   rate=R             start at most R connections a second (open loop, paced), else at once
//   client-close=BYTES send a keep-alive request, read the head and BYTES of body, then close
//                      first (client-side TIME_WAIT); else "Connection: close" and read to EOF
// A connect() that fails (EADDRNOTAVAIL: the port range is spent) is counted and its slot
// tried again on the next turn. Prints connections, errors, latency (connect to response) and
// completions per whole second.
int short_conns(const char* addr, int port, double seconds, int conc, double rate,
                long client_close) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(addr, port, &ss, &len)) {
    die("address");
  }
  static constexpr char kClose[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  static constexpr char kKeep[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const char* req = client_close >= 0 ? kKeep : kClose;
  const size_t req_len = client_close >= 0 ? sizeof kKeep - 1 : sizeof kClose - 1;
  const int ep = epoll_create1(0);
  struct Slot {
    int fd = -1;
    bool sent = false;
    bool in_head = true;
    uint32_t crlf = 0;
    long body_left = 0;
    Clock::time_point t0;
  };
  std::vector<Slot> slots(static_cast<size_t>(conc));
  std::vector<size_t> free_slots;
  for (size_t i = slots.size(); i-- > 0;) {
    free_slots.push_back(i);
  }
  uint64_t started = 0;
  uint64_t done = 0;
  uint64_t errors = 0;
  uint64_t no_port = 0;
  Latencies lat;
  std::vector<uint64_t> per_second(static_cast<size_t>(seconds) + 2, 0);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  auto start = [&](size_t i) {
    Slot& s = slots[i];
    s.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s.fd < 0) {
      die("socket");
    }
    const int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s.t0 = Clock::now();
    if (connect(s.fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
      ++(errno == EADDRNOTAVAIL ? no_port : errors);
      close(s.fd);
      s.fd = -1;
      return false;
    }
    s.sent = false;
    s.in_head = true;
    s.crlf = 0;
    s.body_left = client_close;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
    return true;
  };
  auto finish = [&](size_t i, bool ok) {
    Slot& s = slots[i];
    const auto now = Clock::now();
    if (ok) {
      ++done;
      lat.add(now - s.t0);
      const auto sec = static_cast<size_t>(std::chrono::duration<double>(now - t0).count());
      if (sec < per_second.size()) {
        ++per_second[sec];
      }
    } else {
      ++errors;
    }
    close(s.fd);
    s.fd = -1;
    free_slots.push_back(i);
  };
  std::vector<epoll_event> events(256);
  std::vector<char> buf(1 << 16);
  for (auto now = t0; now < end; now = Clock::now()) {
    // Start what the rate (and the free slots) allow.
    const double due = rate > 0 ? std::chrono::duration<double>(now - t0).count() * rate
                                : static_cast<double>(UINT64_MAX);
    while (!free_slots.empty() && static_cast<double>(started) < due) {
      const size_t i = free_slots.back();
      ++started;
      if (start(i)) {
        free_slots.pop_back();
      } else if (rate <= 0) {
        break;  // the port range is spent: try again next turn
      }
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()),
                             rate > 0 || !free_slots.empty() ? 1 : 100);
    for (int k = 0; k < n; ++k) {
      const size_t i = events[static_cast<size_t>(k)].data.u64;
      Slot& s = slots[i];
      if (!s.sent && (events[static_cast<size_t>(k)].events & EPOLLOUT)) {
        if (write(s.fd, req, req_len) != static_cast<ssize_t>(req_len)) {
          finish(i, false);
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
      if (r < 0 && errno == EAGAIN) {
        continue;
      }
      if (r <= 0) {
        finish(i, r == 0 && client_close < 0);
        continue;
      }
      if (client_close < 0) {
        continue;  // read to EOF
      }
      for (ssize_t off = 0; off < r;) {
        if (s.in_head) {
          s.crlf = s.crlf << 8 | static_cast<uint8_t>(buf[static_cast<size_t>(off++)]);
          s.in_head = s.crlf != 0x0d0a0d0a;
        } else {
          const long take = std::min<long>(s.body_left, r - off);
          s.body_left -= take;
          off += take;
        }
        if (!s.in_head && s.body_left == 0) {
          finish(i, true);  // the client closes first
          break;
        }
      }
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::string series;
  for (size_t k = 0; k < static_cast<size_t>(seconds); ++k) {
    if (k > 0) {
      series.push_back(',');
    }
    series.append(std::to_string(per_second[k]));
  }
  std::printf(
      "{\"connections\": %llu, \"errors\": %llu, \"no_local_port\": %llu, \"seconds\": %.3f, "
      "\"conn_per_s\": %.1f, \"latency_us\": {\"p50\": %u, \"p99\": %u, \"p999\": %u}, "
      "\"per_second\": [%s], \"cpu_s\": %.3f}\n",
      static_cast<unsigned long long>(done), static_cast<unsigned long long>(errors),
      static_cast<unsigned long long>(no_port), s, static_cast<double>(done) / s, lat.at(0.5),
      lat.at(0.99), lat.at(0.999), series.c_str(), own_cpu_s());
  return 0;
}

// CONC idle connections held for SECONDS (blocking connects, one after another); prints how
// many were open, once all were, so that the caller can read the kernel's memory meanwhile.
int idle(const char* addr, int port, int conc, double seconds) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(addr, port, &ss, &len)) {
    die("address");
  }
  std::vector<int> fds;
  for (int i = 0; i < conc; ++i) {
    fds.push_back(connect_to(ss, len, false));
  }
  std::printf("{\"open\": %zu}\n", fds.size());
  std::fflush(stdout);
  usleep(static_cast<useconds_t>(seconds * 1e6));
  for (const int fd : fds) {
    close(fd);
  }
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
  // Idle runs hold tens of thousands of sockets: as many descriptors as the kernel allows.
  rlimit nofile{1 << 20, 1 << 20};  // fs.nr_open's default; raising the hard limit needs root
  if (setrlimit(RLIMIT_NOFILE, &nofile) != 0 && getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (mode == "echo-server" && argc == 3) {
    return echo_server(std::atoi(argv[2]));
  }
  if (mode == "http-server" && argc == 4) {
    return http_server(std::atoi(argv[2]), static_cast<size_t>(std::atol(argv[3])));
  }
  if (mode == "bulk" && argc == 5) {
    return bulk(argv[2], std::atoi(argv[3]), static_cast<size_t>(std::atol(argv[4])));
  }
  if (mode == "short" && argc >= 6) {
    double rate = 0;
    long client_close = -1;
    for (int i = 6; i < argc; ++i) {
      const std::string_view opt(argv[i]);
      if (opt.starts_with("rate=")) {
        rate = std::atof(argv[i] + 5);
      } else if (opt.starts_with("client-close=")) {
        client_close = std::atol(argv[i] + 13);
      } else {
        std::fprintf(stderr, "kernel-peer: short: unknown option %s\n", argv[i]);
        return 2;
      }
    }
    return short_conns(argv[2], std::atoi(argv[3]), std::atof(argv[4]), std::atoi(argv[5]), rate,
                       client_close);
  }
  if (mode == "idle" && argc == 6) {
    return idle(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atof(argv[5]));
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
