#pragma once
/// A Model Context Protocol client over Streamable HTTP (protocol revisions 2025-11-25 and
/// 2025-06-18), on the shared Beast-free upstream client (providers/http). One McpClient talks
/// to one server URL: `connect` (initialize + notifications/initialized), `listTools`
/// (paginated, bounded), `callTool`, `close` (DELETE of the session).
///
/// Everything the server controls is bounded: response bytes, SSE line length, number of tools
/// and pages, tool name / description / schema sizes, and every request has a deadline.
/// Failures are values: an `Error` whose `code` is kAuthFailedCode (HTTP 401/403) or
/// kConnectFailedCode (transport, HTTP status, protocol or JSON-RPC trouble), with a message
/// naming the server and, for JSON-RPC errors, the server's message and code. No token is ever
/// put in an error message or a log line.
///
/// Threading: a client is used by one coroutine at a time on one io_context thread (the
/// upstream client's connection pool is per io_context).

#include "basalt/core/async.h"
#include "basalt/core/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::mcp {

/// The protocol revision Basalt asks for in `initialize`.
inline constexpr std::string_view kProtocolVersion = "2025-11-25";
/// The older revision a server may answer with instead (still Streamable HTTP with sessions).
inline constexpr std::string_view kProtocolVersionFallback = "2025-06-18";

/// Error::code of an authentication failure (HTTP 401 or 403 from the MCP server).
inline constexpr std::string_view kAuthFailedCode = "mcp_authentication_failed";
/// Error::code of any other failure to reach or talk to the server.
inline constexpr std::string_view kConnectFailedCode = "mcp_connection_failed";

/// True when `error` is an MCP authentication failure (kAuthFailedCode).
bool isAuthFailure(const Error& error);

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};  ///< resolve + connect + TLS
  std::chrono::milliseconds request_timeout{60'000};  ///< deadline of one JSON-RPC exchange
  std::size_t max_response_bytes = 4U << 20U;         ///< one response (JSON body or SSE)
  int max_list_pages = 20;                            ///< tools/list pages followed
  std::size_t max_tools = 200;                        ///< tools kept from one server
  std::size_t max_name_length = 128;                  ///< MCP tool names are 1-128 chars
  std::size_t max_description_bytes = 8U << 10U;      ///< longer descriptions are cut
  std::size_t max_schema_bytes = 64U << 10U;          ///< a larger inputSchema drops the tool
  std::string client_name = "basalt";
  std::string client_version = "0.1";
  std::string extra_ca_pem;  ///< extra trusted CAs (PEM) for https servers (tests, private CAs)
};

/// One tool as the server declares it (already bounded and validated).
struct Tool {
  std::string name;         ///< 1..max_name_length chars of [A-Za-z0-9_.-]
  std::string title;        ///< may be empty
  std::string description;  ///< may be empty, capped
  std::string input_schema_json = R"({"type":"object"})";  ///< a JSON object
};

/// One block of a tool result, as the agent events carry it.
struct ResultBlock {
  enum class Kind : std::uint8_t { kText, kImage };
  Kind kind = Kind::kText;
  std::string text;        ///< kText
  std::string media_type;  ///< kImage
  std::string data;        ///< kImage: base64
};

/// The result of tools/call. MCP `text` and `image` blocks map one to one; `audio`, embedded
/// `resource` (text inlined, blobs described) and `resource_link` become text; a
/// `structuredContent` object is added as JSON text when no text block carries it.
struct ToolResult {
  std::vector<ResultBlock> content;
  bool is_error = false;
};

class McpClient {
 public:
  /// `url` is the server's Streamable HTTP endpoint (http or https; a query is kept).
  /// `bearer_token` (may be empty) is sent as `Authorization: Bearer ...` on every request.
  static Result<std::unique_ptr<McpClient>> create(std::string_view url, ClientOptions options,
                                                   std::string bearer_token = {});
  ~McpClient();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  /// initialize (protocolVersion 2025-11-25; a 2025-06-18 answer is accepted, anything else
  /// refused) then notifications/initialized. Keeps the Mcp-Session-Id the server issued.
  Task<Result<void>> connect();
  /// Every tool, following nextCursor (at most max_list_pages pages and max_tools tools;
  /// invalid or oversized tools are skipped).
  Task<Result<std::vector<Tool>>> listTools();
  /// tools/call {name, arguments}. `arguments_json` must be a JSON object (or empty: {}).
  /// A tool-level failure is `is_error` in the result; transport, HTTP and JSON-RPC failures
  /// are errors.
  Task<Result<ToolResult>> callTool(std::string_view name, std::string_view arguments_json);
  /// Ends the server-side session (HTTP DELETE with the session id), best effort.
  Task<void> close();

  /// The negotiated protocol revision (empty before connect).
  const std::string& protocolVersion() const;
  /// The Mcp-Session-Id (empty when the server runs without sessions).
  const std::string& sessionId() const;
  /// How many times the client initialized (1 after connect; +1 per re-initialization after
  /// the server forgot the session, HTTP 404). Callers re-list tools when it changes.
  int generation() const;
  /// The server's advertised name (serverInfo.name), may be empty.
  const std::string& serverName() const;
  /// Replaces the bearer token (e.g. after an OAuth refresh).
  void setBearerToken(std::string token);

  struct Impl;

 private:
  explicit McpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::mcp
