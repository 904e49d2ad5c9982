#include "crypto.h"

#include "basalt/core/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

namespace basalt::identity::crypto {
namespace {

// OpenSSL 3's one-shot helpers (EVP_Digest, HMAC, EVP_MAC) fetch the algorithm and set up
// contexts on every call, which costs microseconds per request (measured ~3x slower than
// below). Each thread keeps one pre-fetched SHA-256 and a reusable digest context, and HMAC is
// the RFC 2104 construction over it (checked against the RFC 4231 vectors in the tests).
class Sha256Context {
 public:
  Sha256Context() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Sha256Context() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256Context(const Sha256Context&) = delete;
  Sha256Context& operator=(const Sha256Context&) = delete;

  // On an OpenSSL failure (allocation) the digest is all zeros: that can only cause a
  // rejection, since callers compare it with digests of secrets.
  Digest hash(std::string_view a, std::string_view b = {}) {
    Digest out{};
    unsigned int len = 0;
    if (md_ == nullptr || ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, a.data(), a.size()) != 1 ||
        EVP_DigestUpdate(ctx_, b.data(), b.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1) {
      out.fill(0);
    }
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

Sha256Context& context() {
  thread_local Sha256Context ctx;
  return ctx;
}

std::string_view view(const Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

Digest sha256(std::string_view data) {
  return context().hash(data);
}

std::string sha256Hex(std::string_view data) {
  return toHex(sha256(data));
}

Digest hmacSha256(std::string_view key, std::string_view data) {
  constexpr std::size_t kBlock = 64;
  std::array<char, kBlock> k{};
  if (key.size() > kBlock) {
    const Digest hashed = sha256(key);
    std::copy(hashed.begin(), hashed.end(), k.begin());
  } else {
    std::copy(key.begin(), key.end(), k.begin());
  }
  std::array<char, kBlock> ipad{}, opad{};
  for (std::size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  const Digest inner = context().hash(std::string_view(ipad.data(), kBlock), data);
  const Digest out = context().hash(std::string_view(opad.data(), kBlock), view(inner));
  OPENSSL_cleanse(k.data(), k.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  return out;
}

namespace {

/// HMAC-SHA-256 under one key whose padded-key blocks are already absorbed: a MAC is then two
/// context copies, two updates and two finals (instead of two inits and four updates). One per
/// thread, for the last key used there: the API-key pepper, which never changes.
class HmacKeyCache {
 public:
  HmacKeyCache()
      : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
        inner_(EVP_MD_CTX_new()),
        outer_(EVP_MD_CTX_new()),
        work_(EVP_MD_CTX_new()) {}
  ~HmacKeyCache() {
    OPENSSL_cleanse(key_.data(), key_.size());
    EVP_MD_CTX_free(work_);
    EVP_MD_CTX_free(outer_);
    EVP_MD_CTX_free(inner_);
    EVP_MD_free(md_);
  }
  HmacKeyCache(const HmacKeyCache&) = delete;
  HmacKeyCache& operator=(const HmacKeyCache&) = delete;

  // As Sha256Context::hash: an OpenSSL failure gives all zeros, which only causes rejections.
  Digest mac(std::string_view key, std::string_view data) {
    Digest out{};
    if (!ready_ || key != key_) {
      ready_ = absorb(key);
      if (!ready_) return out;
    }
    unsigned int len = 0;
    Digest inner{};
    if (EVP_MD_CTX_copy_ex(work_, inner_) != 1 ||
        EVP_DigestUpdate(work_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(work_, inner.data(), &len) != 1 ||
        EVP_MD_CTX_copy_ex(work_, outer_) != 1 ||
        EVP_DigestUpdate(work_, inner.data(), inner.size()) != 1 ||
        EVP_DigestFinal_ex(work_, out.data(), &len) != 1) {
      out.fill(0);
    }
    return out;
  }

 private:
  bool absorb(std::string_view key) {
    constexpr std::size_t kBlock = 64;
    if (md_ == nullptr || inner_ == nullptr || outer_ == nullptr || work_ == nullptr) return false;
    std::array<unsigned char, kBlock> k{};
    if (key.size() > kBlock) {
      const Digest hashed = sha256(key);
      std::copy(hashed.begin(), hashed.end(), k.begin());
    } else {
      std::copy(key.begin(), key.end(), k.begin());
    }
    std::array<unsigned char, kBlock> ipad{}, opad{};
    for (std::size_t i = 0; i < kBlock; ++i) {
      ipad[i] = k[i] ^ 0x36U;
      opad[i] = k[i] ^ 0x5cU;
    }
    const bool ok = EVP_DigestInit_ex2(inner_, md_, nullptr) == 1 &&
                    EVP_DigestUpdate(inner_, ipad.data(), kBlock) == 1 &&
                    EVP_DigestInit_ex2(outer_, md_, nullptr) == 1 &&
                    EVP_DigestUpdate(outer_, opad.data(), kBlock) == 1;
    OPENSSL_cleanse(k.data(), k.size());
    OPENSSL_cleanse(ipad.data(), ipad.size());
    OPENSSL_cleanse(opad.data(), opad.size());
    OPENSSL_cleanse(key_.data(), key_.size());
    key_.assign(key);
    return ok;
  }

  EVP_MD* md_;
  EVP_MD_CTX* inner_;
  EVP_MD_CTX* outer_;
  EVP_MD_CTX* work_;
  std::string key_;
  bool ready_ = false;
};

}  // namespace

Digest hmacSha256Fixed(std::string_view key, std::string_view data) {
  thread_local HmacKeyCache cache;
  return cache.mac(key, data);
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
