// tempo-stat: a running tempo app's counters, ports and connections, read from its telemetry
// socket (lib/stack/telemetry.h), like nstat and ff_top. It finds the process by the file
// prefix of the same config file; it starts no EAL and stops nothing.
//
//   tempo-stat --config FILE [--once] [--json] [--interval SECONDS] [--worker N]
//   tempo-stat --config FILE --connections [--state S] [--limit N] [--json] [--worker N]
//
// Live (the default): a table refreshed in place every interval, each counter that is not zero
// with its total and its rate per second. --once: one table (rates over one interval) and exit.
// --json: one JSON object (totals, rates, ports, connections) and exit. --worker N: Worker N's
// counters instead of the sum. --connections: the connections each Worker holds, as
// `ss -tin` (state, ends, RTT, RTO, cwnd, ssthresh, MSS, windows, queues, retransmissions,
// bytes, options), in state S (any but time-wait by default; established, syn-sent, ...), at
// most N (100) a Worker; with --state time-wait the TIME_WAIT entries closest to expiry, as
// `ss -tan state time-wait` (ends, time left, timestamps). No process: one line on stderr,
// exit 1; bad arguments or config: exit 2.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <tempo/config.h>

namespace {

constexpr const char* kUsage =
    "usage: tempo-stat --config FILE [--once] [--json] [--interval SECONDS] [--worker N]\n"
    "       tempo-stat --config FILE --connections [--state S] [--limit N] [--json] [--worker N]\n"
    "A running tempo app's counters, ports and connections, from its telemetry socket (the\n"
    "app started with the same config file).\n";

struct Args {
  std::string config;
  bool once = false;
  bool json = false;
  double interval = 1.0;
  std::optional<unsigned> worker;
  bool connections = false;
  std::string state = "any";  // telemetry's spelling: ESTABLISHED, TIME_WAIT, any
  unsigned limit = 100;
};

// nullopt after printing why (exit 2), or the arguments.
std::optional<Args> parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "tempo-stat: " << arg << " needs a value\n" << kUsage;
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--config" || arg == "-c") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      a.config = *v;
    } else if (arg == "--connections") {
      a.connections = true;
    } else if (arg == "--state") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      a.state.clear();
      for (char c : *v) {  // time-wait -> TIME_WAIT
        a.state += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      a.state = a.state == "ANY" ? "any" : a.state;
    } else if (arg == "--limit") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      char* end = nullptr;
      const long n = std::strtol(v->c_str(), &end, 10);
      if (end == v->c_str() || *end != '\0' || n < 1 || n > 1000000) {
        std::cerr << "tempo-stat: --limit: " << *v << ": expected a count in [1, 1000000]\n";
        return std::nullopt;
      }
      a.limit = static_cast<unsigned>(n);
    } else if (arg == "--once") {
      a.once = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--interval" || arg == "--worker") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      char* end = nullptr;
      const double d = std::strtod(v->c_str(), &end);
      const bool whole = arg == "--worker";
      if (end == v->c_str() || *end != '\0' || d < (whole ? 0 : 0.05) || d > 3600 ||
          (whole && d != static_cast<unsigned>(d))) {
        std::cerr << "tempo-stat: " << arg << ": " << *v << ": expected "
                  << (whole ? "a Worker index" : "seconds in [0.05, 3600]") << '\n';
        return std::nullopt;
      }
      if (whole) {
        a.worker = static_cast<unsigned>(d);
      } else {
        a.interval = d;
      }
    } else {
      std::cerr << "tempo-stat: unknown argument " << arg << '\n' << kUsage;
      return std::nullopt;
    }
  }
  if (a.config.empty()) {
    std::cerr << "tempo-stat: --config FILE is required\n" << kUsage;
    return std::nullopt;
  }
  return a;
}

// DPDK's runtime directory for `prefix` (eal_create_runtime_dir's rule).
std::string socket_path(const std::string& prefix) {
  std::string base = "/var/run";
  if (getuid() != 0) {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    base = xdg != nullptr ? xdg : "/tmp";
  }
  return base + "/dpdk/" + prefix + "/dpdk_telemetry.v2";
}

// The file prefixes "tempo-<pid>" (the loader's default) whose telemetry socket exists.
std::vector<std::string> running_unnamed() {
  std::vector<std::string> out;
  const std::string dir =
      socket_path("x").substr(0, socket_path("x").size() - std::strlen("x/dpdk_telemetry.v2"));
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("tempo-", 0) == 0 &&
        name.find_first_not_of("0123456789", 6) == std::string::npos && name.size() > 6 &&
        std::filesystem::exists(e.path() / "dpdk_telemetry.v2", ec)) {
      out.push_back(name);
    }
  }
  return out;
}

// One connection to the telemetry socket; each query is one command and its JSON reply.
class Telemetry {
 public:
  explicit Telemetry(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof(sun.sun_path)) {
      return;
    }
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    (void)read_reply();  // the greeting: version, pid, max_output_len
  }
  ~Telemetry() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;
  bool connected() const { return fd_ >= 0; }

  // The reply's value (its one key is the command), or a null node when the process is gone.
  YAML::Node query(const std::string& command) {
    if (fd_ < 0 || send(fd_, command.data(), command.size(), 0) < 0) {
      return {};
    }
    const auto text = read_reply();
    if (!text) {
      return {};
    }
    try {
      const YAML::Node reply = YAML::Load(*text);  // JSON is YAML
      return reply.IsMap() && reply.size() == 1 ? reply.begin()->second : YAML::Node{};
    } catch (const YAML::Exception&) {
      return {};
    }
  }

 private:
  std::optional<std::string> read_reply() {
    std::string buf(1 << 16, '\0');
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
      return std::nullopt;
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  int fd_ = -1;
};

using Counters = std::map<std::string, uint64_t>;  // by tempo's name (dots)

// Telemetry's name back to tempo's: slashes were dots.
std::string tempo_name(std::string s) {
  for (char& c : s) {
    c = c == '/' ? '.' : c;
  }
  return s;
}

// Every counter, summed or of one Worker; a group at a time when they do not fit one reply.
std::optional<Counters> read_counters(Telemetry& t, const Args& a) {
  const std::string base =
      a.worker ? "/tempo/worker," + std::to_string(*a.worker) + "," : "/tempo/counters,";
  YAML::Node all = t.query(base);
  if (!all.IsMap()) {
    return std::nullopt;
  }
  std::vector<YAML::Node> replies;
  if (all["groups"]) {
    for (const auto& g : all["groups"]) {
      replies.push_back(t.query(base + g.as<std::string>()));
    }
  } else if (all["error"]) {
    std::cerr << "tempo-stat: " << all["error"].as<std::string>() << '\n';
    return std::nullopt;
  } else {
    replies.push_back(all);
  }
  Counters out;
  for (const auto& r : replies) {
    for (const auto& kv : r) {
      out[tempo_name(kv.first.as<std::string>())] = kv.second.as<uint64_t>();
    }
  }
  return out;
}

struct Sample {
  YAML::Node info;
  Counters counters;
  std::vector<YAML::Node> ports;
  YAML::Node connections;
};

std::optional<Sample> sample(Telemetry& t, const Args& a) {
  Sample s;
  s.info = t.query("/tempo/info");
  auto c = read_counters(t, a);
  if (!s.info.IsMap() || !c) {
    return std::nullopt;
  }
  s.counters = std::move(*c);
  for (unsigned i = 0; i < s.info["ports"].as<unsigned>(0); ++i) {
    s.ports.push_back(t.query("/tempo/port," + std::to_string(i)));
  }
  s.connections =
      t.query(a.worker ? "/tempo/connections," + std::to_string(*a.worker) : "/tempo/connections");
  return s;
}

double rate(const Sample& now, const Sample& before, const std::string& name, double seconds) {
  const auto n = now.counters.find(name);
  const auto b = before.counters.find(name);
  if (n == now.counters.end() || b == before.counters.end() || n->second < b->second) {
    return 0;
  }
  return static_cast<double>(n->second - b->second) / seconds;
}

// A telemetry value as JSON: an integer as a number, anything else as a string.
void emit_scalar(YAML::Emitter& e, const YAML::Node& n) {
  const std::string v = n.as<std::string>("");
  if (!v.empty() && v.size() < 20 && v.find_first_not_of("0123456789") == std::string::npos) {
    e << std::stoull(v);
  } else {
    e << YAML::DoubleQuoted << v;
  }
}

// A telemetry map as JSON.
void emit_map(YAML::Emitter& e, const YAML::Node& m) {
  e << YAML::BeginMap;
  for (const auto& kv : m) {
    e << YAML::Key << YAML::DoubleQuoted << kv.first.as<std::string>() << YAML::Value;
    emit_scalar(e, kv.second);
  }
  e << YAML::EndMap;
}

void print_json(const Sample& now, const Sample& before, double seconds) {
  YAML::Emitter e;
  e << YAML::Flow << YAML::BeginMap;
  e << YAML::Key << YAML::DoubleQuoted << "info" << YAML::Value;
  emit_map(e, now.info);
  e << YAML::Key << YAML::DoubleQuoted << "counters" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, v] : now.counters) {
    e << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << v;
  }
  e << YAML::EndMap << YAML::Key << YAML::DoubleQuoted << "rates" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, v] : now.counters) {
    e << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << rate(now, before, name, seconds);
  }
  e << YAML::EndMap << YAML::Key << YAML::DoubleQuoted << "ports" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : now.ports) {
    emit_map(e, p);
  }
  e << YAML::EndSeq << YAML::Key << YAML::DoubleQuoted << "connections" << YAML::Value;
  emit_map(e, now.connections);
  e << YAML::EndMap;
  std::cout << e.c_str() << std::endl;
}

void print_table(const Sample& now, const Sample& before, double seconds, const Args& a) {
  const auto& info = now.info;
  std::printf("%s %s, %u worker(s)%s (%s)\n", info["program"].as<std::string>("?").c_str(),
              info["version"].as<std::string>("").c_str(), info["workers"].as<unsigned>(0),
              a.worker ? (", Worker " + std::to_string(*a.worker)).c_str() : ", summed",
              a.config.c_str());
  if (now.connections.IsMap()) {
    std::printf("connections:");
    for (const auto& kv : now.connections) {
      if (kv.second.as<uint64_t>(0) != 0) {
        std::printf(" %s %s", kv.first.as<std::string>().c_str(),
                    kv.second.as<std::string>().c_str());
      }
    }
    std::printf("\n");
  }
  for (const auto& p : now.ports) {
    std::printf(
        "port %s (%s): in %s pkts, out %s pkts, missed %s, rx pool %s of %s free\n",
        p["name"].as<std::string>("?").c_str(), p["driver"].as<std::string>("?").c_str(),
        p["ipackets"].as<std::string>("?").c_str(), p["opackets"].as<std::string>("?").c_str(),
        p["imissed"].as<std::string>("?").c_str(), p["rx_pool_free"].as<std::string>("?").c_str(),
        p["rx_pool_size"].as<std::string>("?").c_str());
  }
  std::printf("%-40s %20s %14s\n", "counter", "total", "per second");
  for (const auto& [name, v] : now.counters) {
    if (v != 0) {
      std::printf("%-40s %20llu %14.1f\n", name.c_str(), static_cast<unsigned long long>(v),
                  rate(now, before, name, seconds));
    }
  }
  std::fflush(stdout);
}

// --connections: each Worker's listing, a page (Census::kMaxList) at a time. Exit status.
int list_connections(Telemetry& t, const Args& a) {
  const unsigned workers = t.query("/tempo/info")["workers"].as<unsigned>(0);
  const bool tw = a.state == "TIME_WAIT";
  YAML::Emitter e;
  e << YAML::Flow << YAML::BeginSeq;
  bool header = false;
  for (unsigned w = 0; w < workers; ++w) {
    if (a.worker && *a.worker != w) {
      continue;
    }
    unsigned shown = 0;
    // TIME_WAIT: one page of the entries closest to expiry; connections: page by page.
    for (unsigned skip = 0; shown < a.limit;) {
      const unsigned page = std::min(a.limit - shown, 32u);
      const YAML::Node r = t.query("/tempo/conns," + std::to_string(w) + "," + a.state + "," +
                                   std::to_string(skip) + "," + std::to_string(page));
      if (!r.IsMap()) {
        return 1;
      }
      if (r["error"]) {
        std::cerr << "tempo-stat: " << r["error"].as<std::string>() << '\n';
        return 2;
      }
      std::vector<std::string> fields;
      for (const auto& f : r["fields"]) {
        fields.push_back(f.as<std::string>());
      }
      unsigned got = 0;
      for (; r[std::to_string(got)]; ++got) {
        const YAML::Node row = r[std::to_string(got)];
        if (a.json) {
          e << YAML::BeginMap << YAML::Key << YAML::DoubleQuoted << "worker" << YAML::Value << w;
          for (size_t i = 0; i < fields.size() && i < row.size(); ++i) {
            e << YAML::Key << YAML::DoubleQuoted << fields[i] << YAML::Value;
            emit_scalar(e, row[i]);
          }
          e << YAML::EndMap;
          continue;
        }
        if (!header) {
          header = true;
          if (tw) {
            std::printf("%-4s %-12s %-42s %-42s %10s %s\n", "wkr", "state", "local", "peer",
                        "left_ms", "options");
          } else {
            std::printf("%-4s %-12s %-42s %-42s %s\n", "wkr", "state", "local", "peer",
                        "srtt_us/rttvar_us rto_us cwnd ssthresh mss snd_wnd rcv_wnd in_flight "
                        "snd_queue rcv_held retrans acked received options");
          }
        }
        std::printf("%-4u %-12s %-42s %-42s", w, row[0].as<std::string>("").c_str(),
                    row[1].as<std::string>("").c_str(), row[2].as<std::string>("").c_str());
        if (tw) {
          std::printf(" %10s %s\n", row[3].as<std::string>("").c_str(),
                      row[4].as<std::string>("").c_str());
          continue;
        }
        std::printf(" %s/%s", row[3].as<std::string>("").c_str(),
                    row[4].as<std::string>("").c_str());
        for (size_t i = 5; i < row.size(); ++i) {
          std::printf(" %s", row[i].as<std::string>("").c_str());
        }
        std::printf("\n");
      }
      shown += got;
      skip += got;
      if (tw || got < page) {
        break;
      }
    }
  }
  if (a.json) {
    e << YAML::EndSeq;
    std::cout << e.c_str() << std::endl;
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = parse(argc, argv);
  if (!args) {
    return 2;
  }
  std::string prefix;
  try {
    prefix = tempo::config::load_file(args->config).eal.file_prefix;
  } catch (const tempo::config::ConfigError& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  if (prefix == "tempo-" + std::to_string(getpid())) {
    // No eal.file_prefix: the app took "tempo-<its pid>". Take the one such process running.
    const auto found = running_unnamed();
    if (found.size() != 1) {
      std::cerr << "tempo-stat: " << args->config << " sets no eal.file_prefix and "
                << (found.empty() ? "no" : std::to_string(found.size()).c_str())
                << " tempo process without one runs: set eal.file_prefix in both\n";
      return 1;
    }
    prefix = found.front();
  }
  const std::string path = socket_path(prefix);
  Telemetry t(path);
  const auto gone = [&] {
    std::cerr << "tempo-stat: no tempo process answers with file prefix " << prefix << " (" << path
              << ")\n";
    return 1;
  };
  if (!t.connected()) {
    return gone();
  }
  if (args->worker) {
    const unsigned workers = t.query("/tempo/info")["workers"].as<unsigned>(0);
    if (*args->worker >= workers) {
      std::cerr << "tempo-stat: --worker " << *args->worker << ": the app has " << workers
                << " Worker(s)\n";
      return 2;
    }
  }
  if (args->connections) {
    return list_connections(t, *args);
  }
  auto before = sample(t, *args);
  if (!before) {
    return gone();
  }
  const auto pause = std::chrono::duration<double>(args->interval);
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(pause);
    auto now = sample(t, *args);
    if (!now) {
      return gone();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (args->json) {
      print_json(*now, *before, seconds);
      return 0;
    }
    if (!args->once) {
      std::printf("\x1b[H\x1b[2J");  // refresh in place
    }
    print_table(*now, *before, seconds, *args);
    if (args->once) {
      return 0;
    }
    before = std::move(now);
  }
}
