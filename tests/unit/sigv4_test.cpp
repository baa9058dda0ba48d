// SigV4 against AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite): the
// canonical request, string to sign and signature of each vector are the suite's, as data.
#include "relay/adaptors/bedrock/sigv4.hpp"

#include <catch2/catch.hpp>
#include <chrono>

using namespace oneapi;
using namespace oneapi::relay::adaptors::bedrock;

namespace {

const AwsCredentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
const SigV4Scope kSuiteScope{"us-east-1", "service"};
constexpr const char* kSuiteDate = "20150830T123600Z";

struct Vector {
  const char* name;
  const char* method;
  const char* path;
  const char* query;
  net::Headers headers;
  const char* body;
  const char* canonical_request;
  const char* string_to_sign;  // "" when the suite copy at hand gives only the signature
  const char* signed_headers;
  const char* signature;
};

std::vector<Vector> suite() {
  const net::Header host{"Host", "example.amazonaws.com"};
  const net::Header date{"X-Amz-Date", kSuiteDate};
  return {
      {"get-vanilla",
       "GET",
       "/",
       "",
       {host, date},
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla",
       "POST",
       "/",
       "",
       {host, date},
       "",
       "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "",
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"post-vanilla-query",
       "POST",
       "/",
       "Param1=value1",
       {host, date},
       "",
       "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
       "host;x-amz-date",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       "Param2=value2&Param1=value1",
       {host, date},
       "",
       "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"}, host, date},
       "Param1=value1",
       "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
       "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
       "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
      // The suite's raw path "/\u1234" travels percent-encoded once; the suite signs it as sent.
      {"get-utf8",
       "GET",
       "/%E1%88%B4",
       "",
       {host, date},
       "",
       "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "",
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
  };
}

}  // namespace

TEST_CASE("SigV4 reproduces AWS's published test suite vectors", "[bedrock][sigv4]") {
  for (const auto& v : suite()) {
    SECTION(v.name) {
      SignableRequest r;
      r.method = v.method;
      r.path = v.path;
      r.query = v.query;
      r.headers = v.headers;
      r.body = v.body;
      const auto s = sigv4_sign(r, kSuiteCredentials, kSuiteScope, kSuiteDate, /*encode_path_again=*/false);
      CHECK(s.canonical_request == v.canonical_request);
      if (*v.string_to_sign) CHECK(s.string_to_sign == v.string_to_sign);
      CHECK(s.signed_headers == v.signed_headers);
      CHECK(s.signature == v.signature);
      CHECK(s.authorization == std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                                           "aws4_request, SignedHeaders=") +
                                   v.signed_headers + ", Signature=" + v.signature);
    }
  }
}

TEST_CASE("SigV4 canonicalizes header names, values and order", "[bedrock][sigv4]") {
  SignableRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"X-Amz-Date", kSuiteDate},
               {"My-Header1", "  a   b   c  "},
               {"host", "example.amazonaws.com"},
               {"my-header1", "second"}};
  const auto s = sigv4_sign(r, kSuiteCredentials, kSuiteScope, kSuiteDate, false);
  CHECK(s.canonical_request.find("\nhost:example.amazonaws.com\nmy-header1:a b c,second\nx-amz-date:") !=
        std::string::npos);
  CHECK(s.signed_headers == "host;my-header1;x-amz-date");
}

TEST_CASE("SigV4 encodes a non-S3 path once more, as AWS's signers do for Bedrock model ids", "[bedrock][sigv4]") {
  SignableRequest r;
  r.method = "POST";
  r.path = "/model/" + uri_encode("anthropic.claude-v2:1", false) + "/invoke";
  CHECK(r.path == "/model/anthropic.claude-v2%3A1/invoke");
  r.headers = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  const auto twice = sigv4_sign(r, kSuiteCredentials, {"us-east-1", "bedrock"}, kSuiteDate);
  CHECK(twice.canonical_request.rfind("POST\n/model/anthropic.claude-v2%253A1/invoke\n\n", 0) == 0);
  CHECK(twice.string_to_sign.find("\n20150830/us-east-1/bedrock/aws4_request\n") != std::string::npos);
  const auto once = sigv4_sign(r, kSuiteCredentials, {"us-east-1", "bedrock"}, kSuiteDate, false);
  CHECK(once.signature != twice.signature);
}

TEST_CASE("SigV4 helpers: the date stamp, URI encoding and SHA-256", "[bedrock][sigv4]") {
  // 2015-08-30T12:36:00Z, the suite's moment.
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
  CHECK(amz_date(at) == kSuiteDate);
  CHECK(uri_encode("a b/c:d~e", true) == "a%20b/c%3Ad~e");
  CHECK(uri_encode("a b/c", false) == "a%20b%2Fc");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("Param1=value1") == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}
