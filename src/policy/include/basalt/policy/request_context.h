#pragma once
/// The facts an IAM evaluation looks at: the action, the resource ARN and the condition keys.

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::policy {

/// One request as the policy engine sees it. The caller (the pipeline, the admin API) fills it
/// once per request; evaluation only reads it and never allocates.
///
/// Condition keys are case-insensitive (`aws:SourceIp` == `AWS:SOURCEIP`, including the tag part
/// of `aws:PrincipalTag/Team`); values are case-sensitive strings whose interpretation depends on
/// the operator that reads them (numbers, ISO 8601 or epoch dates, "true"/"false", IP addresses,
/// ARNs). A key may carry several values (multi-valued keys such as `aws:TagKeys`); a key with
/// zero values counts as absent for single-valued operators.
class RequestContext {
 public:
  RequestContext() = default;
  RequestContext(std::string action, std::string resource)
      : action_(std::move(action)), resource_(std::move(resource)) {}

  /// `service:Action`, e.g. `bedrock:InvokeModel` (matched case-insensitively).
  void setAction(std::string action) { action_ = std::move(action); }
  std::string_view action() const { return action_; }

  /// The resource ARN, e.g. `arn:aws:bedrock:us-east-1::foundation-model/NAME` (case-sensitive).
  void setResource(std::string resource) { resource_ = std::move(resource); }
  std::string_view resource() const { return resource_; }

  /// Sets a single-valued key, replacing any previous values.
  void set(std::string_view key, std::string value);
  /// Appends one value to a (multi-valued) key.
  void add(std::string_view key, std::string value);
  /// Replaces all values of a multi-valued key; an empty vector keeps the key present but empty.
  void setValues(std::string_view key, std::vector<std::string> values);
  /// Removes the key; returns whether it was present.
  bool erase(std::string_view key);

  /// Sets `aws:CurrentTime` (ISO 8601, UTC, second precision) and `aws:EpochTime` from `now`.
  void setCurrentTime(std::chrono::system_clock::time_point now);

  /// The values of `key` (any case), or nullptr when the key is absent. The pointer stays valid
  /// until the context is next modified.
  const std::vector<std::string>* find(std::string_view key) const;
  /// As find(), for a key already in lower case (compiled policies store theirs that way).
  const std::vector<std::string>* findLowercase(std::string_view lower_key) const;

 private:
  struct Entry {
    std::string key;  ///< lower-cased
    std::vector<std::string> values;
  };
  std::vector<Entry>::iterator slot(std::string_view key);

  std::string action_;
  std::string resource_;
  std::vector<Entry> entries_;  ///< sorted by key: binary search without hashing or allocation
};

}  // namespace basalt::policy
