#include "basalt/app/bootstrap.h"

#include "basalt/core/ids.h"
#include "basalt/core/log.h"
#include "basalt/identity/api_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace basalt::app {
namespace {

Result<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::internal("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Writes `content` to a new file readable by the owner only; fails if it exists.
Result<void> writeSecretFile(const std::filesystem::path& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error::internal("cannot create " + path.string());
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Error::internal("cannot write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return {};
}

}  // namespace

Result<Secrets> loadOrCreateSecrets(const std::string& data_dir,
                                    const std::optional<std::string>& admin_key_env) {
  namespace fs = std::filesystem;
  const fs::path dir(data_dir);
  const fs::path pepper_path = dir / "pepper";
  const fs::path digest_path = dir / "root-key.sha256";
  const fs::path admin_key_path = dir / "admin.key";

  Secrets secrets;
  std::error_code ec;
  if (!fs::exists(pepper_path, ec)) {
    secrets.pepper = identity::generatePepper();
    if (auto w = writeSecretFile(pepper_path, secrets.pepper); !w) return w.error();
  } else {
    Result<std::string> pepper = readFile(pepper_path);
    if (!pepper) return pepper.error();
    secrets.pepper = std::move(*pepper);
  }

  if (!fs::exists(digest_path, ec)) {
    std::string root_key;
    if (admin_key_env && !admin_key_env->empty()) {
      root_key = *admin_key_env;
    } else {
      root_key = identity::generateApiKey().api_key;
    }
    if (!fs::exists(admin_key_path, ec)) {
      if (auto w = writeSecretFile(admin_key_path, root_key + "\n"); !w) return w.error();
    }
    const identity::ApiKeyDigest digest = identity::hashApiKey(secrets.pepper, root_key);
    secrets.root_key_digest.assign(digest.begin(), digest.end());
    if (auto w = writeSecretFile(digest_path, secrets.root_key_digest); !w) return w.error();
    log::info("initialised data dir {}: root admin key in {}", data_dir, admin_key_path.string());
  } else {
    Result<std::string> digest = readFile(digest_path);
    if (!digest) return digest.error();
    secrets.root_key_digest = std::move(*digest);
    if (admin_key_env && !admin_key_env->empty()) {
      const identity::ApiKeyDigest d = identity::hashApiKey(secrets.pepper, *admin_key_env);
      if (std::string(d.begin(), d.end()) != secrets.root_key_digest) {
        log::warn("BASALT_ADMIN_KEY differs from the root key of {}; it is ignored", data_dir);
      }
    }
  }
  return secrets;
}

}  // namespace basalt::app
