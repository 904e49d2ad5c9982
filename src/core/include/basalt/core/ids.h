#pragma once
/// Random identifiers: request ids, response ids, keys. Uses a per-thread generator seeded
/// from the OS; `secureRandomBytes` reads the OS CSPRNG and is the only source for secrets.

#include <cstddef>
#include <string>
#include <string_view>

namespace basalt {

/// `prefix` followed by `n` random characters from [A-Za-z0-9] (not for secrets).
std::string randomId(std::string_view prefix, std::size_t n = 24);

/// A 32-hex-digit request id.
std::string newRequestId();

/// `n` bytes from the OS CSPRNG (getrandom). For secrets.
std::string secureRandomBytes(std::size_t n);

std::string hexEncode(std::string_view bytes);

}  // namespace basalt
