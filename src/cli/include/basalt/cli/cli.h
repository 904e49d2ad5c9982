#pragma once
/// The `basalt` subcommands. main() only calls run().

namespace basalt::cli {

/// Parses argv, runs the chosen subcommand and returns the process exit code.
int run(int argc, char** argv);

}  // namespace basalt::cli
