// The file-service integration harness: libcurl client, directory storage fixture
// and the service process.
#include "harness.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace efsas::service::testing {
namespace fs = std::filesystem;

std::string StorageFixture::target_id(int index) const {
  return "fsmt-0000000000000000" + std::to_string(index);
}

std::string StorageFixture::list_document(std::uint64_t generation, int count) const {
  nlohmann::json targets = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    targets.push_back({{"id", target_id(i)},
                       {"availability_zone", std::string("ap-northeast-1") + "acd"[i % 3]},
                       {"availability_zone_id", "apne1-az" + std::to_string(i + 1)},
                       {"subnet_id", "subnet-0000000" + std::to_string(i)},
                       {"ip_address", "10.0." + std::to_string(i) + ".10"},
                       {"state", "available"}});
  }
  return nlohmann::json{{"schema_version", 1},
                        {"file_system_id", "fs-0123456789abcdef0"},
                        {"generation", generation},
                        {"updated_at", "2026-11-25T19:30:00.000Z"},
                        {"mount_targets", targets}}
      .dump();
}

namespace {

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t write_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*headers)[name] = value;
  }
  return size * count;
}

class DirectoryStorage final : public StorageFixture {
 public:
  explicit DirectoryStorage(bool inline_local_io) : inline_local_io_(inline_local_io) {
    fs::create_directory(data_dir());
    for (int i = 0; i < 3; ++i) fs::create_directory_symlink(data_dir(), root(i));
  }
  std::string name() const override { return "directory"; }
  std::map<std::string, std::string> env() const override {
    return {{"STORAGE_BACKEND", "directory"},
            {"MOUNT_PATH_TEMPLATE", (dir_.path() / "roots" / "{id}").string()},
            {"INLINE_LOCAL_IO", inline_local_io_ ? "true" : "false"}};
  }
  bool local_storage() const override { return true; }
  bool reads_may_lag_unavailable() const override { return true; }
  fs::path data_dir() const override { return dir_.path() / "data"; }
  void make_unavailable(int index) override { fs::remove(root(index)); }
  void restore(int index) override {
    std::error_code ec;
    fs::create_directory_symlink(data_dir(), root(index), ec);
  }

 private:
  fs::path root(int index) const {
    fs::create_directories(dir_.path() / "roots");
    return dir_.path() / "roots" / target_id(index);
  }
  efsas::testing::TempDir dir_;
  bool inline_local_io_;
};

}  // namespace

HttpResult http(const std::string& method, const std::string& url, const std::string& body,
                const std::map<std::string, std::string>& headers,
                std::chrono::milliseconds timeout) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return result;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = curl_slist_append(nullptr, "Expect:");
  list = curl_slist_append(list, "Content-Type:");
  for (const auto& [name, value] : headers)
    list = curl_slist_append(list, (name + ": " + value).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

std::unique_ptr<StorageFixture> make_directory_storage() {
  return std::make_unique<DirectoryStorage>(true);
}

std::unique_ptr<StorageFixture> make_directory_storage_on_worker_pool() {
  return std::make_unique<DirectoryStorage>(false);
}

fs::path file_service_binary() {
  return efsas::testing::binary_dir() / "fargate" / "app" / "file-service";
}

int listening_port(efsas::testing::Process& process, std::chrono::milliseconds timeout) {
  return efsas::testing::wait_for_logged_port(
      process,
      [](std::string_view line) {
        const auto entry = nlohmann::json::parse(line, nullptr, false);
        if (entry.is_object() && entry.value("message", "") == "listening" &&
            entry.contains("port") && entry["port"].is_number_integer()) {
          return entry["port"].get<int>();
        }
        return 0;
      },
      timeout);
}

ServiceProcess::ServiceProcess(const StorageFixture& storage, const fs::path& list_file,
                               std::map<std::string, std::string> extra_env) {
  efsas::testing::ProcessOptions options;
  options.argv = {file_service_binary().string()};
  options.env = storage.env();
  options.env["LISTEN_ADDRESS"] = "127.0.0.1";
  options.env["PORT"] = "0";
  if (!list_file.empty()) options.env["MOUNT_TARGETS_FILE"] = list_file.string();
  options.env["HEALTH_INTERVAL_MS"] = "100";
  // Probes often, each with the default bound (1 s): a probe slowed by a loaded machine is not a
  // failure.
  options.env["HEALTH_TIMEOUT_MS"] = "1000";
  options.env["SHUTDOWN_GRACE_SECONDS"] = "5";
  options.env["WORKER_THREADS"] = "8";
  options.env["IO_THREADS"] = "2";
  for (auto& [name, value] : extra_env) options.env[name] = value;
  options.unset_env = {"SSM_PARAMETER_NAME"};
  if (options.env.contains("SSM_PARAMETER_NAME")) options.unset_env.clear();
  options.log_file = dir_.path() / "file-service.log";
  process_ = std::make_unique<efsas::testing::Process>(options);
  port_ = listening_port(*process_, std::chrono::seconds(10));
  if (port_ == 0) throw std::runtime_error("file-service did not start: " + process_->log());
}

std::string ServiceProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

}  // namespace efsas::service::testing
