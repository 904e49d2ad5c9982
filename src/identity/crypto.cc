#include "crypto.h"

#include "basalt/core/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace basalt::identity::crypto {

Digest sha256(std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure inside OpenSSL; the zero digest then simply
  // never matches anything.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string sha256Hex(std::string_view data) {
  return toHex(sha256(data));
}

Digest hmacSha256(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string toHex(const Digest& digest) {
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool fromHex(std::string_view hex, Digest& out) {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hexValue(hex[2 * i]);
    const int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

bool constantTimeEqual(const Digest& a, const Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomString(std::string_view alphabet, std::size_t n) {
  // Accept a byte only below the largest multiple of the alphabet size, so `byte % size` is
  // uniform (no modulo bias).
  const std::size_t size = alphabet.size();
  const std::size_t limit = 256 - (256 % size);
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    std::string pool = secureRandomBytes(n - out.size() + 16);
    for (unsigned char b : pool) {
      if (b >= limit) continue;
      out.push_back(alphabet[b % size]);
      if (out.size() == n) break;
    }
    cleanse(pool);
  }
  return out;
}

void cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace basalt::identity::crypto
