#include "basalt/audit/chain.h"

#include "audit/audit_fixture.h"

#include <gtest/gtest.h>

namespace basalt::audit {
namespace {

struct Row {
  std::uint64_t seq;
  std::string record;
  std::string prev_hash;
  std::string hash;
};

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = SigningKey::generate();
    ASSERT_TRUE(k.has_value());
    key_.emplace(std::move(*k));
    std::string prev(kGenesisHash);
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
      std::string rec =
          canonicalRecord(basalt::testing::sampleEvent("alice", static_cast<int>(seq)), seq);
      std::string hash = chainHash(prev, rec);
      rows_.push_back({seq, rec, prev, hash});
      prev = hash;
    }
    seals_.push_back(seal(4, rows_[3].hash, 0));
    seals_.push_back(seal(8, rows_[7].hash, 4));
  }

  StoredSeal seal(std::uint64_t seq, const std::string& hash, std::uint64_t prev) {
    return StoredSeal{
        seq, hash, key_->publicKey().fingerprint(), *key_->sign(sealMessage(seq, hash, prev)),
        0,   prev};
  }

  VerifyResult verify() const { return verifyWith(key_->publicKey()); }

  VerifyResult verifyWith(const PublicKey& key) const {
    ChainVerifier v(key, seals_);
    for (const Row& r : rows_) {
      if (!v.add({r.seq, r.record, r.prev_hash, r.hash})) break;
    }
    return v.finish();
  }

  std::optional<SigningKey> key_;
  std::vector<Row> rows_;
  std::vector<StoredSeal> seals_;
};

TEST(ChainHash, IsSha256OfPrevThenRecord) {
  // sha256("abc") with an empty prev: the FIPS 180-2 test vector.
  EXPECT_EQ(chainHash("", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(chainHash("a", "bc"), chainHash("", "abc"));
  EXPECT_EQ(sealMessage(12, "ff", 3), "basalt-audit-seal-v1\n12\nff\n3");
}

TEST(RecordSeq, ReadsTheSeqMember) {
  EXPECT_EQ(recordSeq(R"({"a":1,"seq":42})"), 42U);
  EXPECT_FALSE(recordSeq(R"({"seq":-1})").has_value());
  EXPECT_FALSE(recordSeq(R"({"seq":"1"})").has_value());
  EXPECT_FALSE(recordSeq("[1]").has_value());
  EXPECT_FALSE(recordSeq("{").has_value());
}

TEST_F(ChainTest, IntactChainVerifies) {
  const VerifyResult r = verify();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records, 10U);
  EXPECT_EQ(r.seals, 2U);
  EXPECT_EQ(r.head_seq, 10U);
  EXPECT_EQ(r.last_sealed_seq, 8U);
}

TEST_F(ChainTest, ResultAsJson) {
  EXPECT_EQ(verifyResultJson(verify()),
            R"({"ok":true,"records":10,"seals":2,"head_seq":10,"last_sealed_seq":8})");
  rows_.erase(rows_.begin() + 4);
  EXPECT_EQ(verifyResultJson(verify()),
            R"({"ok":false,"bad_seq":5,"defect":"removed",)"
            R"j("reason":"seq 5 is missing (next record is 6)",)j"
            R"("records":4,"seals":1,"head_seq":4,"last_sealed_seq":4})");
}

TEST_F(ChainTest, EmptyChainVerifies) {
  rows_.clear();
  seals_.clear();
  EXPECT_TRUE(verify().ok);
}

TEST_F(ChainTest, AlteredRecord) {
  rows_[5].record.replace(rows_[5].record.find("alice"), 5, "mallo");
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kAltered);
  EXPECT_EQ(r.bad_seq, 6U);
}

TEST_F(ChainTest, AlteredAndRehashedRecordBreaksTheNextLink) {
  rows_[5].record.replace(rows_[5].record.find("alice"), 5, "mallo");
  rows_[5].hash = chainHash(rows_[5].prev_hash, rows_[5].record);
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kAltered);
  EXPECT_EQ(r.bad_seq, 6U);
}

TEST_F(ChainTest, RewrittenTailIsCaughtByTheNextSeal) {
  rows_[5].record.replace(rows_[5].record.find("alice"), 5, "mallo");
  for (std::size_t i = 5; i < rows_.size(); ++i) {
    if (i > 5) rows_[i].prev_hash = rows_[i - 1].hash;
    rows_[i].hash = chainHash(rows_[i].prev_hash, rows_[i].record);
  }
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kAltered);
  EXPECT_EQ(r.bad_seq, 8U);  // the first seal after the rewrite
}

TEST_F(ChainTest, RemovedRecord) {
  rows_.erase(rows_.begin() + 4);
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kRemoved);
  EXPECT_EQ(r.bad_seq, 5U);
}

TEST_F(ChainTest, TruncatedSealedTail) {
  rows_.resize(7);
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kRemoved);
  EXPECT_EQ(r.bad_seq, 8U);
}

TEST_F(ChainTest, SwappedRecords) {
  std::swap(rows_[2].record, rows_[6].record);
  std::swap(rows_[2].hash, rows_[6].hash);
  std::swap(rows_[2].prev_hash, rows_[6].prev_hash);
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kReordered);
  EXPECT_EQ(r.bad_seq, 3U);
}

TEST_F(ChainTest, InsertedRecordWithAValidHash) {
  // The forger knows SHA-256 but not the signing key: it inserts a well-formed record after
  // seq 5 and renumbers the rest.
  std::string forged = canonicalRecord(basalt::testing::sampleEvent("mallory", 99), 6);
  Row row{6, forged, rows_[4].hash, chainHash(rows_[4].hash, forged)};
  for (std::size_t i = 5; i < rows_.size(); ++i) ++rows_[i].seq;
  rows_.insert(rows_.begin() + 5, row);
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kInserted);
  EXPECT_EQ(r.bad_seq, 6U);
}

TEST_F(ChainTest, TamperedSealSignature) {
  seals_[1].signature[0] = static_cast<char>(seals_[1].signature[0] ^ 0x40);
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kBadSeal);
  EXPECT_EQ(r.bad_seq, 8U);
}

TEST_F(ChainTest, SealFromAnotherKeyOrVerifiedWithAnotherKey) {
  auto other = SigningKey::generate();
  ASSERT_TRUE(other.has_value());
  const VerifyResult wrong_key = verifyWith(other->publicKey());
  EXPECT_FALSE(wrong_key.ok);
  EXPECT_EQ(wrong_key.defect, Defect::kBadSeal);
  EXPECT_EQ(wrong_key.bad_seq, 4U);

  // A forged seal made with another key but claiming this key's fingerprint.
  const std::string msg = sealMessage(4, rows_[3].hash, 0);
  seals_[0].signature = *other->sign(msg);
  const VerifyResult forged = verify();
  EXPECT_FALSE(forged.ok);
  EXPECT_EQ(forged.defect, Defect::kBadSeal);
  EXPECT_EQ(forged.bad_seq, 4U);
}

TEST_F(ChainTest, RemovedSeal) {
  seals_.erase(seals_.begin());
  const VerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, Defect::kBadSeal);
  EXPECT_EQ(r.bad_seq, 4U) << r.reason;
}

TEST_F(ChainTest, SealWithAForgedPrevSeqFailsItsSignature) {
  seals_[1].prev_seal_seq = 0;  // pretend it is the first seal, to hide a deleted one
  seals_.erase(seals_.begin());
  const VerifyResult r = verify();
  EXPECT_EQ(r.defect, Defect::kBadSeal);
  EXPECT_EQ(r.bad_seq, 8U);
}

TEST_F(ChainTest, FirstDefectWins) {
  rows_[8].record += " ";
  rows_.erase(rows_.begin() + 1);
  const VerifyResult r = verify();
  EXPECT_EQ(r.bad_seq, 2U);
  EXPECT_EQ(r.defect, Defect::kRemoved);
}

}  // namespace
}  // namespace basalt::audit
