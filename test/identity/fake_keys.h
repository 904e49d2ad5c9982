#pragma once
// An in-memory AccessKeyLookup for tests.

#include "basalt/identity/sigv4_verifier.h"

#include <map>
#include <string>

namespace basalt::identity::testing {

inline constexpr char kExampleAccessKeyId[] = "AKIDEXAMPLE";
inline constexpr char kExampleSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

class FakeKeys : public AccessKeyLookup {
 public:
  FakeKeys() { add(kExampleAccessKeyId, kExampleSecret, "principal-example"); }

  AccessKeyRecord& add(std::string id, std::string secret, std::string principal) {
    AccessKeyRecord& r = records_[id];
    r.access_key_id = std::move(id);
    r.secret_access_key = std::move(secret);
    r.principal_id = std::move(principal);
    return r;
  }
  AccessKeyRecord& at(const std::string& id) { return records_.at(id); }

  std::optional<AccessKeyRecord> find(std::string_view access_key_id) const override {
    ++lookups;
    auto it = records_.find(std::string(access_key_id));
    if (it == records_.end()) return std::nullopt;
    return it->second;
  }

  mutable int lookups = 0;

 private:
  std::map<std::string, AccessKeyRecord> records_;
};

}  // namespace basalt::identity::testing
