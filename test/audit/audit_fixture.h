#pragma once
// Shared helpers of the audit tests: sample events and raw SQL against a database file (how the
// tamper tests play the attacker).

#include "basalt/audit/audit_event.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <string>

namespace basalt::testing {

inline audit::AuditEvent sampleEvent(const std::string& user, int i) {
  audit::AuditEvent e;
  e.user_identity = {"user", "prn_" + user, user, "bsk-key-" + user};
  e.event_time = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1'795'000'000'000LL + static_cast<std::int64_t>(i) * 1000));
  e.event_name = "ChatCompletions";
  e.aws_region = "us-east-1";
  e.source_ip_address = "127.0.0.1";
  e.user_agent = "test/1.0";
  e.request_parameters.model_id = "gpt-5.5";
  e.request_parameters.stream = (i % 2) == 0;
  e.request_parameters.input_bytes = 100 + static_cast<std::uint64_t>(i);
  e.response_elements.status = 200;
  e.response_elements.stop_reason = "stop";
  e.response_elements.usage = audit::Usage{10, 20};
  e.request_id = "req-" + std::to_string(i);
  e.policy_decision = {"Allow", "invoke", 0, "AllowInvoke"};
  return e;
}

/// Runs `sql` on the database file with a separate connection (the attacker).
inline void rawExec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << message;
}

/// One text column of the first row of `sql`.
inline std::string rawText(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace basalt::testing
