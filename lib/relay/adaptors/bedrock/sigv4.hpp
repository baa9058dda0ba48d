#pragma once
// AWS Signature Version 4 for request headers (the Authorization header form), as Bedrock needs
// it. Pure functions: the time is a parameter, so tests pin it to the published test vectors.
#include <chrono>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace oneapi::relay::adaptors::bedrock {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct SigV4Scope {
  std::string region;
  std::string service;
};

struct SignableRequest {
  std::string method;
  std::string path;      // as sent on the wire (segments already percent-encoded), e.g. "/model/x%3A0/invoke"
  std::string query;     // as sent, without the '?'
  net::Headers headers;  // every header to sign, including Host and X-Amz-Date
  std::string_view body;
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // 64 lowercase hex chars
  std::string authorization;   // the whole Authorization header value
};

// "20150830T123600Z" (UTC).
std::string amz_date(std::chrono::system_clock::time_point at);

// AWS's URI encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes
// %XX (uppercase); '/' stays when `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);

std::string sha256_hex(std::string_view data);

// Signs `request` at `amz_date_value` (which must equal its X-Amz-Date header). Every service
// but S3 encodes the wire path once more in the canonical request ("%3A" -> "%253A"):
// `encode_path_again` = true; S3 and the published test-suite paths use the path as it is.
SigV4Signature sigv4_sign(const SignableRequest& request, const AwsCredentials& credentials, const SigV4Scope& scope,
                          std::string_view amz_date_value, bool encode_path_again = true);

}  // namespace oneapi::relay::adaptors::bedrock
