// The counter registry: each counters struct (StackCounters, tcp::Counters, timewait::TwCounters,
// FaultCounters) declares, beside its fields, one constexpr table `kFields` that names every
// field as the operator reads it ("tcp.rst_sent"), says what it counts and what kind of value it
// is. Everything that sums, prints or exports counters walks these tables (for_each_field, add),
// so a name is written once, in the struct that owns the field, and a new field that is not in
// its table fails the build (check_registry, and the sizeof assertion after each struct).
//
// Why a table and not an X-macro that declares the fields and the table together: the fields stay
// plain members (what `counters_.tcp_rst_sent++` on the datapath, a debugger, grep and
// clang-format see), the table is ordinary constexpr data that rte_telemetry can walk later, and
// the static assertions beside each struct (check_registry, and the struct's size against its
// table's) give the X-macro's guarantee: every field in the table, exactly once.
//
// A field is named as it is exported, with underscores for the dots ("drop.tcp.listen_overflow"
// is StackCounters::drop_tcp_listen_overflow); the tcp. and timewait. of tcp::Counters' and
// TwCounters' names are their structs'.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tempo::telemetry {

enum class CounterKind : uint8_t {
  kCounter,  // events since start: only grows; Workers' values add up
  kGauge,    // a level now (entries held); Workers' values add up
  kPeak,     // the highest level one Worker reached; Workers' values combine by max
};

template <class S>
struct CounterField {
  const char* name;  // as exported: lowercase words of [a-z0-9_], joined by dots
  uint64_t S::*field;
  const char* help;  // what one unit is, and when it is counted
  CounterKind kind = CounterKind::kCounter;
  // Also reported per Worker ("worker<N>.<name>") when there are several: how the work spread.
  bool per_worker = false;
  // Another struct exports the same name, counting the same thing from its side: the exporter
  // adds the values (tcp.rst_sent: the Worker's resets and the protocol core's). Set on every
  // field that carries the name.
  bool shared = false;
};

// A struct with a registry.
template <class S>
concept Registered = requires {
  { S::kFields.size() } -> std::convertible_to<size_t>;
  { S::kFields[0] } -> std::convertible_to<CounterField<S>>;
};

// Lowercase words of [a-z0-9_], each starting with a letter, joined by single dots.
constexpr bool well_formed_name(std::string_view n) noexcept {
  bool word_start = true;
  for (const char ch : n) {
    if (ch == '.') {
      if (word_start) {
        return false;  // empty word: leading or doubled dot
      }
      word_start = true;
      continue;
    }
    const bool lower = ch >= 'a' && ch <= 'z';
    const bool digit_or_us = (ch >= '0' && ch <= '9') || ch == '_';
    if (!lower && !(digit_or_us && !word_start)) {
      return false;
    }
    word_start = false;
  }
  return !word_start;  // not empty, no trailing dot
}

// Every name well formed and starting with `prefix`, no name twice, no field twice.
template <class S, size_t N>
constexpr bool check_registry(const std::array<CounterField<S>, N>& fields,
                              std::string_view prefix = {}) noexcept {
  for (size_t i = 0; i < N; ++i) {
    const std::string_view name = fields[i].name;
    if (!well_formed_name(name) || !name.starts_with(prefix) || fields[i].field == nullptr ||
        *fields[i].help == '\0') {
      return false;
    }
    for (size_t j = i + 1; j < N; ++j) {
      if (name == fields[j].name || fields[i].field == fields[j].field) {
        return false;
      }
    }
  }
  return true;
}

// f(const CounterField<S>&, uint64_t value) for every field of `c`, in table order.
template <Registered S, class F>
constexpr void for_each_field(const S& c, F&& f) {
  for (const CounterField<S>& d : S::kFields) {
    f(d, c.*d.field);
  }
}

// `into` += `from`, field by field, by kind (a peak takes the larger).
template <Registered S>
constexpr void add(S& into, const S& from) noexcept {
  for (const CounterField<S>& d : S::kFields) {
    if (d.kind == CounterKind::kPeak) {
      into.*d.field = into.*d.field > from.*d.field ? into.*d.field : from.*d.field;
    } else {
      into.*d.field += from.*d.field;
    }
  }
}

}  // namespace tempo::telemetry
