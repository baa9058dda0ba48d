#pragma once
// Password hashes: PBKDF2-HMAC-SHA256 with a random salt, stored as
// "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>". (One API stores bcrypt; those hashes are
// not recognised, so such users need a new password.)
#include <string>
#include <string_view>

namespace oneapi {

std::string hash_password(std::string_view password);
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace oneapi
