#include "basalt/core/assert.h"

#include "basalt/core/log.h"

#include <atomic>
#include <cstdlib>

namespace basalt {
namespace {
std::atomic<std::uint64_t> g_bugs{0};
}

void reportBug(const char* file, int line, const char* message) {
  g_bugs.fetch_add(1, std::memory_order_relaxed);
  log::error("BUG at {}:{}: {}", file, line, message);
}

void checkFailed(const char* file, int line, const char* expr) {
  log::error("CHECK failed at {}:{}: {}", file, line, expr);
  std::abort();
}

std::uint64_t bugCount() { return g_bugs.load(std::memory_order_relaxed); }

}  // namespace basalt
