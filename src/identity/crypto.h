#pragma once
// Private to basalt_identity: the few OpenSSL primitives the module needs, behind value types so
// no OpenSSL header leaks into the public API.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace basalt::identity::crypto {

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view data);
std::string sha256Hex(std::string_view data);
Digest hmacSha256(std::string_view key, std::string_view data);
/// The same MAC, faster for a key that rarely changes (the API-key pepper): each thread keeps
/// the key's absorbed pad blocks for the last key it saw. Not for per-request keys (SigV4).
Digest hmacSha256Fixed(std::string_view key, std::string_view data);
std::string toHex(const Digest& digest);

/// Parses exactly 64 hex digits (either case) into `out`; false on anything else.
bool fromHex(std::string_view hex, Digest& out);

/// True when the two digests are equal; runs in time independent of where they differ.
bool constantTimeEqual(const Digest& a, const Digest& b);

/// `n` characters drawn uniformly from `alphabet` (at most 256 symbols) using the OS CSPRNG
/// and rejection sampling, so every character carries log2(alphabet.size()) bits.
std::string randomString(std::string_view alphabet, std::size_t n);

/// Overwrites `s` with zeros (not optimised away) before it is released.
void cleanse(std::string& s);

}  // namespace basalt::identity::crypto
