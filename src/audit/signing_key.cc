#include "basalt/audit/signing_key.h"

#include "basalt/core/ids.h"
#include "basalt/core/log.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace basalt::audit {

namespace detail {
void PkeyDeleter::operator()(void* pkey) const {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey));
}
}  // namespace detail

namespace {

EVP_PKEY* raw(const detail::PkeyPtr& p) {
  return static_cast<EVP_PKEY*>(p.get());
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Leaves errno as open(2) set it when the file cannot be opened.
Result<std::string> readFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    Error e = Error::internal("cannot read " + path + ": " + std::strerror(err));
    errno = err;
    return e;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (1U << 20U)) break;  // no key file is this large
  }
  ::close(fd);
  return out;
}

std::string publicPemOf(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) return {};
  return bioContents(bio.get());
}

Result<detail::PkeyPtr> publicHalf(EVP_PKEY* pkey) {
  // Round-trip through the SubjectPublicKeyInfo PEM: the result holds no private material.
  const std::string pem = publicPemOf(pkey);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pub = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (pub == nullptr) return Error::internal("cannot derive the audit public key");
  return detail::PkeyPtr(pub);
}

}  // namespace

PublicKey::PublicKey(detail::PkeyPtr pkey) : pkey_(std::move(pkey)) {
  unsigned char key[32];
  std::size_t len = sizeof key;
  if (EVP_PKEY_get_raw_public_key(raw(pkey_), key, &len) == 1) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(key, len, digest);
    fingerprint_ = hexEncode(std::string_view(reinterpret_cast<const char*>(digest), 16));
  }
}

Result<PublicKey> PublicKey::fromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error::internal("out of memory");
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    BioPtr again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* priv = PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr);
    if (priv == nullptr) return Error::invalid("not a PEM public or private key");
    detail::PkeyPtr owned(priv);
    if (EVP_PKEY_get_id(priv) != EVP_PKEY_ED25519) {
      return Error::invalid("the audit key must be Ed25519");
    }
    auto pub = publicHalf(priv);
    if (!pub) return pub.error();
    return PublicKey(std::move(*pub));
  }
  detail::PkeyPtr owned(key);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return Error::invalid("the audit key must be Ed25519");
  }
  return PublicKey(std::move(owned));
}

Result<PublicKey> PublicKey::fromFile(const std::string& path) {
  auto pem = readFile(path);
  if (!pem) return pem.error();
  auto key = fromPem(*pem);
  if (!key) return Error::invalid(path + ": " + key.error().message);
  return key;
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, raw(pkey_)) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string PublicKey::pem() const {
  return publicPemOf(raw(pkey_));
}

SigningKey::SigningKey(detail::PkeyPtr pkey, PublicKey pub)
    : pkey_(std::move(pkey)), public_key_(std::move(pub)) {}

Result<SigningKey> SigningKey::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return Error::internal("Ed25519 key generation failed");
  detail::PkeyPtr owned(key);
  auto pub = publicHalf(key);
  if (!pub) return pub.error();
  return SigningKey(std::move(owned), PublicKey(std::move(*pub)));
}

Result<SigningKey> SigningKey::loadOrCreate(const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto pem = readFile(path);
    if (pem) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077U) != 0) {
        log::warn("{} is readable by group or others; it should be mode 0600", path);
      }
      BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
      if (key == nullptr) return Error::internal(path + ": not a PEM private key");
      detail::PkeyPtr owned(key);
      if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        return Error::internal(path + ": the audit key must be Ed25519");
      }
      auto pub = publicHalf(key);
      if (!pub) return pub.error();
      return SigningKey(std::move(owned), PublicKey(std::move(*pub)));
    }
    if (errno != ENOENT) return pem.error();

    // Write the new key to a private temporary file, then link it into place: link() fails if
    // another process got there first, and then we load theirs.
    auto fresh = generate();
    if (!fresh) return fresh.error();
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), raw(fresh->pkey_), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
      return Error::internal("cannot encode the audit key");
    }
    std::string text = bioContents(bio.get());
    const std::string tmp = path + ".tmp-" + randomId("", 12);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error::internal("cannot create " + tmp + ": " + std::strerror(errno));
    const bool written =
        ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    std::fill(text.begin(), text.end(), '\0');
    if (!written) {
      ::unlink(tmp.c_str());
      return Error::internal("cannot write " + tmp + ": " + std::strerror(errno));
    }
    const int linked = ::link(tmp.c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (linked == 0) return fresh;
    if (link_errno != EEXIST) {
      return Error::internal("cannot create " + path + ": " + std::strerror(link_errno));
    }
  }
  return Error::internal("cannot load or create " + path);
}

Result<std::string> SigningKey::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, raw(pkey_)) != 1) {
    return Error::internal("Ed25519 sign init failed");
  }
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != 64) {
    return Error::internal("Ed25519 sign failed");
  }
  return sig;
}

}  // namespace basalt::audit
