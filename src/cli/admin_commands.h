#pragma once
/// The admin subcommands (`basalt principal|key|policy|quota|audit ...`, DESIGN.md "Set-up and
/// commands"). They talk to the admin API at BASALT_URL (default http://127.0.0.1:8080) with
/// BASALT_ADMIN_KEY or DATA/admin.key, print JSON on stdout, and on failure print one line on
/// stderr and exit non-zero. `audit verify` (and `audit export --data DIR`) read the local
/// database directly instead.

namespace CLI {
class App;
}

namespace basalt::cli {

/// Adds the admin subcommands to `app`. A failing command throws CLI::RuntimeError(code), which
/// run() turns into the exit code.
void registerAdminCommands(CLI::App& app);

}  // namespace basalt::cli
