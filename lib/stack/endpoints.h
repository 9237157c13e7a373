// A tuple's two ends as the public API's Endpoints (tempo/stack.h): local(Conn), remote(Conn)
// and the telemetry listing of TIME_WAIT entries (stack/telemetry.cc).
#pragma once

#include <cstdint>

#include <tempo/stack.h>

#include "flow/tuple.h"

namespace tempo::stack {

inline Endpoint endpoint(bool v6, uint32_t ip4_host, const std::array<uint8_t, 16>& ip6,
                         uint16_t port) {
  Endpoint e;
  e.v6 = v6;
  e.port = port;
  if (v6) {
    e.ip6.bytes = ip6;
  } else {
    e.ip4.bytes = {static_cast<uint8_t>(ip4_host >> 24), static_cast<uint8_t>(ip4_host >> 16),
                   static_cast<uint8_t>(ip4_host >> 8), static_cast<uint8_t>(ip4_host)};
  }
  return e;
}

inline Endpoint local_endpoint(const flow::Tuple& t) {
  return endpoint(t.v6, t.t4.local, t.t6.local, t.local_port());
}
inline Endpoint remote_endpoint(const flow::Tuple& t) {
  return endpoint(t.v6, t.t4.remote, t.t6.remote, t.remote_port());
}

}  // namespace tempo::stack
