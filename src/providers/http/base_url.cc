#include "basalt/providers/http/base_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace basalt::providers::http {
namespace urls = boost::urls;

std::string BaseUrl::hostPort() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string BaseUrl::hostHeader() const {
  const bool default_port = port == (tls ? 443 : 80);
  if (default_port) return host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return hostPort();
}

std::string BaseUrl::origin() const {
  return (tls ? "https://" : "http://") + hostPort();
}

Result<BaseUrl> parseBaseUrl(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error::invalid("invalid base_url \"" + std::string(text) + "\": " + std::string(why));
  };
  boost::system::result<urls::url_view> parsed = urls::parse_uri(text);
  if (!parsed) return bad("not an absolute URL");
  const urls::url_view& url = *parsed;

  BaseUrl out;
  if (url.scheme_id() == urls::scheme::https) {
    out.tls = true;
  } else if (url.scheme_id() != urls::scheme::http) {
    return bad("the scheme must be http or https");
  }
  if (!url.has_authority() || url.encoded_host().empty()) return bad("it has no host");
  if (url.has_userinfo()) return bad("credentials do not belong in the URL; use api_key_env");
  if (url.has_query() || url.has_fragment()) return bad("it must not have a query or fragment");

  switch (url.host_type()) {
    case urls::host_type::ipv6:
      out.host = url.host_ipv6_address().to_string();
      break;
    case urls::host_type::ipv4:
      out.host = std::string(url.encoded_host());
      break;
    case urls::host_type::name:
      out.host = url.host_name();
      break;
    default:
      return bad("unsupported host form");
  }
  if (url.has_port()) {
    if (url.port_number() == 0) return bad("invalid port");
    out.port = url.port_number();
  } else {
    out.port = out.tls ? 443 : 80;
  }
  out.path = std::string(url.encoded_path());
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  return out;
}

}  // namespace basalt::providers::http
