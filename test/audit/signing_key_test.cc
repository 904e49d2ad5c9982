#include "basalt/audit/signing_key.h"

#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace basalt::audit {
namespace {

using basalt::testing::TempDir;

TEST(SigningKey, CreatedOnceWithMode0600AndReloaded) {
  TempDir dir;
  const std::string path = dir.file("audit-ed25519.pem");
  auto a = SigningKey::loadOrCreate(path);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  auto b = SigningKey::loadOrCreate(path);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->publicKey().fingerprint(), b->publicKey().fingerprint());
  EXPECT_EQ(a->publicKey().fingerprint().size(), 32U);
  EXPECT_EQ(a->publicKey().pem(), b->publicKey().pem());

  auto sig = a->sign("hello");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(sig->size(), 64U);
  EXPECT_TRUE(b->publicKey().verify("hello", *sig));
}

TEST(SigningKey, SignaturesFailOnAnyChange) {
  auto key = SigningKey::generate();
  ASSERT_TRUE(key.has_value());
  auto sig = key->sign("seq 10");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(key->publicKey().verify("seq 10", *sig));
  EXPECT_FALSE(key->publicKey().verify("seq 11", *sig));
  std::string bad = *sig;
  bad[5] = static_cast<char>(bad[5] ^ 1);
  EXPECT_FALSE(key->publicKey().verify("seq 10", bad));
  EXPECT_FALSE(key->publicKey().verify("seq 10", sig->substr(0, 63)));
  auto other = SigningKey::generate();
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(other->publicKey().fingerprint(), key->publicKey().fingerprint());
  EXPECT_FALSE(other->publicKey().verify("seq 10", *sig));
}

TEST(PublicKey, FromPublicOrPrivatePem) {
  TempDir dir;
  const std::string path = dir.file("k.pem");
  auto key = SigningKey::loadOrCreate(path);
  ASSERT_TRUE(key.has_value());
  auto from_private = PublicKey::fromFile(path);
  ASSERT_TRUE(from_private.has_value()) << from_private.error().message;
  EXPECT_EQ(from_private->fingerprint(), key->publicKey().fingerprint());
  const std::string pub_pem = key->publicKey().pem();
  EXPECT_NE(pub_pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_EQ(pub_pem.find("PRIVATE"), std::string::npos);
  auto from_public = PublicKey::fromPem(pub_pem);
  ASSERT_TRUE(from_public.has_value());
  auto sig = key->sign("m");
  EXPECT_TRUE(from_public->verify("m", *sig));
}

TEST(PublicKey, RejectsGarbageAndOtherKeyTypes) {
  EXPECT_FALSE(PublicKey::fromPem("not a key").has_value());
  EXPECT_FALSE(PublicKey::fromFile("/nonexistent/key.pem").has_value());
  // An EC P-256 public key: PEM, but not Ed25519.
  const char* ec =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhZX8mKFOegY7Aq1TxCBkNGeV5Tmx\n"
      "EkmtUO1bakSVh9Ia76TJJqBr4dxv19zGZU8VOqdmqu34e44HP7esH0IO5w==\n"
      "-----END PUBLIC KEY-----\n";
  auto r = PublicKey::fromPem(ec);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("Ed25519"), std::string::npos) << r.error().message;
}

TEST(SigningKey, RefusesACorruptKeyFile) {
  TempDir dir;
  const std::string path = dir.file("k.pem");
  std::ofstream(path) << "garbage";
  EXPECT_FALSE(SigningKey::loadOrCreate(path).has_value());
}

}  // namespace
}  // namespace basalt::audit
