// The admin API behind a real server on 127.0.0.1 with the real perimeter and audit sink:
// authorization by basalt:* policies, refresh after changes, and durable audit records.
#include "basalt/admin/admin_api.h"

#include "basalt/audit/signing_key.h"
#include "basalt/config/settings.h"
#include "basalt/identity/api_key.h"
#include "basalt/perimeter/perimeter.h"
#include "basalt/pipeline/router.h"
#include "basalt/server/server.h"
#include "basalt/storage/audit_log.h"
#include "basalt/storage/sqlite_audit_sink.h"
#include "basalt/storage/store.h"
#include "storage/temp_dir.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <cstdlib>
#include <string>

namespace basalt::admin {
namespace {

constexpr std::string_view kRootKey = "root-admin-key-for-tests";
constexpr std::string_view kPepper = "0123456789abcdef0123456789abcdef";

struct Answer {
  int status = 0;
  std::string body;
};

/// One HTTP/1.1 request with `connection: close` over a blocking loopback socket.
Answer httpCall(int port, const std::string& method, const std::string& path,
                const std::string& key, const std::string& body = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n";
  if (!key.empty()) req += "authorization: Bearer " + key + "\r\n";
  req += "content-type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  Answer a;
  if (raw.size() > 12 && raw.rfind("HTTP/1.1 ", 0) == 0) a.status = std::atoi(raw.c_str() + 9);
  if (auto pos = raw.find("\r\n\r\n"); pos != std::string::npos) a.body = raw.substr(pos + 4);
  return a;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = dir_.file("basalt.db");
    auto store = storage::Store::open(db_path_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    auto key = audit::SigningKey::loadOrCreate(dir_.file("audit-ed25519.pem"));
    ASSERT_TRUE(key) << key.error().message;
    storage::AuditSinkOptions options;
    options.db_path = db_path_;
    auto sink = storage::SqliteAuditSink::open(options, std::move(*key));
    ASSERT_TRUE(sink) << sink.error().message;
    sink_ = std::move(*sink);
    const identity::ApiKeyDigest digest = identity::hashApiKey(kPepper, kRootKey);
    perimeter_ = std::make_unique<perimeter::Perimeter>(
        *store_, std::string(kPepper), std::string(digest.begin(), digest.end()), "us-east-1");
    ASSERT_TRUE(perimeter_->refresh());
    ctx_ = std::make_unique<AdminContext>(AdminContext{*store_,
                                                       {},
                                                       {},
                                                       {},
                                                       std::string(kPepper),
                                                       dir_.path().string(),
                                                       db_path_,
                                                       dir_.file("audit-ed25519.pem"),
                                                       sink_.get(),
                                                       ""});
    bindPerimeter(*ctx_, *perimeter_);
    registerAdminRoutes(router_, *ctx_);
    config::ServerSettings settings;
    settings.listen = "127.0.0.1:0";
    settings.threads = 1;
    settings.shutdown_grace_ms = 1000;
    server_ = std::make_unique<server::Server>(settings, router_);
    ASSERT_TRUE(server_->start());
    const std::string bound = server_->boundAddress();
    port_ = std::atoi(bound.c_str() + bound.rfind(':') + 1);
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
      server_->wait();
    }
  }

  Answer root(const std::string& method, const std::string& path, const std::string& body = {}) {
    return httpCall(port_, method, path, std::string(kRootKey), body);
  }

  testing::TempDir dir_;
  std::string db_path_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::SqliteAuditSink> sink_;
  std::unique_ptr<perimeter::Perimeter> perimeter_;
  std::unique_ptr<AdminContext> ctx_;
  pipeline::Router router_;
  std::unique_ptr<server::Server> server_;
  int port_ = 0;
};

TEST_F(AdminServerTest, BasaltPoliciesGovernAdminCallsAndEveryCallIsAudited) {
  EXPECT_EQ(httpCall(port_, "GET", "/admin/v1/principals", "").status, 401);
  EXPECT_EQ(httpCall(port_, "GET", "/admin/v1/principals", "bsk-nonsense").status, 401);

  ASSERT_EQ(root("POST", "/admin/v1/principals", R"({"name":"ops"})").status, 201);
  Answer key = root("POST", "/admin/v1/keys", R"({"principal":"ops"})");
  ASSERT_EQ(key.status, 201) << key.body;
  const boost::json::value k = boost::json::parse(key.body);
  const std::string ops_key(k.at("api_key").as_string());
  const std::string ops_key_id(k.at("key_id").as_string());

  // A new principal can do nothing until a policy allows it (and the key works at once).
  EXPECT_EQ(httpCall(port_, "GET", "/admin/v1/principals", ops_key).status, 403);
  ASSERT_EQ(root("PUT", "/admin/v1/policies/read-only",
                 R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                     "Action":["basalt:List*","basalt:Get*"],"Resource":"*"}]})")
                .status,
            200);
  ASSERT_EQ(root("POST", "/admin/v1/policies/read-only/attachments", R"({"name":"ops"})").status,
            200);
  EXPECT_EQ(httpCall(port_, "GET", "/admin/v1/principals", ops_key).status, 200);
  EXPECT_EQ(httpCall(port_, "POST", "/admin/v1/principals", ops_key, R"({"name":"x"})").status,
            403);

  ASSERT_EQ(root("DELETE", "/admin/v1/keys/" + ops_key_id).status, 200);
  EXPECT_EQ(httpCall(port_, "GET", "/admin/v1/principals", ops_key).status, 401);

  // Every call above (refused ones too) is in the chain, durable before its answer.
  auto log = storage::AuditLog::open(db_path_);
  ASSERT_TRUE(log) << log.error().message;
  storage::AuditQuery q;
  q.limit = 0;
  auto records = (*log)->query(q);
  ASSERT_TRUE(records);
  EXPECT_EQ(records->size(), 11u);
  std::string all;
  for (const std::string& r : *records) all += r + "\n";
  EXPECT_NE(all.find(R"("eventName":"CreatePrincipal")"), std::string::npos);
  EXPECT_NE(all.find(R"("eventName":"RevokeKey")"), std::string::npos);
  EXPECT_NE(all.find(R"("errorCode":"access_denied")"), std::string::npos);
  EXPECT_NE(all.find(R"("effect":"ImplicitDeny")"), std::string::npos);
  EXPECT_EQ(all.find(ops_key), std::string::npos);  // never a secret

  Answer query = root("GET", "/admin/v1/audit?principal=ops&limit=0");
  ASSERT_EQ(query.status, 200) << query.body;
  EXPECT_EQ(std::count(query.body.begin(), query.body.end(), '\n'), 3);  // ops' three calls
  Answer verify = root("GET", "/admin/v1/audit/verify");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_TRUE(boost::json::parse(verify.body).at("ok").as_bool()) << verify.body;
  Answer exported = root("GET", "/admin/v1/audit/export");
  ASSERT_EQ(exported.status, 200);
  EXPECT_GE(std::count(exported.body.begin(), exported.body.end(), '\n'), 13);
}

}  // namespace
}  // namespace basalt::admin
