#pragma once
/// First-start secrets of a data directory: the pepper that keys API-key digests and the root
/// admin key. If BASALT_ADMIN_KEY is set when the data dir is first initialised, that value is
/// the root key; otherwise one is generated. Either way DATA/admin.key (0600) holds it, so the
/// admin CLI can use `--data DIR`; only its digest is needed to serve.

#include "basalt/core/error.h"

#include <optional>
#include <string>

namespace basalt::app {

struct Secrets {
  std::string pepper;           ///< raw bytes
  std::string root_key_digest;  ///< hashApiKey(pepper, root key), raw bytes
};

/// Loads DATA/pepper and DATA/root-key.sha256, creating them (and DATA/admin.key) on first use.
/// A later BASALT_ADMIN_KEY that differs from the stored root key is ignored with a warning.
Result<Secrets> loadOrCreateSecrets(const std::string& data_dir,
                                    const std::optional<std::string>& admin_key_env);

}  // namespace basalt::app
