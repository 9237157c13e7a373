#include "stack/connections.h"

#include <rte_lcore.h>

#include "stack/endpoints.h"
#include "wire/peek.h"

namespace tempo::stack {

Result<void, std::string> Connections::init(uint32_t max, const std::string& name, uint32_t seed) {
  const int socket = static_cast<int>(rte_socket_id());
  auto t4 = flow::ConnTable<flow::FlowKey4, Conn>::create("tempo_c4_" + name, max, seed, socket);
  if (!t4) {
    return fail(t4.error());
  }
  table4_.emplace(std::move(*t4));
  auto t6 = flow::ConnTable<flow::FlowKey6, Conn>::create("tempo_c6_" + name, max, seed, socket);
  if (!t6) {
    return fail(t6.error());
  }
  table6_.emplace(std::move(*t6));
  slots_ = std::vector<Conn>(max);
  for (uint32_t i = 0; i < max; ++i) {
    slots_[i].next_free = i + 1 < max ? i + 1 : UINT32_MAX;
  }
  free_head_ = max > 0 ? 0 : UINT32_MAX;
  return {};
}

Conn* Connections::take(const flow::Tuple& t) noexcept {
  if (full()) {
    return nullptr;
  }
  Conn& c = slots_[free_head_];
  const bool entered = t.v6 ? table6_->insert(flow::key_of(t.t6), &c).ok()
                            : table4_->insert(flow::key_of(t.t4), &c).ok();
  if (!entered) {
    return nullptr;  // the table holds every slot's key (flow/conn_table.h): not reached
  }
  inserts4_ += t.v6 ? 0 : 1;  // an IPv4 miss looked up before now may be stale
  c.flow.tuple = t;
  free_head_ = c.next_free;
  c.in_use = true;
  ++used_;
  return &c;
}

void Connections::release(Conn& c) noexcept {
  leave_backlog(c);
  if (c.orphan) {
    c.orphan = false;
    --orphans_;
  }
  if (c.v6()) {
    table6_->erase(flow::key_of(c.tuple().t6));
  } else {
    table4_->erase(flow::key_of(c.tuple().t4));
  }
  c.in_use = false;
  c.next_free = free_head_;
  free_head_ = slot_of(c);
  --used_;
}

void Connections::lookup_burst(rte_mbuf* const* rx, size_t n,
                               const timewait::TwTable<flow::Tuple4>& tw) noexcept {
  std::array<const flow::FlowKey4*, kBurst> keys;
  std::array<Conn*, kBurst> found;
  std::array<uint8_t, kBurst> at;  // burst position of each key
  uint32_t k = 0;
  for (size_t i = 0; i < n && i < kMaxBurst; ++i) {
    Hint& h = hints_[i];
    h.keyed = false;
    if (k == kBurst || slots_.empty()) {
      continue;
    }
    // Only what input_tcp keys the same way: TCP over IPv4 (no fragment), its ports in the
    // first segment (wire/peek.h). Anything else gets no hint.
    const rte_mbuf* m = rx[i];
    const auto p = wire::peek_tcp({rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)});
    if (m->nb_segs != 1 || !p || p->v6) {
      continue;
    }
    h.key = flow::key_of(p->t4);
    keys[k] = &h.key;
    at[k] = static_cast<uint8_t>(i);
    ++k;
  }
  if (k == 0) {
    return;
  }
  table4_->find_bulk(keys.data(), k, found.data());
  // The misses' TIME_WAIT entries, also in one pass (the table's own prefetching bulk path).
  std::array<flow::Tuple4, kBurst> tw_keys;
  std::array<uint8_t, kBurst> tw_at;
  uint32_t misses = 0;
  for (uint32_t j = 0; j < k; ++j) {
    Hint& h = hints_[at[j]];
    h.keyed = true;
    h.conn = found[j];
    h.inserts = inserts4_;
    if (found[j] == nullptr) {
      tw_keys[misses] = h.key;
      tw_at[misses++] = at[j];
    }
  }
  if (misses == 0) {
    return;
  }
  std::array<uint32_t, kBurst> tw_found;
  tw.find_bulk(std::span(tw_keys.data(), misses), std::span(tw_found.data(), misses));
  for (uint32_t j = 0; j < misses; ++j) {
    Hint& h = hints_[tw_at[j]];
    h.tw_idx = tw_found[j];
    h.tw_changes = tw.changes();
  }
}

Conn* Connections::find_hinted(const flow::Tuple4& t) noexcept {
  if (current_ != nullptr && current_->keyed && current_->key == t) {
    Conn* c = current_->conn;
    if (c != nullptr ? c->in_use && !c->v6() && c->tuple().t4 == t
                     : inserts4_ == current_->inserts) {
      ++burst_hits_;
      return c;
    }
  }
  return find(t);
}

std::optional<uint32_t> Connections::tw_hint(
    const flow::Tuple4& t, const timewait::TwTable<flow::Tuple4>& tw) const noexcept {
  if (current_ != nullptr && current_->keyed && current_->conn == nullptr && current_->key == t &&
      current_->tw_changes == tw.changes()) {
    return current_->tw_idx;
  }
  return std::nullopt;
}

bool Connections::is_local_address(const Endpoint& e, const flow::Tuple& t) noexcept {
  if (e.v6 != t.v6) {
    return false;
  }
  return t.v6 ? e.ip6.bytes == t.t6.local : local_endpoint(t).ip4.bytes == e.ip4.bytes;
}

Connections::Listener* Connections::find_listener(uint16_t port,
                                                  const std::optional<Endpoint>& local) noexcept {
  for (uint16_t i = listener_at_.empty() ? 0 : listener_at_[port]; i != 0;) {
    Listener& l = listeners_[i - 1U];
    const bool same = !local ? !l.how.local
                             : l.how.local && l.how.local->v6 == local->v6 &&
                                   (local->v6 ? l.how.local->ip6.bytes == local->ip6.bytes
                                              : l.how.local->ip4.bytes == local->ip4.bytes);
    if (same) {
      return &l;
    }
    i = l.next;
  }
  return nullptr;
}

bool Connections::listen(uint16_t port, const AppHandler* app, const ConnOptions& opts,
                         const ListenOptions& how) {
  if (Listener* l = find_listener(port, how.local); l != nullptr) {
    // A later listen() on the same port and address wins; its backlog count carries over.
    l->app = app;
    l->opts = opts;
    l->how = how;
    return true;
  }
  if (listeners_.size() >= UINT16_MAX) {
    return false;
  }
  if (listener_at_.empty()) {
    listener_at_.assign(size_t{UINT16_MAX} + 1, 0);
  }
  listeners_.push_back(Listener{.port = port,
                                .app = app,
                                .opts = opts,
                                .how = how,
                                .embryonic = 0,
                                .next = listener_at_[port],
                                .active = true});
  listener_at_[port] = static_cast<uint16_t>(listeners_.size());
  return true;
}

bool Connections::unlisten(uint16_t port, const std::optional<Endpoint>& local) noexcept {
  Listener* l = find_listener(port, local);
  if (l == nullptr) {
    return false;
  }
  const auto idx = static_cast<uint16_t>(l - listeners_.data() + 1);
  for (uint16_t* link = &listener_at_[port]; *link != 0; link = &listeners_[*link - 1U].next) {
    if (*link == idx) {
      *link = l->next;
      break;
    }
  }
  l->next = 0;
  l->active = false;  // the entry stays: its embryonic connections count against it
  return true;
}

}  // namespace tempo::stack
