#include "basalt/identity/access_key.h"

#include "crypto.h"

#include <algorithm>

namespace basalt::identity {
namespace {

constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

GeneratedAccessKey generateAccessKey() {
  GeneratedAccessKey out;
  out.access_key_id =
      std::string(kAccessKeyIdPrefix) +
      crypto::randomString(kIdAlphabet, kAccessKeyIdLength - kAccessKeyIdPrefix.size());
  out.secret_access_key = crypto::randomString(kSecretAlphabet, kSecretAccessKeyLength);
  return out;
}

bool isAccessKeyId(std::string_view id) {
  if (id.size() != kAccessKeyIdLength || !id.starts_with(kAccessKeyIdPrefix)) return false;
  const std::string_view rest = id.substr(kAccessKeyIdPrefix.size());
  return std::all_of(rest.begin(), rest.end(),
                     [](char c) { return kIdAlphabet.find(c) != std::string_view::npos; });
}

}  // namespace basalt::identity
