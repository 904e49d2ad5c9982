#include "basalt/core/ids.h"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>

namespace basalt {
namespace {

std::mt19937_64& generator() {
  thread_local std::mt19937_64 gen = [] {
    std::uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = std::random_device{}();
    return std::mt19937_64(seed);
  }();
  return gen;
}

}  // namespace

std::string randomId(std::string_view prefix, std::size_t n) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(prefix);
  out.reserve(prefix.size() + n);
  auto& gen = generator();
  std::uint64_t bits = 0;
  int left = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (left == 0) {
      bits = gen();
      left = 10;  // 10 x 6 bits from 64
    }
    out.push_back(kAlphabet[(bits & 63U) % kAlphabet.size()]);
    bits >>= 6U;
    --left;
  }
  return out;
}

std::string newRequestId() {
  auto& gen = generator();
  const std::uint64_t a = gen();
  const std::uint64_t b = gen();
  std::string raw(16, '\0');
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<char>((a >> (8 * i)) & 0xFFU);
    raw[8 + i] = static_cast<char>((b >> (8 * i)) & 0xFFU);
  }
  return hexEncode(raw);
}

std::string secureRandomBytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r <= 0) throw std::runtime_error("getrandom failed");
    got += static_cast<std::size_t>(r);
  }
  return out;
}

std::string hexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4U]);
    out.push_back(kHex[c & 15U]);
  }
  return out;
}

}  // namespace basalt
