#include "basalt/audit/chain.h"

#include "basalt/core/ids.h"

#include <openssl/sha.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace basalt::audit {

std::string chainHash(std::string_view prev_hash, std::string_view record) {
  SHA256_CTX ctx;
  // The one-shot context API is deprecated in OpenSSL 3 but is the fastest path for a
  // two-part message; EVP would fetch the algorithm on every call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, prev_hash.data(), prev_hash.size());
  SHA256_Update(&ctx, record.data(), record.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &ctx);
#pragma GCC diagnostic pop
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string sealMessage(std::uint64_t seq, std::string_view head_hash,
                        std::uint64_t prev_seal_seq) {
  std::string msg = "basalt-audit-seal-v1\n";
  msg += std::to_string(seq);
  msg += '\n';
  msg += head_hash;
  msg += '\n';
  msg += std::to_string(prev_seal_seq);
  return msg;
}

std::string_view defectName(Defect d) {
  switch (d) {
    case Defect::kNone:
      return "none";
    case Defect::kAltered:
      return "altered";
    case Defect::kRemoved:
      return "removed";
    case Defect::kReordered:
      return "reordered";
    case Defect::kInserted:
      return "inserted";
    case Defect::kBadSeal:
      return "bad seal";
  }
  return "unknown";
}

std::string verifyResultJson(const VerifyResult& r) {
  boost::json::object o;
  o["ok"] = r.ok;
  if (!r.ok) {
    o["bad_seq"] = r.bad_seq;
    o["defect"] = defectName(r.defect);
    o["reason"] = r.reason;
  }
  o["records"] = r.records;
  o["seals"] = r.seals;
  o["head_seq"] = r.head_seq;
  o["last_sealed_seq"] = r.last_sealed_seq;
  return boost::json::serialize(o);
}

std::optional<std::uint64_t> recordSeq(std::string_view record) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(record, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* seq = v.get_object().if_contains("seq");
  if (seq == nullptr) return std::nullopt;
  if (seq->is_uint64()) return seq->get_uint64();
  if (seq->is_int64() && seq->get_int64() >= 0) {
    return static_cast<std::uint64_t>(seq->get_int64());
  }
  return std::nullopt;
}

ChainVerifier::ChainVerifier(const PublicKey& key, std::vector<StoredSeal> seals)
    : key_(key), seals_(std::move(seals)), prev_hash_(kGenesisHash) {
  std::stable_sort(seals_.begin(), seals_.end(),
                   [](const StoredSeal& a, const StoredSeal& b) { return a.seq < b.seq; });
}

bool ChainVerifier::fail(Defect d, std::uint64_t seq, std::string reason) {
  failed_ = true;
  result_.ok = false;
  result_.defect = d;
  result_.bad_seq = seq;
  result_.reason = std::move(reason);
  return false;
}

bool ChainVerifier::add(const StoredRecord& r) {
  if (failed_) return false;
  const std::string at = "seq " + std::to_string(r.seq);

  // A seal on a seq that was skipped (the record is missing) is reported as the gap below.
  if (r.seq != expected_seq_) {
    if (r.seq < expected_seq_) {
      return fail(Defect::kReordered, r.seq, at + " appears out of order");
    }
    return fail(Defect::kRemoved, expected_seq_,
                "seq " + std::to_string(expected_seq_) + " is missing (next record is " +
                    std::to_string(r.seq) + ")");
  }
  if (chainHash(r.prev_hash, r.record) != r.hash) {
    return fail(Defect::kAltered, r.seq, at + ": the record does not match its hash");
  }
  const std::optional<std::uint64_t> written_at = recordSeq(r.record);
  if (!written_at) {
    return fail(Defect::kAltered, r.seq, at + ": the record has no valid seq member");
  }
  if (*written_at < r.seq) {
    // Everything from the forged record on was shifted up by one; the forged one is the
    // record now sitting where this one was written.
    return fail(Defect::kInserted, *written_at,
                "seq " + std::to_string(*written_at) + " was inserted: the record written as seq " +
                    std::to_string(*written_at) + " now sits at seq " + std::to_string(r.seq));
  }
  if (*written_at > r.seq) {
    return fail(Defect::kReordered, r.seq,
                at + " holds the record written as seq " + std::to_string(*written_at) +
                    " (records were reordered or removed and renumbered)");
  }
  if (r.prev_hash != prev_hash_) {
    // This record is intact and correctly numbered but does not follow its predecessor, so
    // the predecessor is not the record that was written there.
    return fail(Defect::kAltered, r.seq - 1,
                "seq " + std::to_string(r.seq - 1) +
                    " was altered or replaced (and re-hashed): seq " + std::to_string(r.seq) +
                    " does not link to it");
  }

  while (next_seal_ < seals_.size() && seals_[next_seal_].seq <= r.seq) {
    const StoredSeal& seal = seals_[next_seal_];
    if (seal.seq == r.seq && !checkSeal(seal, r)) return false;
    last_seal_seq_ = seal.seq;
    ++next_seal_;
    ++result_.seals;
    result_.last_sealed_seq = seal.seq;
  }

  prev_hash_.assign(r.hash);
  ++expected_seq_;
  ++result_.records;
  result_.head_seq = r.seq;
  return true;
}

bool ChainVerifier::checkSeal(const StoredSeal& seal, const StoredRecord& r) {
  const std::string at = "seal at seq " + std::to_string(seal.seq);
  if (!seal.key_fingerprint.empty() && seal.key_fingerprint != key_.fingerprint()) {
    return fail(Defect::kBadSeal, seal.seq,
                at + " was signed by another key (fingerprint " + seal.key_fingerprint + ")");
  }
  if (!key_.verify(sealMessage(seal.seq, seal.head_hash, seal.prev_seal_seq), seal.signature)) {
    return fail(Defect::kBadSeal, seal.seq, at + ": the signature is invalid");
  }
  // prev_seal_seq is signed, so it tells which seal really came before.
  if (seal.prev_seal_seq > last_seal_seq_) {
    return fail(Defect::kBadSeal, seal.prev_seal_seq,
                "the seal at seq " + std::to_string(seal.prev_seal_seq) + " was removed (" + at +
                    " follows it)");
  }
  if (seal.prev_seal_seq < last_seal_seq_) {
    return fail(Defect::kBadSeal, seal.seq,
                at + " does not follow the seal at seq " + std::to_string(last_seal_seq_));
  }
  if (seal.head_hash != r.hash) {
    return fail(Defect::kAltered, seal.seq,
                at + " signed another hash: the chain up to this record was rewritten");
  }
  return true;
}

VerifyResult ChainVerifier::finish() {
  if (failed_) return result_;
  if (next_seal_ < seals_.size()) {
    const StoredSeal& seal = seals_[next_seal_];
    fail(Defect::kRemoved, expected_seq_,
         "seq " + std::to_string(expected_seq_) + " is missing: the chain ends at seq " +
             std::to_string(expected_seq_ - 1) + " but seq " + std::to_string(seal.seq) +
             " was sealed");
    return result_;
  }
  result_.ok = true;
  return result_;
}

}  // namespace basalt::audit
