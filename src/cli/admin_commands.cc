#include "admin_commands.h"

#include "basalt/audit/chain.h"
#include "basalt/audit/signing_key.h"
#include "basalt/storage/audit_log.h"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace basalt::cli {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;

/// Prints the one-line error and makes the process exit with `code`.
[[noreturn]] void die(const std::string& message, int code = 1) {
  std::cerr << "basalt: " << message << "\n";
  throw CLI::RuntimeError(code);
}

std::string envOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for path segments and query
/// values alike).
std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// Where the admin API is and how to authenticate to it.
struct Connection {
  std::string data_dir;  ///< --data: where admin.key (and, for audit, basalt.db) live
  std::string url;       ///< --url, else BASALT_URL
};

std::string dataDir(const Connection& c) {
  return c.data_dir.empty() ? envOr("BASALT_DATA", "basalt-data") : c.data_dir;
}

/// BASALT_ADMIN_KEY, else DATA/admin.key.
std::string adminKey(const Connection& c) {
  if (c.data_dir.empty()) {
    if (const char* k = std::getenv("BASALT_ADMIN_KEY"); k != nullptr && *k != '\0') return k;
  }
  const std::string path = dataDir(c) + "/admin.key";
  if (std::optional<std::string> key = readFile(path); key && !trim(*key).empty()) {
    return trim(*key);
  }
  if (const char* k = std::getenv("BASALT_ADMIN_KEY"); k != nullptr && *k != '\0') return k;
  die("no admin key: set BASALT_ADMIN_KEY or pass --data DIR holding admin.key");
}

struct Endpoint {
  std::string host;
  std::string port;
  std::string base_path;  ///< without a trailing '/'
};

Endpoint parseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    die("BASALT_URL must start with http:// (got '" + url + "'); https is not supported here");
  }
  std::string rest = url.substr(kScheme.size());
  Endpoint e;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    e.base_path = rest.substr(slash);
    while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
    rest.resize(slash);
  }
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string::npos) die("malformed BASALT_URL '" + url + "'");
    e.host = rest.substr(1, close - 1);
    e.port = close + 1 < rest.size() && rest[close + 1] == ':' ? rest.substr(close + 2) : "80";
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    e.host = rest.substr(0, colon);
    e.port = rest.substr(colon + 1);
  } else {
    e.host = rest;
    e.port = "80";
  }
  if (e.host.empty() || e.port.empty()) die("malformed BASALT_URL '" + url + "'");
  return e;
}

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Decodes a chunked body; nullopt when malformed.
std::optional<std::string> dechunk(std::string_view in) {
  std::string out;
  while (true) {
    const auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    try {
      size = std::stoul(std::string(in.substr(0, eol)), nullptr, 16);
    } catch (...) {
      return std::nullopt;
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

/// One blocking HTTP/1.1 request with `Connection: close` (the CLI makes one call per run).
HttpAnswer httpCall(const Connection& conn, const std::string& method, const std::string& path,
                    const std::string& body) {
  const std::string url =
      conn.url.empty() ? envOr("BASALT_URL", "http://127.0.0.1:8080") : conn.url;
  const Endpoint ep = parseUrl(url);
  const std::string key = adminKey(conn);

  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(ep.host, ep.port, ec);
  if (ec) die("cannot resolve " + ep.host + ": " + ec.message());
  asio::connect(socket, addresses, ec);
  if (ec) die("cannot connect to " + url + ": " + ec.message());
  // The sync API has no deadlines of its own; a stuck gateway must not hang the CLI forever.
  timeval tv{60, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  std::string request = method + " " + ep.base_path + path + " HTTP/1.1\r\n";
  request += "host: " + ep.host + ":" + ep.port + "\r\n";
  request += "authorization: Bearer " + key + "\r\n";
  request += "user-agent: basalt-cli/0.1\r\n";
  request += "accept: application/json, application/x-ndjson\r\n";
  request += "connection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "content-type: application/json\r\n";
    request += "content-length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  asio::write(socket, asio::buffer(request), ec);
  if (ec) die("cannot send to " + url + ": " + ec.message());

  std::string raw;
  std::optional<std::size_t> header_end;
  std::optional<std::size_t> content_length;
  char buf[16384];
  while (true) {
    const std::size_t n = socket.read_some(asio::buffer(buf), ec);
    raw.append(buf, n);
    if (!header_end) {
      if (auto pos = raw.find("\r\n\r\n"); pos != std::string::npos) {
        header_end = pos + 4;
        const std::string head = lower(raw.substr(0, pos));
        if (auto cl = head.find("\r\ncontent-length:"); cl != std::string::npos) {
          content_length = std::strtoull(head.c_str() + cl + 17, nullptr, 10);
        }
      }
    }
    if (header_end && content_length && raw.size() >= *header_end + *content_length) break;
    if (ec) break;
  }
  if (!header_end) {
    die("no HTTP answer from " + url + (ec ? ": " + ec.message() : std::string()));
  }

  HttpAnswer answer;
  std::istringstream head(raw.substr(0, *header_end));
  std::string line;
  std::getline(head, line);
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) die("malformed HTTP answer from " + url);
  answer.status = std::atoi(line.c_str() + 9);
  bool chunked = false;
  while (std::getline(head, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = lower(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (name == "content-type") answer.content_type = value;
    if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
  }
  answer.body = raw.substr(*header_end);
  if (content_length) {
    if (answer.body.size() < *content_length) die("truncated HTTP answer from " + url);
    answer.body.resize(*content_length);
  } else if (chunked) {
    std::optional<std::string> decoded = dechunk(answer.body);
    if (!decoded) die("malformed chunked answer from " + url);
    answer.body = std::move(*decoded);
  }
  return answer;
}

/// Calls the admin API and prints the answer; on an error status prints the API's message.
void callAndPrint(const Connection& conn, const std::string& method, const std::string& path,
                  const std::string& body = {}) {
  HttpAnswer a = httpCall(conn, method, path, body);
  if (a.status >= 200 && a.status < 300) {
    std::cout << a.body;
    if (!a.body.empty() && a.body.back() != '\n') std::cout << '\n';
    std::cout.flush();
    return;
  }
  std::string message;
  boost::system::error_code ec;
  json::value v = json::parse(a.body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* err = v.as_object().if_contains("error");
        err != nullptr && err->is_object()) {
      if (const json::value* m = err->as_object().if_contains("message");
          m != nullptr && m->is_string()) {
        message = std::string(m->as_string());
      }
    }
  }
  if (message.empty()) message = trim(a.body.substr(0, 200));
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  die(message + " (HTTP " + std::to_string(a.status) + ")");
}

void addConnectionOptions(CLI::App* sub, const std::shared_ptr<Connection>& conn) {
  sub->add_option("--data", conn->data_dir, "data directory whose admin.key to use");
  sub->add_option("--url", conn->url,
                  "admin API base URL (default: $BASALT_URL or "
                  "http://127.0.0.1:8080)");
}

std::string queryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += q.empty() ? '?' : '&';
    q += k + "=" + urlEncode(v);
  }
  return q;
}

// --- commands -------------------------------------------------------------------------------

void registerPrincipal(CLI::App& app) {
  CLI::App* principal = app.add_subcommand("principal", "Manage principals");
  principal->require_subcommand(1);

  struct Create {
    std::string name;
    std::string kind;
    std::vector<std::string> groups;
  };
  auto conn = std::make_shared<Connection>();
  auto args = std::make_shared<Create>();
  CLI::App* create = principal->add_subcommand("create", "Create a principal");
  create->add_option("NAME", args->name, "principal name")->required();
  create->add_option("--group", args->groups, "a group to join (created on demand); repeatable")
      ->allow_extra_args(false);
  create->add_option("--kind", args->kind, "user (default), service or agent");
  addConnectionOptions(create, conn);
  create->callback([conn, args] {
    json::object body;
    body["name"] = args->name;
    if (!args->kind.empty()) body["kind"] = args->kind;
    json::array groups;
    for (const std::string& g : args->groups) groups.emplace_back(g);
    body["groups"] = std::move(groups);
    callAndPrint(*conn, "POST", "/admin/v1/principals", json::serialize(body));
  });

  auto list_conn = std::make_shared<Connection>();
  CLI::App* list = principal->add_subcommand("list", "List principals");
  addConnectionOptions(list, list_conn);
  list->callback([list_conn] { callAndPrint(*list_conn, "GET", "/admin/v1/principals"); });

  auto del_conn = std::make_shared<Connection>();
  auto del_name = std::make_shared<std::string>();
  CLI::App* del = principal->add_subcommand("delete", "Delete a principal and its keys");
  del->add_option("NAME", *del_name, "principal name")->required();
  addConnectionOptions(del, del_conn);
  del->callback([del_conn, del_name] {
    callAndPrint(*del_conn, "DELETE", "/admin/v1/principals/" + urlEncode(*del_name));
  });
}

void registerKey(CLI::App& app) {
  CLI::App* key = app.add_subcommand("key", "Manage API keys and SigV4 access keys");
  key->require_subcommand(1);

  struct Create {
    std::string name;
    bool sigv4 = false;
    std::string expires_at;
  };
  auto conn = std::make_shared<Connection>();
  auto args = std::make_shared<Create>();
  CLI::App* create = key->add_subcommand("create", "Create a key for a principal (shown once)");
  create->add_option("NAME", args->name, "principal name")->required();
  create->add_flag("--sigv4", args->sigv4, "an AWS SigV4 access key instead of an API key");
  create->add_option("--expires-at", args->expires_at, "RFC 3339 expiry time");
  addConnectionOptions(create, conn);
  create->callback([conn, args] {
    json::object body;
    body["principal"] = args->name;
    if (args->sigv4) body["sigv4"] = true;
    if (!args->expires_at.empty()) body["expires_at"] = args->expires_at;
    callAndPrint(*conn, "POST", "/admin/v1/keys", json::serialize(body));
  });

  auto rconn = std::make_shared<Connection>();
  auto key_id = std::make_shared<std::string>();
  CLI::App* revoke = key->add_subcommand("revoke", "Revoke a key (effective immediately)");
  revoke->add_option("KEY_ID", *key_id, "key id or access key id")->required();
  addConnectionOptions(revoke, rconn);
  revoke->callback(
      [rconn, key_id] { callAndPrint(*rconn, "DELETE", "/admin/v1/keys/" + urlEncode(*key_id)); });

  auto lconn = std::make_shared<Connection>();
  CLI::App* list = key->add_subcommand("list", "List keys (never their secrets)");
  addConnectionOptions(list, lconn);
  list->callback([lconn] { callAndPrint(*lconn, "GET", "/admin/v1/keys"); });
}

void registerPolicy(CLI::App& app) {
  CLI::App* policy = app.add_subcommand("policy", "Manage IAM policies");
  policy->require_subcommand(1);

  struct Put {
    std::string name;
    std::string file;
  };
  auto conn = std::make_shared<Connection>();
  auto put_args = std::make_shared<Put>();
  CLI::App* put = policy->add_subcommand("put", "Create or replace a policy from a JSON file");
  put->add_option("POLICY", put_args->name, "policy name")->required();
  put->add_option("FILE", put_args->file, "IAM policy document (JSON); - for stdin")->required();
  addConnectionOptions(put, conn);
  put->callback([conn, put_args] {
    std::optional<std::string> doc;
    if (put_args->file == "-") {
      std::ostringstream in;
      in << std::cin.rdbuf();
      doc = in.str();
    } else {
      doc = readFile(put_args->file);
    }
    if (!doc) die("cannot read " + put_args->file);
    callAndPrint(*conn, "PUT", "/admin/v1/policies/" + urlEncode(put_args->name), *doc);
  });

  struct Attach {
    std::string policy;
    std::string name;
  };
  for (const bool attach : {true, false}) {
    auto aconn = std::make_shared<Connection>();
    auto a = std::make_shared<Attach>();
    CLI::App* sub = policy->add_subcommand(
        attach ? "attach" : "detach",
        attach ? "Attach a policy to a principal or group" : "Detach a policy");
    sub->add_option("POLICY", a->policy, "policy name")->required();
    sub->add_option("NAME", a->name, "principal or group name")->required();
    addConnectionOptions(sub, aconn);
    sub->callback([aconn, a, attach] {
      const std::string base = "/admin/v1/policies/" + urlEncode(a->policy) + "/attachments";
      if (attach) {
        json::object body;
        body["name"] = a->name;
        callAndPrint(*aconn, "POST", base, json::serialize(body));
      } else {
        callAndPrint(*aconn, "DELETE", base + "/" + urlEncode(a->name));
      }
    });
  }

  auto gconn = std::make_shared<Connection>();
  auto gname = std::make_shared<std::string>();
  CLI::App* get = policy->add_subcommand("get", "Show a policy and where it is attached");
  get->add_option("POLICY", *gname, "policy name")->required();
  addConnectionOptions(get, gconn);
  get->callback(
      [gconn, gname] { callAndPrint(*gconn, "GET", "/admin/v1/policies/" + urlEncode(*gname)); });

  auto lconn = std::make_shared<Connection>();
  CLI::App* list = policy->add_subcommand("list", "List policies");
  addConnectionOptions(list, lconn);
  list->callback([lconn] { callAndPrint(*lconn, "GET", "/admin/v1/policies"); });
}

constexpr std::int64_t kUnset = INT64_MIN;

void registerQuota(CLI::App& app) {
  CLI::App* quota = app.add_subcommand("quota", "Manage quotas");
  quota->require_subcommand(1);

  struct Set {
    std::string name;
    std::string model;
    // kUnset when not given (CLI11 here has no std::optional options); the API validates range.
    std::int64_t rpm = kUnset;
    std::int64_t tpm = kUnset;
    std::int64_t concurrency = kUnset;
  };
  auto conn = std::make_shared<Connection>();
  auto args = std::make_shared<Set>();
  CLI::App* set = quota->add_subcommand("set", "Set (replace) the quota of a principal or group");
  set->add_option("NAME", args->name, "principal or group name")->required();
  set->add_option("--model", args->model, "only for this model (default: all models)");
  set->add_option("--rpm", args->rpm, "requests per minute");
  set->add_option("--tpm", args->tpm, "tokens per minute");
  set->add_option("--concurrency", args->concurrency, "concurrent requests");
  addConnectionOptions(set, conn);
  set->callback([conn, args] {
    json::object body;
    body["name"] = args->name;
    if (!args->model.empty()) body["model"] = args->model;
    if (args->rpm != kUnset) body["rpm"] = args->rpm;
    if (args->tpm != kUnset) body["tpm"] = args->tpm;
    if (args->concurrency != kUnset) body["concurrency"] = args->concurrency;
    callAndPrint(*conn, "PUT", "/admin/v1/quotas", json::serialize(body));
  });

  auto lconn = std::make_shared<Connection>();
  CLI::App* list = quota->add_subcommand("list", "List quotas");
  addConnectionOptions(list, lconn);
  list->callback([lconn] { callAndPrint(*lconn, "GET", "/admin/v1/quotas"); });
}

/// The local audit database and seal key of a data dir.
struct LocalAudit {
  std::string data_dir;
  std::string db;   ///< --db, else DATA/basalt.db
  std::string key;  ///< --key, else DATA/audit-ed25519.pem
};

std::unique_ptr<storage::AuditLog> openLocal(const LocalAudit& a, std::string& db_path) {
  const std::string dir = a.data_dir.empty() ? envOr("BASALT_DATA", "basalt-data") : a.data_dir;
  db_path = a.db.empty() ? dir + "/basalt.db" : a.db;
  Result<std::unique_ptr<storage::AuditLog>> log = storage::AuditLog::open(db_path);
  if (!log) die(db_path + ": " + log.error().message, 2);
  return std::move(*log);
}

void registerAudit(CLI::App& app) {
  CLI::App* audit_cmd = app.add_subcommand("audit", "Verify, query and export the audit trail");
  audit_cmd->require_subcommand(1);

  auto local = std::make_shared<LocalAudit>();
  CLI::App* verify = audit_cmd->add_subcommand(
      "verify", "Verify the local audit chain and seals (exit 0 when intact)");
  verify->add_option("--data", local->data_dir,
                     "data directory (default: $BASALT_DATA or "
                     "./basalt-data)");
  verify->add_option("--db", local->db, "audit database (default: DATA/basalt.db)");
  verify->add_option("--key", local->key,
                     "seal key PEM, public or private (default: DATA/audit-ed25519.pem)");
  verify->callback([local] {
    std::string db_path;
    std::unique_ptr<storage::AuditLog> log = openLocal(*local, db_path);
    const std::string dir =
        local->data_dir.empty() ? envOr("BASALT_DATA", "basalt-data") : local->data_dir;
    const std::string key_path = local->key.empty() ? dir + "/audit-ed25519.pem" : local->key;
    Result<audit::PublicKey> key = audit::PublicKey::fromFile(key_path);
    if (!key) die(key_path + ": " + key.error().message, 2);
    Result<audit::VerifyResult> result = log->verify(*key);
    if (!result) die(db_path + ": " + result.error().message, 2);
    std::cout << audit::verifyResultJson(*result) << std::endl;
    if (!result->ok) {
      die("audit chain broken at seq " + std::to_string(result->bad_seq) + " (" +
          std::string(audit::defectName(result->defect)) + "): " + result->reason);
    }
  });

  struct Query {
    std::string principal;
    std::string since;
    std::string limit;
  };
  auto qconn = std::make_shared<Connection>();
  auto q = std::make_shared<Query>();
  CLI::App* query = audit_cmd->add_subcommand("query", "Audit records as JSON lines");
  query->add_option("--principal", q->principal, "only this principal's records");
  query->add_option("--since", q->since, "only records at or after this RFC 3339 time");
  query->add_option("--limit", q->limit, "at most this many (default 100, 0 = all)")
      ->check(CLI::NonNegativeNumber);
  addConnectionOptions(query, qconn);
  query->callback([qconn, q] {
    callAndPrint(
        *qconn, "GET",
        "/admin/v1/audit" +
            queryString({{"principal", q->principal}, {"since", q->since}, {"limit", q->limit}}));
  });

  auto econn = std::make_shared<Connection>();
  auto elocal = std::make_shared<LocalAudit>();
  CLI::App* export_cmd = audit_cmd->add_subcommand(
      "export", "Every audit record as JSON lines (for a SIEM); --data reads the local DB");
  export_cmd->add_option("--data", elocal->data_dir,
                         "read this data directory's database directly");
  export_cmd->add_option("--db", elocal->db, "read this audit database directly");
  export_cmd->add_option("--url", econn->url, "admin API base URL");
  export_cmd->callback([econn, elocal] {
    if (elocal->data_dir.empty() && elocal->db.empty()) {
      callAndPrint(*econn, "GET", "/admin/v1/audit/export");
      return;
    }
    std::string db_path;
    std::unique_ptr<storage::AuditLog> log = openLocal(*elocal, db_path);
    Result<std::uint64_t> n = log->exportAll([](std::string_view line) {
      std::cout << line << '\n';
      return static_cast<bool>(std::cout);
    });
    std::cout.flush();
    if (!n) die(db_path + ": " + n.error().message, 2);
  });
}

}  // namespace

void registerAdminCommands(CLI::App& app) {
  registerPrincipal(app);
  registerKey(app);
  registerPolicy(app);
  registerQuota(app);
  registerAudit(app);
}

}  // namespace basalt::cli
