// TEMPO_CHECK guards invariants of tempo's own state, never the bytes of a packet: a failure is
// a bug in tempo, so it prints where and aborts, in every build type.
#pragma once

#include <cstdio>
#include <cstdlib>

#define TEMPO_CHECK(cond)                                                                 \
  do {                                                                                    \
    if (__builtin_expect(!(cond), 0)) {                                                   \
      std::fprintf(stderr, "%s:%d: TEMPO_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
