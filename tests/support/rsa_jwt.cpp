#include "support/rsa_jwt.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>

#include "core/util.hpp"

namespace oneapi::test {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return std::nullopt;  // not the URL alphabet, or padded
  }
  return base64_decode(standard);
}

}  // namespace

RsaKeyPair make_rsa_key(int bits) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!key) throw std::runtime_error("EVP_RSA_gen failed");
  std::unique_ptr<BIO, BioFree> priv(BIO_new(BIO_s_mem())), pub(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1)
    throw std::runtime_error("writing the PEM key failed");
  return {bio_text(priv.get()), bio_text(pub.get())};
}

std::optional<VerifiedJwt> verify_rs256(std::string_view jwt, const std::string& public_pem) {
  const size_t first = jwt.find('.');
  const size_t second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos || jwt.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  const auto header = base64url_decode(jwt.substr(0, first));
  const auto claims = base64url_decode(jwt.substr(first + 1, second - first - 1));
  const auto signature = base64url_decode(jwt.substr(second + 1));
  if (!header || !claims || !signature) return std::nullopt;

  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!key || !md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
    return std::nullopt;
  const std::string_view signed_part = jwt.substr(0, second);
  if (EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) != 1)
    return std::nullopt;
  VerifiedJwt out{nlohmann::json::parse(*header, nullptr, false), nlohmann::json::parse(*claims, nullptr, false)};
  if (!out.header.is_object() || !out.claims.is_object()) return std::nullopt;
  return out;
}

std::string service_account_json(const RsaKeyPair& key, const std::string& token_uri, const std::string& project_id,
                                 const std::string& client_email) {
  const nlohmann::json j = {
      {"type", "service_account"},
      {"project_id", project_id},
      {"private_key_id", "0123456789abcdef0123456789abcdef01234567"},
      {"private_key", key.private_pem},
      {"client_email", client_email},
      {"client_id", "112233445566778899000"},
      {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
      {"token_uri", token_uri},
      {"auth_provider_x509_cert_url", "https://www.googleapis.com/oauth2/v1/certs"},
      {"client_x509_cert_url", "https://www.googleapis.com/robot/v1/metadata/x509/" + client_email},
      {"universe_domain", "googleapis.com"}};
  return j.dump(2);  // pretty, several lines, as the downloaded file is
}

}  // namespace oneapi::test
