#pragma once
/// The hash chain and its seals, independent of where records are stored.
///
/// Record n (seq n, gap-free from 1) stores `prev_hash` (the hash of record n-1, or
/// kGenesisHash for n = 1) and `hash = hex(SHA-256(prev_hash || record))`, where both hashes
/// are 64 lower-case hex characters and `record` is the canonical text (which contains `"seq":n`).
/// A seal is an Ed25519 signature over `sealMessage(seq, hash of record seq, previous seal's
/// seq)`; it pins the chain up to that record so that rewriting history requires the private
/// key, not just SHA-256, and links to the seal before it so a deleted seal is noticed. See
/// docs/adr/0007-audit-chain.md.

#include "basalt/audit/signing_key.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::audit {

/// prev_hash of record 1.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// hex(SHA-256(prev_hash || record)).
std::string chainHash(std::string_view prev_hash, std::string_view record);

/// The bytes a seal signs: "basalt-audit-seal-v1\n<seq>\n<head hash>\n<prev seal seq>"
/// (prev seal seq 0 for the first seal).
std::string sealMessage(std::uint64_t seq, std::string_view head_hash, std::uint64_t prev_seal_seq);

/// A record as stored (views valid for the duration of ChainVerifier::add).
struct StoredRecord {
  std::uint64_t seq = 0;
  std::string_view record;
  std::string_view prev_hash;
  std::string_view hash;
};

/// A seal as stored.
struct StoredSeal {
  std::uint64_t seq = 0;        ///< the sealed head record
  std::string head_hash;        ///< hash of record `seq`
  std::string key_fingerprint;  ///< PublicKey::fingerprint of the signer
  std::string signature;        ///< 64 raw bytes
  std::int64_t sealed_at_ms = 0;
  std::uint64_t prev_seal_seq = 0;  ///< seq of the seal before this one, 0 for the first
};

/// Why verification stopped.
enum class Defect : std::uint8_t {
  kNone,
  kAltered,    ///< a record's bytes (or its stored hash) no longer hash to its hash
  kRemoved,    ///< a sequence number is missing, or a sealed record is gone
  kReordered,  ///< a record sits at another position than the one it was written at
  kInserted,   ///< a record that was never written by the chain sits in it
  kBadSeal,    ///< a seal's signature is invalid, from another key, or not over this chain
};

std::string_view defectName(Defect d);

struct VerifyResult {
  bool ok = false;
  Defect defect = Defect::kNone;
  std::uint64_t bad_seq = 0;          ///< the first bad record's seq (0 when ok)
  std::string reason;                 ///< one line for humans
  std::uint64_t records = 0;          ///< records checked
  std::uint64_t seals = 0;            ///< seals checked
  std::uint64_t head_seq = 0;         ///< last record seen
  std::uint64_t last_sealed_seq = 0;  ///< records after this one are covered by the chain only
};

/// One JSON object (one line) for `basalt audit verify`: ok, bad_seq, defect, reason, records,
/// seals, head_seq, last_sealed_seq (bad_seq, defect and reason only when not ok).
std::string verifyResultJson(const VerifyResult& r);

/// Walks a chain record by record in seq order (streaming: memory independent of its length).
/// Checks, per record: seq continuity, the hash over prev_hash and record, that the record was
/// written at this seq, the link to the previous record, and every seal at this seq (signature
/// with `key`, head hash). `finish` then checks that no seal points past the end. The first
/// defect wins; later calls are ignored.
class ChainVerifier {
 public:
  /// `seals` in any order.
  ChainVerifier(const PublicKey& key, std::vector<StoredSeal> seals);

  /// False once a defect was found (stop feeding).
  bool add(const StoredRecord& r);
  VerifyResult finish();

 private:
  bool fail(Defect d, std::uint64_t seq, std::string reason);
  bool checkSeal(const StoredSeal& seal, const StoredRecord& r);

  const PublicKey& key_;
  std::vector<StoredSeal> seals_;  // sorted by seq
  std::size_t next_seal_ = 0;
  std::uint64_t last_seal_seq_ = 0;  // the last seal verified
  std::uint64_t expected_seq_ = 1;
  std::string prev_hash_;
  VerifyResult result_;
  bool failed_ = false;
};

/// The seq a canonical record says it was written at (its `"seq"` member); nullopt when the
/// text is not a JSON object with an unsigned integer `seq`.
std::optional<std::uint64_t> recordSeq(std::string_view record);

}  // namespace basalt::audit
