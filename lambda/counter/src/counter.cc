// count_files: opens the root, loads and checks the cache, runs the walk and saves the cache.
#include "efsas/counter/counter.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <unordered_set>

#include "efsas/counter/scan_cache.h"
#include "efsas/path.h"
#include "walker.h"

namespace efsas::counter {

Counts& Counts::operator+=(const Counts& other_counts) {
  files += other_counts.files;
  directories += other_counts.directories;
  symlinks += other_counts.symlinks;
  other += other_counts.other;
  return *this;
}

std::string_view to_string(CacheState state) {
  switch (state) {
    case CacheState::kDisabled:
      return "disabled";
    case CacheState::kLoaded:
      return "loaded";
    case CacheState::kMissing:
      return "missing";
    case CacheState::kInvalid:
      return "invalid";
    case CacheState::kForeign:
      return "foreign";
  }
  return "unknown";
}

double CountResult::seconds() const { return std::chrono::duration<double>(elapsed).count(); }

double CountResult::files_per_second() const {
  const double s = seconds();
  return s > 0 ? static_cast<double>(counts.files) / s : 0.0;
}

nlohmann::json to_json(const CountResult& result) {
  nlohmann::json samples = nlohmann::json::array();
  for (const ScanError& e : result.error_samples) {
    samples.push_back(
        {{"path", escape_for_display(e.path)}, {"errno", e.error_number}, {"message", e.message}});
  }
  nlohmann::json out = {
      {"files", result.counts.files},
      {"directories", result.counts.directories},
      {"symlinks", result.counts.symlinks},
      {"other", result.counts.other},
      {"errors", result.errors},
      {"error_samples", samples},
      {"complete", result.complete},
      {"seconds", result.seconds()},
      {"files_per_second", result.files_per_second()},
      {"directories_read", result.directories_read},
      {"directories_reused", result.directories_reused},
      {"threads", result.threads},
      {"cache", std::string(to_string(result.cache_state))},
      {"cache_saved", result.cache_saved},
  };
  if (!result.complete) out["incomplete_reason"] = result.incomplete_reason;
  if (!result.cache_message.empty()) out["cache_message"] = result.cache_message;
  if (!result.cache_save_error.empty()) out["cache_save_error"] = result.cache_save_error;
  return out;
}

std::string escape_for_display(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  const auto escape = [&out](unsigned char byte) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  };
  for (std::size_t i = 0; i < raw.size();) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      escape(c);
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence_length(raw, i);
    if (length > 0) {
      out.append(raw.substr(i, length));
      i += length;
    } else {
      escape(c);
      ++i;
    }
  }
  return out;
}

namespace {

Error open_error(const std::filesystem::path& root, int error_number) {
  const std::string what = root.string() + ": " + std::strerror(error_number);
  switch (error_number) {
    case ENOENT:
      return make_error(ErrorCode::kNotFound, "no such directory " + what);
    case EACCES:
    case EPERM:
      return make_error(ErrorCode::kPermissionDenied, "cannot open directory " + what);
    case ENOTDIR:
      return make_error(ErrorCode::kInvalidArgument, "not a directory " + what);
    default:
      return make_error(ErrorCode::kIo, "cannot open directory " + what, true);
  }
}

std::string identity_path(const std::filesystem::path& root) {
  std::error_code ec;
  std::string p = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) p = root.string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::uint64_t key_hash(std::uint64_t device, std::uint64_t inode) {
  return inode * 0x9e3779b97f4a7c15ULL ^ device;
}

// The cache to write: the previous records still valid, plus every directory listed now. After a
// partial scan, records of directories not reached are kept: each is checked against the
// directory's timestamps before use, so keeping them can never produce a wrong count. The kept
// records are compacted in `previous`'s own storage, which becomes the new cache: the cache is
// never held twice.
ScanCache next_cache(RootIdentity root, detail::WalkOutput& out,
                     std::optional<ScanCache>& previous) {
  if (!previous) return ScanCache{std::move(root), std::move(out.records)};
  std::vector<DirRecord>& records = previous->records;
  std::unordered_set<std::uint64_t> listed;
  listed.reserve(out.records.size());
  for (const DirRecord& r : out.records) listed.insert(key_hash(r.device, r.inode));
  std::vector<bool> keep(records.size(), !out.result.complete);
  for (std::uint32_t i : out.reused) keep[i] = true;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (keep[i] &&
        (listed.empty() || !listed.contains(key_hash(records[i].device, records[i].inode)))) {
      if (kept != i) records[kept] = std::move(records[i]);
      ++kept;
    }
  }
  records.erase(records.begin() + static_cast<std::ptrdiff_t>(kept), records.end());
  records.reserve(kept + out.records.size());
  std::move(out.records.begin(), out.records.end(), std::back_inserter(records));
  out.records = {};
  ScanCache next{std::move(root), std::move(records)};
  previous.reset();
  return next;
}

// The options cut down to what the process's open-file limit allows (Lambda's is 1,024): a walk
// that ran out of descriptors would fail whole subtrees with EMFILE. Each worker holds up to three
// descriptors (the directory it lists, a parent it re-opened, one being opened); the budget of
// directories kept open gets what is left after a reserve for the rest of the process.
CountOptions within_descriptor_limit(CountOptions options) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return options;
  constexpr rlim_t kReserve = 64;
  const rlim_t usable = limit.rlim_cur > kReserve + 8 ? limit.rlim_cur - kReserve : 8;
  const auto most_threads = static_cast<unsigned>(std::max<rlim_t>(1, usable / 4));
  options.threads = std::min(options.threads == 0 ? 1U : options.threads, most_threads);
  const rlim_t left = usable - std::min<rlim_t>(usable, 3 * rlim_t{options.threads});
  options.max_open_directories =
      std::min(options.max_open_directories, static_cast<std::size_t>(left));
  return options;
}

}  // namespace

Result<CountResult> count_files(const std::filesystem::path& root, const CountOptions& options,
                                const Clock& clock) {
  const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return open_error(root, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    return open_error(root, saved);
  }
  const RootIdentity identity{identity_path(root), static_cast<std::uint64_t>(st.st_dev),
                              static_cast<std::uint64_t>(st.st_ino)};

  CacheState state = CacheState::kDisabled;
  std::string cache_message;
  std::optional<ScanCache> previous;
  if (!options.cache_path.empty()) {
    Result<ScanCache> loaded = load_scan_cache(options.cache_path);
    if (!loaded.ok()) {
      state =
          loaded.error().code == ErrorCode::kNotFound ? CacheState::kMissing : CacheState::kInvalid;
      cache_message = escape_for_display(loaded.error().message);
    } else if (!(loaded->root == identity)) {
      state = CacheState::kForeign;
      cache_message = "scan cache describes " + escape_for_display(loaded->root.path) + ", not " +
                      escape_for_display(identity.path);
    } else {
      state = CacheState::kLoaded;
      previous = std::move(loaded).value();
    }
  }

  const auto scan_start = clock.now().time_since_epoch();
  detail::WalkInput input;
  input.root_fd = fd;
  input.root_path = root.string();
  input.previous = previous ? &*previous : nullptr;
  input.build_cache = !options.cache_path.empty();
  input.racy_after_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            scan_start - options.timestamp_granularity)
                            .count();
  detail::WalkOutput out = detail::walk(input, within_descriptor_limit(options), clock);
  ::close(fd);

  CountResult result = std::move(out.result);
  result.cache_state = state;
  result.cache_message = cache_message;
  if (input.build_cache) {
    const bool unchanged = previous && result.complete && result.directories_read == 0 &&
                           out.reused.size() == previous->records.size();
    if (!unchanged) {
      const ScanCache next = next_cache(identity, out, previous);
      const Status saved = save_scan_cache(options.cache_path, next);
      result.cache_saved = saved.ok();
      if (!saved.ok()) result.cache_save_error = saved.error().message;
    }
  }
  return result;
}

}  // namespace efsas::counter
