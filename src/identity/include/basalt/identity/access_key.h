#pragma once
/// SigV4 access keys issued by `basalt key create --sigv4`, shaped like AWS's so SDKs and
/// secret scanners treat them as such.
///  - access key id: "AKIA" + 16 characters of [A-Z2-7] (80 random bits);
///  - secret access key: 40 characters of [A-Za-z0-9+/] (240 random bits), from the OS CSPRNG.
/// The secret is stored as is: SigV4 verification needs it (docs/adr/0006-credentials.md).

#include <string>
#include <string_view>

namespace basalt::identity {

inline constexpr std::string_view kAccessKeyIdPrefix = "AKIA";
inline constexpr std::size_t kAccessKeyIdLength = 20;
inline constexpr std::size_t kSecretAccessKeyLength = 40;

struct GeneratedAccessKey {
  std::string access_key_id;
  std::string secret_access_key;  ///< shown once
};

GeneratedAccessKey generateAccessKey();

/// True when `id` has the shape of an access key id made by `generateAccessKey`.
bool isAccessKeyId(std::string_view id);

}  // namespace basalt::identity
