#pragma once
// One tiktoken byte-pair encoding (cl100k_base or o200k_base): its ranks and pre-tokenizer.
// Immutable once loaded, so one instance serves every thread without locks.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "tokenizer/pretokenize.hpp"

namespace oneapi::tokenizer {

class Bpe {
 public:
  // Reads a ".tiktoken" rank file ("<base64 token> <rank>" per line), as written by
  // scripts/fetch-tiktoken and by tiktoken itself.
  static Result<std::unique_ptr<const Bpe>> load_file(const std::string& path, Pattern pattern);
  // The same from the file's contents; `origin` names it in error messages.
  static Result<std::unique_ptr<const Bpe>> parse(std::string_view tiktoken_text, Pattern pattern,
                                                  std::string_view origin);

  // tiktoken's encode_ordinary: special tokens such as <|endoftext|> are plain text. tiktoken takes
  // a str, so ill-formed UTF-8 is first read the way Python's decode(errors="replace") reads it:
  // each ill-formed subsequence counts as one U+FFFD.
  std::vector<uint32_t> encode(std::string_view text) const;
  // encode(text).size(), except that a single pre-tokenized piece over 64 KiB (never seen in real
  // text) is estimated at one token per 4 bytes, so counting stays linear in the text's size.
  int64_t count(std::string_view text) const;

  // The merge of one pre-tokenized piece, by tiktoken's quadratic scan (short pieces) or by a heap
  // (long pieces: O(n log n)); both give the same tokens. Public for the tests.
  enum class Merge { automatic, scan, heap };
  std::vector<uint32_t> encode_piece(std::string_view piece, Merge merge = Merge::automatic) const;

  size_t size() const { return entries_.size(); }
  Pattern pattern() const { return pattern_; }

 private:
  static constexpr uint32_t kNoRank = UINT32_MAX;
  struct Entry {
    uint32_t offset;  // into bytes_
    uint32_t length;
    uint32_t rank;
  };

  explicit Bpe(Pattern pattern) : pattern_(pattern) {}
  uint32_t rank(const char* data, size_t length) const;
  template <class Sink>
  void encode_text(std::string_view text, Sink& sink) const;
  template <class Sink>
  void merge_scan(std::string_view piece, Sink& sink) const;
  template <class Sink>
  void merge_heap(std::string_view piece, Sink& sink) const;

  Pattern pattern_;
  std::string bytes_;           // every token's bytes, back to back
  std::vector<Entry> entries_;  // in file order
  // Open addressing, linear probing: (hash >> 32) << 32 | (entry index + 1); 0 is empty.
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
};

}  // namespace oneapi::tokenizer
