// The attacker has write access to the database file (raw SQL) but not to the signing key.
// Each kind of tampering must make verification fail at the right seq.

#include "audit/audit_fixture.h"
#include "basalt/audit/chain.h"
#include "basalt/storage/audit_log.h"
#include "basalt/storage/sqlite_audit_sink.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>

namespace basalt::storage {
namespace {

using basalt::testing::rawExec;
using basalt::testing::rawText;
using basalt::testing::sampleEvent;

class TamperTest : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kRecords = 20;

  void SetUp() override {
    auto key = audit::SigningKey::loadOrCreate(dir_.file("audit-ed25519.pem"));
    ASSERT_TRUE(key.has_value());
    AuditSinkOptions options;
    options.db_path = db();
    options.seal_every_records = 8;  // seals at 8 and 16, and at 20 on close
    auto sink = SqliteAuditSink::open(options, std::move(*key));
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    for (std::uint64_t i = 1; i <= kRecords; ++i) {
      // One at a time, so the seal-every-8 boundaries are exact.
      auto r =
          audit::appendAndWait(**sink, sampleEvent(i % 3 ? "alice" : "bob", static_cast<int>(i)))
              .get();
      ASSERT_TRUE(r.has_value());
    }
    (*sink)->close();
    ASSERT_EQ(rawText(db(), "SELECT group_concat(seq) FROM audit_seals"), "8,16,20");
    const audit::VerifyResult r = verify();
    ASSERT_TRUE(r.ok) << r.reason;
  }

  std::string db() const { return dir_.file("basalt.db"); }

  audit::VerifyResult verify() {
    auto key = audit::PublicKey::fromFile(dir_.file("audit-ed25519.pem"));
    EXPECT_TRUE(key.has_value());
    auto log = AuditLog::open(db());
    EXPECT_TRUE(log.has_value());
    auto r = (*log)->verify(*key);
    EXPECT_TRUE(r.has_value());
    return *r;
  }

  void expectFailure(audit::Defect defect, std::uint64_t seq) {
    const audit::VerifyResult r = verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(audit::defectName(r.defect), audit::defectName(defect)) << r.reason;
    EXPECT_EQ(r.bad_seq, seq) << r.reason;
    EXPECT_FALSE(r.reason.empty());
  }

  basalt::testing::TempDir dir_;
};

TEST_F(TamperTest, AlteredRecord) {
  rawExec(db(),
          "UPDATE audit SET record = replace(record, '\"alice\"', '\"carol\"') WHERE seq = 5");
  expectFailure(audit::Defect::kAltered, 5);
}

TEST_F(TamperTest, AlteredStoredHash) {
  // Rotate the first hex digit of the stored hash.
  rawExec(db(),
          "UPDATE audit SET hash = substr('0123456789abcdef', "
          "1 + instr('0123456789abcdef', substr(hash, 1, 1)) % 16, 1) || substr(hash, 2) "
          "WHERE seq = 11");
  expectFailure(audit::Defect::kAltered, 11);
}

TEST_F(TamperTest, AlteredAndRehashedRecord) {
  const std::string prev = rawText(db(), "SELECT prev_hash FROM audit WHERE seq = 5");
  std::string record = rawText(db(), "SELECT record FROM audit WHERE seq = 5");
  record.replace(record.find("\"alice\""), 7, "\"carol\"");
  rawExec(db(), "UPDATE audit SET record = '" + record + "', hash = '" +
                    audit::chainHash(prev, record) + "' WHERE seq = 5");
  expectFailure(audit::Defect::kAltered, 5);
}

TEST_F(TamperTest, DeletedRecord) {
  rawExec(db(), "DELETE FROM audit WHERE seq = 7");
  expectFailure(audit::Defect::kRemoved, 7);
}

TEST_F(TamperTest, DeletedRecordWithTheRestRenumbered) {
  rawExec(db(),
          "DELETE FROM audit WHERE seq = 7;"
          "UPDATE audit SET seq = -(seq - 1) WHERE seq > 7;"
          "UPDATE audit SET seq = -seq WHERE seq < 0;");
  expectFailure(audit::Defect::kRemoved, 7);
}

TEST_F(TamperTest, DeletedTailAfterTheLastSeal) {
  rawExec(db(), "DELETE FROM audit WHERE seq >= 19");
  expectFailure(audit::Defect::kRemoved, 19);
}

TEST_F(TamperTest, SwappedRecords) {
  rawExec(db(),
          "UPDATE audit SET seq = -1 WHERE seq = 4;"
          "UPDATE audit SET seq = 4 WHERE seq = 9;"
          "UPDATE audit SET seq = 9 WHERE seq = -1;");
  expectFailure(audit::Defect::kReordered, 4);
}

TEST_F(TamperTest, InsertedForgedRecord) {
  // A well-formed record with a correct hash, linked to seq 12, and everything after it
  // renumbered: only the seqs written into the later records give it away.
  const std::string prev = rawText(db(), "SELECT hash FROM audit WHERE seq = 12");
  const std::string forged = audit::canonicalRecord(sampleEvent("mallory", 99), 13);
  rawExec(db(),
          "UPDATE audit SET seq = -(seq + 1) WHERE seq > 12;"
          "UPDATE audit SET seq = -seq WHERE seq < 0;"
          "INSERT INTO audit (seq, record, hash, prev_hash, principal, event_time) VALUES (13, '" +
              forged + "', '" + audit::chainHash(prev, forged) + "', '" + prev +
              "', 'mallory', 0);");
  expectFailure(audit::Defect::kInserted, 13);
}

TEST_F(TamperTest, TamperedSealSignature) {
  rawExec(db(), "UPDATE audit_seals SET signature = randomblob(64) WHERE seq = 16");
  expectFailure(audit::Defect::kBadSeal, 16);
}

TEST_F(TamperTest, DeletedSeal) {
  rawExec(db(), "DELETE FROM audit_seals WHERE seq = 8");
  expectFailure(audit::Defect::kBadSeal, 8);
}

TEST_F(TamperTest, ForgedSealOverARewrittenChain) {
  // Rewrite seq 10 and re-hash everything after it; the seals at 16 and 20 still pin the old
  // hashes, so the first one after the rewrite fails.
  rawExec(db(), "UPDATE audit SET record = replace(record, '\"bob\"', '\"eve\"') WHERE seq >= 10");
  std::string prev = rawText(db(), "SELECT hash FROM audit WHERE seq = 9");
  for (int seq = 10; seq <= 20; ++seq) {
    const std::string rec =
        rawText(db(), "SELECT record FROM audit WHERE seq = " + std::to_string(seq));
    const std::string hash = audit::chainHash(prev, rec);
    rawExec(db(), "UPDATE audit SET prev_hash = '" + prev + "', hash = '" + hash +
                      "' WHERE seq = " + std::to_string(seq));
    prev = hash;
  }
  expectFailure(audit::Defect::kAltered, 16);
}

TEST_F(TamperTest, VerifyingWithAnotherKeyFails) {
  auto other = audit::SigningKey::generate();
  ASSERT_TRUE(other.has_value());
  auto log = AuditLog::open(db());
  ASSERT_TRUE(log.has_value());
  auto r = (*log)->verify(other->publicKey());
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->defect, audit::Defect::kBadSeal);
  EXPECT_EQ(r->bad_seq, 8U);
}

}  // namespace
}  // namespace basalt::storage
