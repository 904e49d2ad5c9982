#pragma once
/// Seals vault credential secrets at rest: AES-256-GCM under a 32-byte key kept in a file
/// (DATA/agents-vault.key, created 0600 with random bytes on first use). Each sealed value is
/// nonce(12) || ciphertext || tag(16); the associated data binds it to its row (the credential
/// id), so a ciphertext copied to another row does not open.

#include "basalt/core/error.h"

#include <string>
#include <string_view>

namespace basalt::agents {

class VaultCipher {
 public:
  /// Reads the key at `key_path`, creating it (0600, 32 CSPRNG bytes) when missing. A key file
  /// of the wrong size is an error, never silently replaced.
  static Result<VaultCipher> load(const std::string& key_path);
  /// A cipher over a given 32-byte key (tests).
  static Result<VaultCipher> fromKey(std::string key);

  Result<std::string> seal(std::string_view plaintext, std::string_view associated) const;
  /// Fails (kInternal) when the value was altered, sealed under another key or for another row.
  Result<std::string> open(std::string_view sealed, std::string_view associated) const;

 private:
  explicit VaultCipher(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace basalt::agents
