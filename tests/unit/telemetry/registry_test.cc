// The counter registry (telemetry/registry.h): every field of every counters struct is in its
// struct's kFields, once, under a well-formed name that no other struct exports unless each says
// the name is shared (tcp.rst_sent); and what walks the registries (add, for_each_field,
// StackCounters::items) reaches every field. A field added without its kFields entry fails the
// build (the static assertions beside each struct) and, should those go, this test.
#include "telemetry/registry.h"

#include <array>
#include <bit>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/counters.h"
#include "telemetry/counters.h"
#include "timewait/counters.h"

namespace tempo::telemetry {
namespace {

// The struct as the uint64_t words it is made of (every counters struct is only uint64_t).
template <class S>
std::array<uint64_t, sizeof(S) / sizeof(uint64_t)> words(const S& s) {
  static_assert(sizeof(S) % sizeof(uint64_t) == 0);
  return std::bit_cast<std::array<uint64_t, sizeof(S) / sizeof(uint64_t)>>(s);
}

// Gives every field the registry names a distinct value: base, base + 1, ...
template <Registered S>
uint64_t fill(S& s, uint64_t base) {
  for (const CounterField<S>& f : S::kFields) {
    s.*f.field = base++;
  }
  return base;
}

// StackCounters: its kFields, both fault directions and every parse-error drop.
void fill_all(StackCounters& s, uint64_t base = 1) {
  base = fill(s, base);
  for (const StackCounters::FaultDirection& d : StackCounters::kFaultDirections) {
    base = fill(s.*d.faults, base);
  }
  for (auto& layer : s.parse) {
    for (uint64_t& drop : layer) {
      drop = base++;
    }
  }
}

template <class S>
class Registry : public ::testing::Test {};
using Structs = ::testing::Types<FaultCounters, tcp::Counters, timewait::TwCounters>;
TYPED_TEST_SUITE(Registry, Structs);

// The check that fails when a field is not exported: after writing through every registry entry,
// no word of the struct is left as it was.
TYPED_TEST(Registry, EveryFieldIsInKFields) {
  using S = TypeParam;
  S s{};
  fill(s, 1);
  const auto w = words(s);
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_NE(w[i], 0u) << "field " << i << " (in declaration order) is not in kFields";
  }
  EXPECT_EQ(S::kFields.size(), w.size()) << "a field is in kFields twice";
}

TYPED_TEST(Registry, NamesAreWellFormedAndUnique) {
  using S = TypeParam;
  std::set<std::string> seen;
  for (const CounterField<S>& f : S::kFields) {
    EXPECT_TRUE(well_formed_name(f.name)) << f.name;
    EXPECT_TRUE(seen.insert(f.name).second) << f.name << " twice";
    EXPECT_NE(std::string(f.help), "") << f.name << " has no help";
  }
}

TYPED_TEST(Registry, ForEachFieldReportsEveryValueInTableOrder) {
  using S = TypeParam;
  S s{};
  fill(s, 100);
  uint64_t want = 100;
  size_t n = 0;
  for_each_field(s, [&](const CounterField<S>& f, uint64_t value) {
    EXPECT_EQ(value, want++) << f.name;
    ++n;
  });
  EXPECT_EQ(n, S::kFields.size());
}

TEST(Registry, PrefixesAreTheStructs) {
  for (const auto& f : tcp::Counters::kFields) {
    EXPECT_TRUE(std::string(f.name).starts_with("tcp.")) << f.name;
  }
  for (const auto& f : timewait::TwCounters::kFields) {
    EXPECT_TRUE(std::string(f.name).starts_with("timewait.")) << f.name;
  }
}

TEST(Registry, StackCountersEveryFieldIsWalked) {
  StackCounters s{};
  fill_all(s);
  const auto w = words(s);
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_NE(w[i], 0u) << "word " << i << " of StackCounters is in no registry";
  }
}

// items(): every field once, faults and parse-error drops only when not zero, under unique names
// (a parse drop whose name a field has, drop.ipv4.fragment, adds to that field's line).
TEST(Registry, StackCountersItemsReportEachFieldOnce) {
  StackCounters s{};
  fill_all(s);
  const auto items = s.items();
  std::set<std::string> names;
  uint64_t reported = 0;
  for (const auto& [name, value] : items) {
    EXPECT_TRUE(well_formed_name(name)) << name;
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
    reported += value;
  }
  uint64_t held = 0;
  for (const uint64_t w : words(s)) {
    held += w;
  }
  EXPECT_EQ(reported, held) << "a field is left out, or reported twice";
  for (const StackCounters::Field& f : StackCounters::kFields) {
    EXPECT_TRUE(names.contains(f.name)) << f.name;
  }
  EXPECT_TRUE(names.contains("faults.rx.dropped"));
  EXPECT_TRUE(names.contains("faults.tx.delayed"));
  EXPECT_TRUE(names.contains("drop.tcp.bad_data_offset"));
  // Zero faults and parse drops are left out; the kFields are always there.
  EXPECT_EQ(StackCounters{}.items().size(), StackCounters::kFields.size());
}

TEST(Registry, AddSumsCountersAndTakesTheLargerPeak) {
  StackCounters a{};
  StackCounters b{};
  fill_all(a, 1);
  fill_all(b, 1000);
  for (const StackCounters::Field& f : StackCounters::kFields) {
    if (f.kind == CounterKind::kPeak) {  // the larger one in `a`
      a.*f.field = 7;
      b.*f.field = 5;
    }
  }
  StackCounters sum = a;
  sum += b;
  for (const StackCounters::Field& f : StackCounters::kFields) {
    if (f.kind == CounterKind::kPeak) {
      EXPECT_EQ(sum.*f.field, 7u) << f.name;
    } else {
      EXPECT_EQ(sum.*f.field, a.*f.field + b.*f.field) << f.name;
    }
  }
  EXPECT_EQ(sum.faults_tx.delayed, a.faults_tx.delayed + b.faults_tx.delayed);
  EXPECT_EQ(sum.parse[2][3], a.parse[2][3] + b.parse[2][3]);

  tcp::Counters c{};
  tcp::Counters d{};
  fill(c, 1);
  fill(d, 50);
  tcp::Counters csum = c;
  csum += d;
  for (const auto& f : tcp::Counters::kFields) {
    EXPECT_EQ(csum.*f.field, c.*f.field + d.*f.field) << f.name;
  }
  timewait::TwCounters t{};
  timewait::TwCounters u{};
  fill(t, 1);
  fill(u, 50);
  timewait::TwCounters tsum = t;
  tsum += u;
  for (const auto& f : timewait::TwCounters::kFields) {
    EXPECT_EQ(tsum.*f.field, t.*f.field + u.*f.field) << f.name;
  }
}

// Across structs a name is exported once, unless every struct that carries it marks it shared
// (the exporter then adds them); a shared name is carried by more than one.
TEST(Registry, ANameInTwoStructsIsSharedByAll) {
  struct Holders {
    int count = 0;
    int shared = 0;
  };
  std::map<std::string, Holders> by_name;
  auto note = [&](const std::string& name, bool shared) {
    ++by_name[name].count;
    by_name[name].shared += shared ? 1 : 0;
  };
  for (const StackCounters::Field& f : StackCounters::kFields) {
    note(f.name, f.shared);
  }
  StackCounters s{};
  fill_all(s);
  for (size_t i = StackCounters::kFields.size(); i < s.items().size(); ++i) {
    note(s.items()[i].first, false);  // faults.* and drop.<layer>.<reason>
  }
  for (const auto& f : tcp::Counters::kFields) {
    note(f.name, f.shared);
  }
  for (const auto& f : timewait::TwCounters::kFields) {
    note(f.name, f.shared);
  }
  for (const auto& [name, h] : by_name) {
    if (h.count > 1) {
      EXPECT_EQ(h.shared, h.count)
          << name << " is exported by " << h.count << " structs, not all marking it shared";
    } else {
      EXPECT_EQ(h.shared, 0) << name << " is marked shared but only one struct exports it";
    }
  }
  // The exported tcp.rst_sent counts every reset: the Worker's (for segments to no connection)
  // and the protocol core's.
  EXPECT_EQ(by_name["tcp.rst_sent"].count, 2);
  EXPECT_EQ(by_name["tcp.rst_sent"].shared, 2);
}

TEST(Registry, WellFormedName) {
  for (const char* ok : {"rx_packets", "tcp.rst_sent", "drop.ipv4.martian_source",
                         "icmp6.echo_replied", "faults.rx.dropped"}) {
    EXPECT_TRUE(well_formed_name(ok)) << ok;
  }
  for (const char* bad :
       {"", ".tcp", "tcp.", "tcp..rst", "Tcp.rst", "tcp.rst-sent", "6tcp", "tcp._rst", "tcp rst"}) {
    EXPECT_FALSE(well_formed_name(bad)) << bad;
  }
}

}  // namespace
}  // namespace tempo::telemetry
