#include "basalt/identity/credential.h"

#include "text.h"

namespace basalt::identity {
namespace {

struct Found {
  const std::string* value = nullptr;
  int count = 0;
};

Found find(std::span<const Header> headers, std::string_view lower_name) {
  Found f;
  for (const Header& h : headers) {
    if (!text::equalsIgnoreCase(h.name, lower_name)) continue;
    if (f.value == nullptr) f.value = &h.value;
    ++f.count;
  }
  return f;
}

bool hasPresignParams(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return false;
  bool found = false;
  text::forEachQueryParam(target.substr(q + 1), [&](const std::string& name, std::string_view) {
    if (name == "X-Amz-Algorithm" || name == "X-Amz-Signature" || name == "X-Amz-Credential") {
      found = true;
    }
  });
  return found;
}

}  // namespace

Credential parseCredential(std::span<const Header> headers, std::string_view target) {
  const Found authorization = find(headers, "authorization");
  const Found x_api_key = find(headers, "x-api-key");
  const bool presigned = hasPresignParams(target);

  if (authorization.count > 1) return MalformedCredential{"more than one Authorization header"};
  if (x_api_key.count > 1) return MalformedCredential{"more than one x-api-key header"};

  std::string_view bearer;
  bool sigv4_header = false;
  if (authorization.value != nullptr) {
    const std::string_view value = text::trim(*authorization.value);
    const std::size_t space = value.find_first_of(" \t");
    const std::string_view scheme = value.substr(0, space);
    if (text::equalsIgnoreCase(scheme, "Bearer")) {
      bearer =
          space == std::string_view::npos ? std::string_view() : text::trim(value.substr(space));
      if (bearer.empty()) return MalformedCredential{"empty Bearer token"};
    } else if (scheme.starts_with("AWS4-")) {
      sigv4_header = true;
    } else {
      return MalformedCredential{"unsupported Authorization scheme"};
    }
  }
  std::string_view api_key;
  if (x_api_key.value != nullptr) {
    api_key = text::trim(*x_api_key.value);
    if (api_key.empty()) return MalformedCredential{"empty x-api-key header"};
  }

  const int mechanisms = (sigv4_header ? 1 : 0) + (presigned ? 1 : 0) +
                         ((!bearer.empty() || !api_key.empty()) ? 1 : 0);
  if (mechanisms > 1) return MalformedCredential{"more than one authentication mechanism"};
  if (sigv4_header) return Sigv4Credential{false};
  if (presigned) return Sigv4Credential{true};
  if (!bearer.empty() && !api_key.empty() && bearer != api_key) {
    return MalformedCredential{"Authorization and x-api-key carry different keys"};
  }
  if (!bearer.empty()) return ApiKeyCredential{bearer, ApiKeySource::kAuthorizationBearer};
  if (!api_key.empty()) return ApiKeyCredential{api_key, ApiKeySource::kXApiKey};
  return NoCredential{};
}

}  // namespace basalt::identity
