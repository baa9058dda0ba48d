#pragma once
// Steady writes against a SQLite store, for the tests of how large its WAL file grows.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "store/sqlite_vfs.hpp"
#include "store/store.hpp"

namespace oneapi::test {

// A frame is a 24-byte header and a 4096-byte page; the file starts with a 32-byte header.
inline uintmax_t wal_bytes(uintmax_t frames) { return 32 + frames * (24 + 4096); }

// A user, an unlimited token of theirs and a channel: what steady billed requests need.
struct BilledAccount {
  int64_t user_id = 0;
  int64_t token_id = 0;
  int64_t channel_id = 0;

  static BilledAccount create(store::Store& db) {
    store::User u;
    u.username = "steady";
    u.quota = 1'000'000'000;
    u.status = 1;
    BilledAccount a;
    a.user_id = db.insert_user(u).value().id;
    store::Token t;
    t.user_id = a.user_id;
    t.name = "t";
    t.unlimited_quota = true;
    t.status = 1;
    a.token_id = db.insert_token(t).value().id;
    store::Channel c;
    c.name = "ch";
    c.key = "sk-upstream";
    c.models = "gpt-4";
    c.group = "default";
    a.channel_id = db.insert_channel(c).value().id;
    return a;
  }
};

// A billed request as the relay writes it: its pre-charge, then its settle.
inline void charge_and_settle(store::Store& db, const BilledAccount& a, const std::string& request_id) {
  store::PreChargeRequest pre;
  pre.token_id = a.token_id;
  pre.user_id = a.user_id;
  pre.amount = 10;
  pre.pending.model_name = "gpt-4";
  pre.pending.channel_id = a.channel_id;
  pre.pending.request_id = request_id;
  auto log_id = db.pre_charge(pre);
  if (!log_id) throw std::runtime_error("pre_charge: " + log_id.error().message);
  store::Settlement s;
  s.log_id = *log_id;
  s.token_id = a.token_id;
  s.user_id = a.user_id;
  s.channel_id = a.channel_id;
  s.pre_charged = 10;
  s.quota = 7;
  s.model_name = "gpt-4";
  if (auto r = db.settle(s); !r) throw std::runtime_error("settle: " + r.error().message);
}

// WAL frames SQLite has appended, in all its files, since this was made.
class WalFramesWritten {
 public:
  uint64_t operator()() const { return (store::sqlite::wal_write_counts().asked - asked_at_start_) / 2; }

 private:
  // SQLite writes a frame as two calls, its header and its page (the count is of the calls).
  uint64_t asked_at_start_ = store::sqlite::wal_write_counts().asked;
};

// Calls `write(n)` for n = 1, 2, … with no pause until SQLite has appended `frames` WAL frames in
// all, and returns the largest size `wal_file` reached meanwhile.
inline uintmax_t largest_wal_while_writing(const std::filesystem::path& wal_file, uint64_t frames,
                                           const std::function<void(int)>& write) {
  const WalFramesWritten written;
  uintmax_t largest = 0;
  for (int n = 1; written() < frames; ++n) {
    write(n);
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(wal_file, ec);
    if (!ec && size > largest) largest = size;
  }
  return largest;
}

// The WAL header's checkpoint sequence number: it moves each time the WAL starts over.
inline uint32_t wal_checkpoint_sequence(const std::filesystem::path& wal_file) {
  unsigned char header[16] = {};
  std::ifstream in(wal_file, std::ios::binary);
  in.read(reinterpret_cast<char*>(header), sizeof header);
  return (uint32_t{header[12]} << 24) | (uint32_t{header[13]} << 16) | (uint32_t{header[14]} << 8) | header[15];
}

}  // namespace oneapi::test
