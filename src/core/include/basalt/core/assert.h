#pragma once
/// The three kinds of assertion (STYLE.md rule 4). Never assert on input.
///  - BASALT_DCHECK(cond): debug-only invariant.
///  - BASALT_BUG(msg): a state that should not happen but can be survived; logged and counted.
///  - BASALT_CHECK(cond): release assert for states that cannot continue; aborts.

#include <cassert>
#include <cstdint>

namespace basalt {
void reportBug(const char* file, int line, const char* message);
void checkFailed(const char* file, int line, const char* expr);
/// How many BASALT_BUG reports this process has seen (exported in /metrics).
std::uint64_t bugCount();
}  // namespace basalt

#define BASALT_DCHECK(cond) assert(cond)
#define BASALT_BUG(msg) ::basalt::reportBug(__FILE__, __LINE__, (msg))
#define BASALT_CHECK(cond) \
  ((cond) ? (void)0 : ::basalt::checkFailed(__FILE__, __LINE__, #cond))
