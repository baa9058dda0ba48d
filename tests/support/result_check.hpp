#pragma once
// Unwrapping Result<T> in Catch2 tests: the value, or a failed test naming the error.
#include <catch2/catch.hpp>
#include <utility>

#include "core/result.hpp"

namespace oneapi::test {

template <class T>
T ok(Result<T> r) {
  if (!r) FAIL("unexpected error: " << r.error().message);
  return std::move(*r);
}

inline void ok(Result<void> r) {
  if (!r) FAIL("unexpected error: " << r.error().message);
}

template <class T>
Error err(Result<T> r) {
  if (r) FAIL("expected an error");
  return r.error();
}

}  // namespace oneapi::test
