#include "admin/unix_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

namespace oneapi::admin {

namespace {

// Closes the descriptor on every path out of unix_http_request.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr size_t kMaxResponse = 256u << 20;  // far above any admin answer; stops a runaway peer

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

enum class Parse { incomplete, complete, invalid };

// Decodes a chunked body starting at `data`; complete once the last chunk (and its trailers)
// have arrived.
Parse decode_chunked(std::string_view data, std::string& out) {
  out.clear();
  size_t pos = 0;
  for (;;) {
    size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return Parse::incomplete;
    std::string_view size_line = data.substr(pos, eol - pos);
    if (auto semi = size_line.find(';'); semi != std::string_view::npos) size_line = size_line.substr(0, semi);
    size_line = trim_ws(size_line);
    if (size_line.empty()) return Parse::invalid;
    size_t size = 0;
    for (char c : size_line) {
      int digit = (c >= '0' && c <= '9')   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0 || size > (kMaxResponse >> 4)) return Parse::invalid;
      size = size * 16 + static_cast<size_t>(digit);
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailers end with an empty line.
      for (;;) {
        size_t end = data.find("\r\n", pos);
        if (end == std::string_view::npos) return Parse::incomplete;
        if (end == pos) return Parse::complete;
        pos = end + 2;
      }
    }
    if (data.size() < pos + size + 2) return Parse::incomplete;
    out.append(data.substr(pos, size));
    if (data.substr(pos + size, 2) != "\r\n") return Parse::invalid;
    pos += size + 2;
  }
}

// Parses what has arrived so far. `eof` says the peer has closed, which completes a body that
// has neither Content-Length nor chunked framing.
Parse parse_response(std::string_view raw, bool eof, UnixResponse& out) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (raw.size() >= 5 && raw.substr(0, 5) != "HTTP/") return Parse::invalid;
    return eof ? Parse::invalid : Parse::incomplete;
  }
  std::string_view head = raw.substr(0, head_end);
  std::string_view rest = raw.substr(head_end + 4);

  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (status_line.substr(0, 5) != "HTTP/") return Parse::invalid;
  size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) return Parse::invalid;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    char c = status_line[i];
    if (c < '0' || c > '9') return Parse::invalid;
    status = status * 10 + (c - '0');
  }
  out.status = status;

  bool chunked = false;
  bool has_length = false;
  size_t length = 0;
  std::string_view headers = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!headers.empty()) {
    size_t eol = headers.find("\r\n");
    std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim_ws(line.substr(0, colon));
    std::string_view value = trim_ws(line.substr(colon + 1));
    if (iequal(name, "Content-Length")) {
      length = 0;
      if (value.empty()) return Parse::invalid;
      for (char c : value) {
        if (c < '0' || c > '9' || length > kMaxResponse) return Parse::invalid;
        length = length * 10 + static_cast<size_t>(c - '0');
      }
      has_length = true;
    } else if (iequal(name, "Transfer-Encoding")) {
      chunked = value.size() >= 7 && iequal(value.substr(value.size() - 7), "chunked");
    }
  }

  if (chunked) {
    Parse p = decode_chunked(rest, out.body);
    if (p == Parse::incomplete && eof) return Parse::invalid;
    return p;
  }
  if (has_length) {
    if (rest.size() < length) return eof ? Parse::invalid : Parse::incomplete;
    out.body.assign(rest.substr(0, length));
    return Parse::complete;
  }
  if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
    out.body.clear();
    return Parse::complete;
  }
  if (!eof) return Parse::incomplete;
  out.body.assign(rest);
  return Parse::complete;
}

std::string connect_hint(int err) {
  switch (err) {
    case ENOENT:
    case ECONNREFUSED:
      return " (is oneapid running?)";
    case EACCES:
    case EPERM:
      return " (the admin socket is accessible only to the user running oneapid)";
    case ENOTSOCK:
      return " (not a socket)";
    default:
      return {};
  }
}

// Milliseconds left until the deadline, or -1 (wait forever) when there is none.
int remaining_ms(bool has_deadline, std::chrono::steady_clock::time_point deadline) {
  if (!has_deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

// Waits until fd is ready for `events` (EINTR counts as ready: the caller retries); false with
// `error` set on a timeout or a poll failure.
bool wait_ready(int fd, short events, bool has_deadline, std::chrono::steady_clock::time_point deadline,
                const std::string& timeout_msg, std::string& error) {
  pollfd p{fd, events, 0};
  int pr = ::poll(&p, 1, remaining_ms(has_deadline, deadline));
  if (pr < 0 && errno == EINTR) return true;
  if (pr < 0) {
    error = std::string("poll failed: ") + std::strerror(errno);
    return false;
  }
  if (pr == 0) {
    error = timeout_msg;
    return false;
  }
  return true;
}

}  // namespace

bool unix_http_request(const std::string& socket_path, const std::string& method, const std::string& target,
                       const std::string& body, UnixResponse& out, std::string& error, int timeout_seconds) {
  out = UnixResponse{};
  error.clear();
  const std::string where = "oneapid at " + socket_path;

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty()) {
    error = "no admin socket given (use --socket or ONEAPI_SOCKET)";
    return false;
  }
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    error = "admin socket path is too long (at most " + std::to_string(sizeof(addr.sun_path) - 1) +
            " bytes): " + socket_path;
    return false;
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    error = std::string("cannot create a socket: ") + std::strerror(errno);
    return false;
  }
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    error = "cannot connect to " + where + ": " + std::strerror(err) + connect_hint(err);
    return false;
  }
  // Non-blocking from here on, so that poll() bounds every wait.
  if (int flags = ::fcntl(fd.get(), F_GETFL, 0); flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    error = std::string("cannot configure the socket: ") + std::strerror(errno);
    return false;
  }

  const bool has_deadline = timeout_seconds > 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(has_deadline ? timeout_seconds : 0);
  const std::string timeout_msg =
      "no answer from " + where + " within " + std::to_string(timeout_seconds) + " s (try a larger --timeout)";

  std::string request;
  request.reserve(256 + body.size());
  request += method + " " + target + " HTTP/1.1\r\n";
  request += "Host: localhost\r\nConnection: close\r\nAccept: application/json\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;

  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd.get(), POLLOUT, has_deadline, deadline, timeout_msg, error)) return false;
      continue;
    }
    error = "cannot send the request to " + where + ": " + std::strerror(errno);
    return false;
  }

  std::string raw;
  char buf[16384];
  bool eof = false;
  for (;;) {
    if (!raw.empty() || eof) {
      Parse p = parse_response(raw, eof, out);
      if (p == Parse::complete) return true;
      if (p == Parse::invalid) {
        error = eof && raw.rfind("HTTP/", 0) == 0 ? "connection to " + where + " closed before the answer was complete"
                                                  : "unexpected answer from " + where + " (not HTTP)";
        if (raw.empty()) error = "connection to " + where + " closed without an answer";
        return false;
      }
    }
    if (raw.size() > kMaxResponse) {
      error = "answer from " + where + " is too large";
      return false;
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      eof = true;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd.get(), POLLIN, has_deadline, deadline, timeout_msg, error)) return false;
      continue;
    }
    if (errno == ECONNRESET && !raw.empty()) {  // the peer closed after writing everything
      eof = true;
      continue;
    }
    error = "cannot read the answer from " + where + ": " + std::strerror(errno);
    return false;
  }
}

}  // namespace oneapi::admin
