#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

namespace oneapi::tokenizer {

namespace {

// Pieces up to this many bytes use tiktoken's quadratic scan, which beats a heap on short input;
// almost every piece of real text is far shorter.
constexpr size_t kScanMax = 128;
// count() estimates pieces longer than this (one token per 4 bytes) instead of merging them: real
// text never has such pieces (they are words, numbers, punctuation or whitespace runs), but one
// 32 MiB run of a single letter would otherwise hold an I/O thread for seconds.
constexpr size_t kCountExactMax = 64 * 1024;

uint64_t hash_bytes(const char* data, size_t length) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then a splitmix64 finish: FNV's low bits are weak
  for (size_t i = 0; i < length; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

constexpr std::array<int8_t, 256> base64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}

// Appends the decoded bytes of standard, padded base64; false if malformed.
bool base64_decode(std::string_view in, std::string& out) {
  static constexpr auto table = base64_table();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;
      v[k] = table[static_cast<unsigned char>(c)];
      if (v[k] < 0) return false;
    }
    const uint32_t triple = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out.push_back(static_cast<char>(triple >> 16));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xFF));
  }
  return true;
}

struct CountSink {
  static constexpr bool kBounded = true;
  int64_t n = 0;
  void add(uint32_t) { ++n; }
};

struct IdSink {
  static constexpr bool kBounded = false;
  std::vector<uint32_t>& out;
  void add(uint32_t rank) { out.push_back(rank); }
};

}  // namespace

Result<std::unique_ptr<const Bpe>> Bpe::load_file(const std::string& path, Pattern pattern) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Error::make(ErrorKind::internal, "cannot open " + path + ": " + std::strerror(errno));
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Error::make(ErrorKind::internal, "cannot read " + path);
  return parse(text, pattern, path);
}

Result<std::unique_ptr<const Bpe>> Bpe::parse(std::string_view text, Pattern pattern, std::string_view origin) {
  std::unique_ptr<Bpe> bpe(new Bpe(pattern));
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  bpe->entries_.reserve(lines);
  bpe->bytes_.reserve(text.size() * 3 / 4);
  size_t capacity = 1024;
  while (capacity < lines * 2) capacity *= 2;
  bpe->slots_.assign(capacity, 0);
  bpe->mask_ = capacity - 1;

  const auto fail = [&](size_t line, const std::string& why) {
    return Error::make(ErrorKind::internal, std::string(origin) + ":" + std::to_string(line) + ": " + why);
  };
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    ++line_no;
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return fail(line_no, "expected \"<base64 token> <rank>\"");
    const size_t offset = bpe->bytes_.size();
    if (!base64_decode(line.substr(0, space), bpe->bytes_)) return fail(line_no, "malformed base64");
    std::string_view digits = line.substr(space + 1);
    uint64_t rank = 0;
    if (digits.empty() || digits.size() > 10) return fail(line_no, "malformed rank");
    for (char c : digits) {
      if (c < '0' || c > '9') return fail(line_no, "malformed rank");
      rank = rank * 10 + uint64_t(c - '0');
    }
    if (rank >= kNoRank) return fail(line_no, "rank out of range");
    const auto length = static_cast<uint32_t>(bpe->bytes_.size() - offset);
    if (bpe->bytes_.size() >= UINT32_MAX || bpe->entries_.size() * 2 >= capacity)
      return fail(line_no, "too many tokens");
    // One probe both finds a duplicate and the free slot.
    const char* token = bpe->bytes_.data() + offset;
    const uint64_t h = hash_bytes(token, length);
    const uint64_t tag = h & 0xFFFFFFFF00000000ULL;
    uint64_t slot = h & bpe->mask_;
    for (; bpe->slots_[slot] != 0; slot = (slot + 1) & bpe->mask_) {
      const uint64_t v = bpe->slots_[slot];
      const Entry& e = bpe->entries_[(v & 0xFFFFFFFFULL) - 1];
      if ((v & 0xFFFFFFFF00000000ULL) == tag && e.length == length &&
          std::memcmp(bpe->bytes_.data() + e.offset, token, length) == 0)
        return fail(line_no, "duplicate token");
    }
    bpe->slots_[slot] = tag | (bpe->entries_.size() + 1);
    bpe->entries_.push_back({static_cast<uint32_t>(offset), length, static_cast<uint32_t>(rank)});
  }
  // Every byte must be a token: the merge starts from single bytes and must be able to stop there.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (bpe->rank(&c, 1) == kNoRank)
      return Error::make(ErrorKind::internal, std::string(origin) + ": byte " + std::to_string(b) + " has no rank");
  }
  return std::unique_ptr<const Bpe>(std::move(bpe));
}

uint32_t Bpe::rank(const char* data, size_t length) const {
  const uint64_t h = hash_bytes(data, length);
  const uint64_t tag = h & 0xFFFFFFFF00000000ULL;
  for (uint64_t slot = h & mask_;; slot = (slot + 1) & mask_) {
    const uint64_t v = slots_[slot];
    if (v == 0) return kNoRank;
    if ((v & 0xFFFFFFFF00000000ULL) != tag) continue;
    const Entry& e = entries_[(v & 0xFFFFFFFFULL) - 1];
    if (e.length == length && std::memcmp(bytes_.data() + e.offset, data, length) == 0) return e.rank;
  }
}

// tiktoken's _byte_pair_merge: parts[k] is where the k-th part starts and the rank of it merged with
// the next part; repeatedly merge the lowest rank (the leftmost of equal ranks).
template <class Sink>
void Bpe::merge_scan(std::string_view piece, Sink& sink) const {
  struct Part {
    uint32_t start;
    uint32_t rank;
  };
  const size_t n = piece.size();
  std::array<Part, kScanMax + 1> small;
  std::vector<Part> large;
  Part* parts = small.data();
  if (n + 1 > small.size()) {
    large.resize(n + 1);
    parts = large.data();
  }
  const char* p = piece.data();
  for (size_t i = 0; i + 1 < n; ++i) parts[i] = {static_cast<uint32_t>(i), rank(p + i, 2)};
  parts[n - 1] = {static_cast<uint32_t>(n - 1), kNoRank};
  parts[n] = {static_cast<uint32_t>(n), kNoRank};
  size_t count = n + 1;
  const auto rank_at = [&](size_t i) {
    return i + 3 < count ? rank(p + parts[i].start, parts[i + 3].start - parts[i].start) : kNoRank;
  };
  for (;;) {
    uint32_t min_rank = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < count; ++i)
      if (parts[i].rank < min_rank) {
        min_rank = parts[i].rank;
        at = i;
      }
    if (min_rank == kNoRank) break;
    if (at > 0) parts[at - 1].rank = rank_at(at - 1);
    parts[at].rank = rank_at(at);
    std::memmove(parts + at + 1, parts + at + 2, (count - at - 2) * sizeof(Part));
    --count;
  }
  for (size_t i = 0; i + 1 < count; ++i) sink.add(rank(p + parts[i].start, parts[i + 1].start - parts[i].start));
}

// The same merges in O(n log n): a linked list of parts and a heap of (rank, start) candidates.
// Entries go stale when a neighbour merges; a popped entry counts only if its part is alive and
// still has that rank. Ordering by (rank, start) picks what the scan picks: lowest, then leftmost.
template <class Sink>
void Bpe::merge_heap(std::string_view piece, Sink& sink) const {
  const auto n = static_cast<uint32_t>(piece.size());
  const char* p = piece.data();
  std::vector<uint32_t> next(n + 1), prev(n), rank_of(n);
  std::vector<uint8_t> alive(n, 1);
  // A candidate is rank << 32 | start: one integer compare orders by rank, then leftmost.
  std::vector<uint64_t> heap;
  heap.reserve(n);
  const auto candidate = [](uint32_t r, uint32_t start) { return (uint64_t(r) << 32) | start; };
  for (uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i - 1;
    rank_of[i] = i + 1 < n ? rank(p + i, 2) : kNoRank;
    if (rank_of[i] != kNoRank) heap.push_back(candidate(rank_of[i], i));
  }
  next[n] = n;
  const auto cmp = std::greater<uint64_t>();
  std::make_heap(heap.begin(), heap.end(), cmp);
  const auto push = [&](uint32_t r, uint32_t start) {
    heap.push_back(candidate(r, start));
    std::push_heap(heap.begin(), heap.end(), cmp);
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto r = static_cast<uint32_t>(top >> 32), i = static_cast<uint32_t>(top);
    if (!alive[i] || rank_of[i] != r) continue;
    const uint32_t j = next[i], k = next[j];
    alive[j] = 0;
    next[i] = k;
    if (k < n) prev[k] = i;
    rank_of[i] = k < n ? rank(p + i, next[k] - i) : kNoRank;
    if (rank_of[i] != kNoRank) push(rank_of[i], i);
    if (i > 0) {
      const uint32_t h = prev[i];
      rank_of[h] = rank(p + h, k - h);
      if (rank_of[h] != kNoRank) push(rank_of[h], h);
    }
  }
  for (uint32_t i = 0; i < n; i = next[i]) sink.add(rank(p + i, next[i] - i));
}

template <class Sink>
void Bpe::encode_text(std::string_view text, Sink& sink) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = repair_utf8(text);
    text = repaired;
  }
  Pretokenizer pieces(pattern_, text);
  std::string_view piece;
  while (pieces.next(piece)) {
    if (uint32_t r = rank(piece.data(), piece.size()); r != kNoRank) {
      sink.add(r);
    } else if (piece.size() <= kScanMax) {
      merge_scan(piece, sink);
    } else if constexpr (Sink::kBounded) {
      if (piece.size() > kCountExactMax)
        sink.n += static_cast<int64_t>((piece.size() + 3) / 4);
      else
        merge_heap(piece, sink);
    } else {
      merge_heap(piece, sink);
    }
  }
}

std::vector<uint32_t> Bpe::encode(std::string_view text) const {
  std::vector<uint32_t> out;
  IdSink sink{out};
  encode_text(text, sink);
  return out;
}

int64_t Bpe::count(std::string_view text) const {
  CountSink sink;
  encode_text(text, sink);
  return sink.n;
}

std::vector<uint32_t> Bpe::encode_piece(std::string_view piece, Merge merge) const {
  std::vector<uint32_t> out;
  IdSink sink{out};
  if (piece.empty()) return out;
  if (merge == Merge::automatic) {
    if (uint32_t r = rank(piece.data(), piece.size()); r != kNoRank) {
      out.push_back(r);
      return out;
    }
    merge = piece.size() <= kScanMax ? Merge::scan : Merge::heap;
  }
  if (piece.size() == 1)
    sink.add(rank(piece.data(), 1));
  else if (merge == Merge::scan)
    merge_scan(piece, sink);
  else
    merge_heap(piece, sink);
  return out;
}

}  // namespace oneapi::tokenizer
