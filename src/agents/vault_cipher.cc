#include "basalt/agents/vault_cipher.h"

#include "basalt/core/ids.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace basalt::agents {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Error cryptoError(std::string what) {
  return Error::internal("vault cipher: " + std::move(what));
}

Result<std::string> readKey(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cryptoError("cannot read " + path + ": " + std::strerror(errno));
  std::string key(kKeySize + 1, '\0');
  const ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeySize)) {
    return cryptoError(path + " must hold exactly 32 bytes");
  }
  key.resize(kKeySize);
  return key;
}

}  // namespace

Result<VaultCipher> VaultCipher::load(const std::string& key_path) {
  // O_EXCL: two processes starting at once agree on one key (the loser reads the winner's).
  const int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string key = secureRandomBytes(kKeySize);
    const bool ok =
        ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(key_path.c_str());
      return cryptoError("cannot write " + key_path);
    }
    return VaultCipher(key);
  }
  if (errno != EEXIST) {
    return cryptoError("cannot create " + key_path + ": " + std::strerror(errno));
  }
  Result<std::string> key = readKey(key_path);
  if (!key) return key.error();
  return VaultCipher(std::move(*key));
}

Result<VaultCipher> VaultCipher::fromKey(std::string key) {
  if (key.size() != kKeySize) return cryptoError("the key must be 32 bytes");
  return VaultCipher(std::move(key));
}

Result<std::string> VaultCipher::seal(std::string_view plaintext,
                                      std::string_view associated) const {
  const std::string nonce = secureRandomBytes(kNonceSize);
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return cryptoError("out of memory");
  int len = 0;
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  std::memcpy(out.data(), nonce.data(), kNonceSize);
  auto* cipher_out = reinterpret_cast<unsigned char*>(out.data() + kNonceSize);
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher_out, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return cryptoError("encrypt failed");
  }
  int tail = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), cipher_out + len, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          out.data() + kNonceSize + plaintext.size()) != 1) {
    return cryptoError("encrypt failed");
  }
  return out;
}

Result<std::string> VaultCipher::open(std::string_view sealed, std::string_view associated) const {
  if (sealed.size() < kNonceSize + kTagSize) return cryptoError("sealed value too short");
  const std::string_view nonce = sealed.substr(0, kNonceSize);
  const std::string_view body = sealed.substr(kNonceSize, sealed.size() - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return cryptoError("out of memory");
  std::string out(body.size(), '\0');
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, bytes(body),
                        static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1) {
    return cryptoError("decrypt failed");
  }
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &tail) !=
      1) {
    return cryptoError("a sealed secret failed authentication (altered, or another key)");
  }
  return out;
}

}  // namespace basalt::agents
