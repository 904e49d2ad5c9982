#pragma once
// Runs a coroutine to completion on a fresh io_context, bounded in time.

#include "basalt/core/async.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>

namespace basalt::testing {

/// Runs `task` on `ioc` until it finishes (at most `limit`); throws if it did not.
template <class T>
T runTask(boost::asio::io_context& ioc, Task<T> task,
          std::chrono::seconds limit = std::chrono::seconds(10)) {
  std::future<T> done = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
  ioc.restart();
  ioc.run_for(limit);
  if (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    throw std::runtime_error("task did not finish in time");
  }
  return done.get();
}

}  // namespace basalt::testing
