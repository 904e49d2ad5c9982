#pragma once
/// The Ed25519 key pair that seals the audit chain. The private key lives in the data
/// directory (`audit-ed25519.pem`, mode 0600, PKCS#8 PEM) and never leaves the process; the
/// public key is exported as SubjectPublicKeyInfo PEM for whoever verifies the chain.

#include "basalt/core/error.h"

#include <memory>
#include <string>
#include <string_view>

namespace basalt::audit {

namespace detail {
struct PkeyDeleter {
  void operator()(void* pkey) const;
};
using PkeyPtr = std::unique_ptr<void, PkeyDeleter>;  ///< an OpenSSL EVP_PKEY
}  // namespace detail

/// A public key that verifies seals.
class PublicKey {
 public:
  /// From a public key PEM ("BEGIN PUBLIC KEY") or a private key PEM (the public half is
  /// derived), so `basalt audit verify --data DIR` can use the key file directly. Only Ed25519.
  static Result<PublicKey> fromPem(std::string_view pem);
  /// Reads `path` and calls fromPem.
  static Result<PublicKey> fromFile(const std::string& path);

  /// True when `signature` (64 raw bytes) is this key's Ed25519 signature of `message`.
  bool verify(std::string_view message, std::string_view signature) const;
  /// First 16 bytes of SHA-256 over the raw 32-byte public key, hex: names the key in seals.
  const std::string& fingerprint() const { return fingerprint_; }
  std::string pem() const;

 private:
  friend class SigningKey;
  explicit PublicKey(detail::PkeyPtr pkey);
  detail::PkeyPtr pkey_;
  std::string fingerprint_;
};

/// The private signing key. Thread-compatible (sign from one thread at a time).
class SigningKey {
 public:
  /// Loads the PEM at `path`, or when it does not exist generates a new key and writes it
  /// there with mode 0600 (created exclusively, so two processes starting at once end up with
  /// the same key).
  static Result<SigningKey> loadOrCreate(const std::string& path);
  /// A fresh key that lives only in memory (tests, benchmarks).
  static Result<SigningKey> generate();

  /// 64-byte Ed25519 signature of `message`.
  Result<std::string> sign(std::string_view message) const;
  const PublicKey& publicKey() const { return public_key_; }

 private:
  SigningKey(detail::PkeyPtr pkey, PublicKey pub);
  detail::PkeyPtr pkey_;
  PublicKey public_key_;
};

}  // namespace basalt::audit
