// Shared pieces of the back-end interface.
#include "efsas/service/backend.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "efsas/service/http_message.h"

namespace efsas::service {

namespace {

// Writes `value` in hexadecimal (at most 16 digits) and returns the position after it.
char* put_hex(char* at, std::uint64_t value) { return std::to_chars(at, at + 16, value, 16).ptr; }

}  // namespace

std::string make_etag(std::uint64_t inode, std::uint64_t size, SystemTime modified) {
  const auto mtime_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(modified.time_since_epoch()).count());
  char out[52];  // '"', three numbers of up to 16 digits, two '-', '"'
  char* at = out;
  *at++ = '"';
  at = put_hex(at, inode);
  *at++ = '-';
  at = put_hex(at, size);
  *at++ = '-';
  at = put_hex(at, mtime_ns);
  *at++ = '"';
  return std::string(out, at);
}

Status check_write_condition(const WriteCondition& condition, const FileInfo* current) {
  if (condition.if_match) {
    if (current == nullptr)
      return make_error(ErrorCode::kPreconditionFailed, "the file does not exist");
    if (!etag_list_matches(*condition.if_match, current->etag, /*weak_ok=*/false)) {
      return make_error(ErrorCode::kPreconditionFailed, "the file's etag does not match");
    }
  } else if (condition.if_unmodified_since && current != nullptr &&
             std::chrono::floor<std::chrono::seconds>(current->modified) >
                 *condition.if_unmodified_since) {
    return make_error(ErrorCode::kPreconditionFailed,
                      "the file was modified after the If-Unmodified-Since date");
  }
  if (condition.if_none_match_any && current != nullptr) {
    return make_error(ErrorCode::kPreconditionFailed, "the file already exists");
  }
  if (condition.if_none_match && current != nullptr &&
      etag_list_matches(*condition.if_none_match, current->etag, /*weak_ok=*/true)) {
    return make_error(ErrorCode::kPreconditionFailed, "the file's etag matches If-None-Match");
  }
  return {};
}

NameLocks::Hold::Hold(Hold&& other) noexcept
    : locks_(std::exchange(other.locks_, nullptr)), key_(std::move(other.key_)) {}

NameLocks::Hold& NameLocks::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    release();
    locks_ = std::exchange(other.locks_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

void NameLocks::Hold::release() {
  if (locks_ != nullptr) locks_->unlock(key_);
  locks_ = nullptr;
}

Error name_busy(std::string_view path) {
  Error error = make_error(ErrorCode::kUnavailable,
                           "'" + std::string(path) + "' is being written by another writer", true);
  error.remote_code = std::string(kNameBusy);
  return error;
}

NameLocks::Hold NameLocks::lock(std::string key, SteadyTime deadline) {
  std::unique_lock lock(mutex_);
  Entry& entry = entries_[key];
  ++entry.waiting;
  const auto free = [&] { return !entry.held; };
  bool got = true;
  if (deadline == SteadyTime::max()) {
    released_.wait(lock, free);
  } else {
    got = released_.wait_until(lock, deadline, free);
  }
  --entry.waiting;
  if (!got) return Hold();  // still held by another, who erases the entry when done
  entry.held = true;
  return Hold(this, std::move(key));
}

void NameLocks::unlock(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) fail_invariant("a name lock released twice");
    it->second.held = false;
    if (it->second.waiting == 0) entries_.erase(it);
  }
  released_.notify_all();
}

Result<std::size_t> MemoryBodySource::read(std::span<char> buffer) {
  const std::size_t n = std::min(buffer.size(), data_.size() - position_);
  if (n > 0) std::memcpy(buffer.data(), data_.data() + position_, n);
  position_ += n;
  return n;
}

ListPage page_after(const std::vector<ListEntry>& sorted, std::size_t limit, std::string_view token,
                    const LookUp& look) {
  auto it = std::upper_bound(sorted.begin(), sorted.end(), token,
                             [](std::string_view t, const ListEntry& e) { return t < e.name; });
  ListPage page;
  const std::size_t wanted = std::max<std::size_t>(1, limit);
  for (; it != sorted.end() && page.entries.size() < wanted; ++it) {
    if (!look) {
      page.entries.push_back(*it);
    } else if (auto entry = look(*it)) {
      page.entries.push_back(std::move(*entry));
    }
  }
  // The loop stops at the end or with a full page, which is never empty.
  if (it != sorted.end()) page.next_token = page.entries.back().name;
  return page;
}

ListingCache& listing_cache() {
  static ListingCache cache;
  return cache;
}

Result<ListingCache::Entries> ListingCache::listing(
    const std::string& key, std::size_t limit, const std::function<std::optional<Stamp>()>& stamp,
    const std::function<Result<Entries>()>& read) {
  if (has(key)) {
    if (const auto now_stamp = stamp()) {
      if (auto kept = find(key, *now_stamp, std::chrono::system_clock::now())) return kept;
    }
  }
  const SystemTime started = std::chrono::system_clock::now();
  auto entries = read();
  if (!entries.ok()) return entries.error();
  if ((*entries)->size() > limit) {
    if (const auto read_stamp = stamp()) store(key, *read_stamp, started, *entries);
  }
  return entries;
}

bool ListingCache::has(const std::string& dir) const {
  std::lock_guard lock(mutex_);
  return kept_.contains(dir);
}

ListingCache::Entries ListingCache::find(const std::string& dir, const Stamp& stamp,
                                         SystemTime now) {
  std::lock_guard lock(mutex_);
  auto it = kept_.find(dir);
  if (it == kept_.end()) return nullptr;
  const Kept& kept = it->second;
  if (kept.stamp.inode != stamp.inode || kept.stamp.modified != stamp.modified ||
      now - kept.started > kMaxAge || now < kept.started) {
    drop_locked(it);
    return nullptr;
  }
  it->second.last_use = ++uses_;
  return kept.entries;
}

void ListingCache::store(const std::string& dir, const Stamp& stamp, SystemTime started,
                         Entries entries) {
  // A directory changed near or after the read began may have changed within one timestamp
  // granule of what the read saw: a later stamp could match a different content.
  if (!entries || stamp.modified + kRacyMargin > started) return;
  if (entries->size() > max_entries_) return;
  std::lock_guard lock(mutex_);
  if (auto it = kept_.find(dir); it != kept_.end()) drop_locked(it);
  while (total_ + entries->size() > max_entries_) {
    auto oldest = std::min_element(kept_.begin(), kept_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    drop_locked(oldest);
  }
  total_ += entries->size();
  kept_.emplace(dir, Kept{stamp, started, std::move(entries), ++uses_});
}

void ListingCache::drop_locked(std::unordered_map<std::string, Kept>::iterator it) {
  total_ -= it->second.entries->size();
  kept_.erase(it);
}

Result<std::size_t> FileBodySource::read(std::span<char> buffer) {
  const auto n =
      static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size_ - position_));
  if (n == 0) return std::size_t{0};
  while (true) {
    const ssize_t got = ::pread(fd_, buffer.data(), n, static_cast<off_t>(position_));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return make_error(ErrorCode::kInternal,
                        std::string("reading the spooled body: ") + std::strerror(errno));
    }
    if (got == 0) return make_error(ErrorCode::kInternal, "the spooled body is shorter than sent");
    position_ += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
  }
}

}  // namespace efsas::service
