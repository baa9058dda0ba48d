// scripts/install staged with DESTDIR, the systemd unit checked by systemd-analyze, and the
// daemon's Type=notify readiness.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/daemon_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi::test;
namespace fs = std::filesystem;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("scripts/install stages binaries, man pages, completions, the unit and a private env file",
          "[cli][install]") {
  TempDir root{"oneapi-install-"};
  const std::string script = std::string(ONEAPI_SOURCE_DIR) + "/scripts/install";
  const std::map<std::string, std::string> env{{"DESTDIR", root.path().string()}};
  auto r = run_command({"/bin/bash", script, "--prefix", "/opt/oneapi", "--no-build"}, env);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string base = root.path().string();
  for (const char* f : {"/opt/oneapi/bin/oneapid", "/opt/oneapi/bin/oneapictl"}) {
    INFO(f);
    CHECK(::access((base + f).c_str(), X_OK) == 0);
  }
  CHECK(fs::exists(base + "/opt/oneapi/share/man/man1/oneapictl.1"));
  CHECK(fs::exists(base + "/opt/oneapi/share/man/man8/oneapid.8"));
  CHECK(fs::exists(base + "/opt/oneapi/share/bash-completion/completions/oneapictl"));
  CHECK(fs::exists(base + "/opt/oneapi/share/zsh/site-functions/_oneapictl"));
  const std::string unit = slurp(base + "/etc/systemd/system/oneapid.service");
  CHECK(unit.find("ExecStart=/opt/oneapi/bin/oneapid ") != std::string::npos);
  CHECK(unit.find(" --env-file /run/oneapi/oneapid.env") != std::string::npos);  // re-read at reload
  CHECK(unit.find("ExecReload=+") != std::string::npos);
  CHECK(unit.find("kill -HUP \"$MAINPID\"") != std::string::npos);
  CHECK(unit.find("Type=notify") != std::string::npos);
  CHECK(unit.find("DynamicUser=yes") != std::string::npos);
  CHECK(unit.find("NoNewPrivileges=yes") != std::string::npos);
  CHECK(unit.find("ProtectSystem=strict") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat((base + "/etc/oneapi/oneapid.env").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // A second install keeps the operator's settings.
  { std::ofstream(base + "/etc/oneapi/oneapid.env") << "PORT=8080\n"; }
  REQUIRE(run_command({"/bin/bash", script, "--prefix", "/opt/oneapi", "--no-build"}, env).exit_code == 0);
  CHECK(slurp(base + "/etc/oneapi/oneapid.env") == "PORT=8080\n");
  CHECK(run_command({"/bin/bash", script, "--bogus"}, env).exit_code == 2);
}

TEST_CASE("the systemd unit passes systemd-analyze verify", "[cli][install]") {
  if (!fs::exists("/usr/bin/systemd-analyze")) {
    WARN("systemd-analyze is not installed; the unit was not verified");
    return;
  }
  TempDir dir{"oneapi-unit-"};
  const std::string unit = dir.file("oneapid.service");
  std::string text = slurp(std::string(ONEAPI_SOURCE_DIR) + "/scripts/oneapid.service");
  const std::string from = "ExecStart=/usr/local/bin/oneapid";
  REQUIRE(text.find(from) != std::string::npos);
  text.replace(text.find(from), from.size(), std::string("ExecStart=") + ONEAPID_PATH);
  { std::ofstream(unit) << text; }
  auto r = run_command({"/usr/bin/systemd-analyze", "verify", "--man=no", unit});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());  // an unknown key or a bad value is only a warning: none allowed
}

TEST_CASE("oneapid tells systemd READY=1 once listening, RELOADING=1 at SIGHUP, STOPPING=1 on SIGTERM",
          "[cli][install]") {
  TempDir dir{"oneapi-notify-"};
  const std::string path = dir.file("notify.sock");
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  auto receive = [&] {
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  {
    Daemon d({{"NOTIFY_SOCKET", path}});
    d.start();
    CHECK(receive() == "READY=1");
    const int pid = nlohmann::json::parse(slurp(d.data_dir() + "/ready.json"))["pid"].get<int>();
    REQUIRE(::kill(pid, SIGHUP) == 0);
    CHECK(receive().rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
    CHECK(receive() == "READY=1");
    CHECK(d.stop(SIGTERM) == 0);
    CHECK(receive() == "STOPPING=1");
  }
  ::close(fd);
}
