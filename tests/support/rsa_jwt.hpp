#pragma once
// RSA keys made in the test and RS256 JWT checks (OpenSSL), for the OAuth service-account flow:
// the test plays Google's token endpoint with the public half of a key it generated itself.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace oneapi::test {

struct RsaKeyPair {
  std::string private_pem;  // PKCS#8 "BEGIN PRIVATE KEY", as Google's key files hold it
  std::string public_pem;
};
RsaKeyPair make_rsa_key(int bits = 2048);

struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json claims;
};
// The JWT's header and claims when it is three base64url parts and its RS256 signature verifies
// with `public_pem`; nullopt otherwise.
std::optional<VerifiedJwt> verify_rs256(std::string_view jwt, const std::string& public_pem);

// A service-account key file as the Google Cloud console downloads it.
std::string service_account_json(const RsaKeyPair& key, const std::string& token_uri,
                                 const std::string& project_id = "test-project-42",
                                 const std::string& client_email = "relay@test-project-42.iam.gserviceaccount.com");

}  // namespace oneapi::test
