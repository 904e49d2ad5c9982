#pragma once
// Private to basalt_audit: the canonical JSON text of a Boost.JSON value (sorted keys, compact,
// minimal escaping, invalid UTF-8 replaced). Used for records and by tests through them.

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace basalt::audit {

void appendCanonicalJson(const boost::json::value& v, std::string& out);
void appendCanonicalString(std::string_view s, std::string& out);

}  // namespace basalt::audit
