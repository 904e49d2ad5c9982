#pragma once
/// The one async vocabulary of the project: C++20 coroutines on Asio. Only Asio's core
/// (no Beast, no sockets) is visible here so that every module can declare coroutines.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace basalt {

/// The project-wide executor type (rule 7 of STYLE.md).
using Executor = boost::asio::any_io_executor;

/// A coroutine returning T, run on an io_context thread.
template <class T>
using Task = boost::asio::awaitable<T, Executor>;

}  // namespace basalt
