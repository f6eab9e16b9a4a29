// Encoding, checksum and atomic storage of the incremental scan's cache.
// Layout (little endian): "EFSASCNT", u32 version, u32 reserved, u64 body length, 32-byte
// SHA-256 of the body, then the body: root (path, device, inode), record count, records.
#include "efsas/counter/scan_cache.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace efsas::counter {
namespace {

constexpr std::string_view kMagic = "EFSASCNT";
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 8 + SHA256_DIGEST_LENGTH;
// The cache moves between memory and its file in pieces of this size, never whole: a cache of a
// million directories is about a hundred megabytes, and Lambda's memory is what bounds it.
constexpr std::size_t kChunk = std::size_t{256} << 10;

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

// Every number in the file is an unsigned little-endian integer of n bytes.
void put_le(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}
std::uint64_t get_le(const char* in, std::size_t n) {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < n; ++i) {
    x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return x;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      fail_invariant("scan cache: SHA-256 is not available");
    }
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  Digest finish() {
    Digest out{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &n);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Encodes the body's fields into chunks, hashed and handed to `emit` as each fills. After a
// failed emit the rest is still hashed and counted but not emitted.
class Writer {
 public:
  explicit Writer(std::function<bool(std::string_view)> emit) : emit_(std::move(emit)) {
    chunk_.reserve(kChunk);
  }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    while (!s.empty()) {
      const std::size_t take = std::min(s.size(), kChunk - chunk_.size());
      chunk_.append(s.substr(0, take));
      s.remove_prefix(take);
      if (chunk_.size() == kChunk) flush();
    }
  }
  // Emits what is left; the body's length and checksum, or nullopt if an emit failed.
  std::optional<std::pair<std::uint64_t, Digest>> finish() {
    flush();
    if (!ok_) return std::nullopt;
    return std::pair{length_, hash_.finish()};
  }

 private:
  void put(std::uint64_t v, std::size_t n) {
    if (chunk_.size() + n > kChunk) flush();  // never past its capacity
    put_le(chunk_, v, n);
  }
  void flush() {
    if (chunk_.empty()) return;
    hash_.update(chunk_.data(), chunk_.size());
    length_ += chunk_.size();
    ok_ = ok_ && emit_(chunk_);
    chunk_.clear();
  }
  std::function<bool(std::string_view)> emit_;
  std::string chunk_;
  Sha256 hash_;
  std::uint64_t length_ = 0;
  bool ok_ = true;
};

// Decodes the body's fields from `source` (which fills a buffer and returns the bytes it put
// there: 0 at its end, -1 on an error), `length` bytes in all, read in chunks and hashed as
// they arrive.
class Reader {
 public:
  Reader(std::function<ssize_t(char*, std::size_t)> source, std::uint64_t length)
      : source_(std::move(source)), unread_(length) {}
  bool u32(std::uint32_t* v) {
    std::uint64_t x = 0;
    if (!get(&x, 4)) return false;
    *v = static_cast<std::uint32_t>(x);
    return true;
  }
  bool u64(std::uint64_t* v) { return get(v, 8); }
  bool i64(std::int64_t* v) {
    std::uint64_t x = 0;
    if (!get(&x, 8)) return false;
    *v = static_cast<std::int64_t>(x);
    return true;
  }
  bool str(std::string* s) {
    std::uint32_t n = 0;
    if (!u32(&n) || !fill(n)) return false;
    if (n == 0) {
      s->clear();
      return true;
    }
    s->assign(buffer_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // Bytes of the body not decoded yet.
  std::uint64_t remaining() const { return unread_ + (end_ - pos_); }
  // Reads what is left of the body, so that the checksum covers all of it; then the checksum,
  // or nullopt when the source ended early or failed.
  std::optional<Digest> finish() {
    pos_ = end_;
    while (unread_ > 0) {
      if (!fill(std::min<std::uint64_t>(unread_, kChunk))) return std::nullopt;
      pos_ = end_;
    }
    if (failed_) return std::nullopt;
    return hash_.finish();
  }
  int error_number() const { return error_number_; }

 private:
  // Makes n bytes available at pos_, reading more of the body when the buffer has fewer.
  bool fill(std::uint64_t n) {
    if (end_ - pos_ >= n) return true;
    if (n > remaining() || failed_) return false;
    if (pos_ > 0) std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    const std::size_t want = std::max<std::size_t>(static_cast<std::size_t>(n),
                                                   std::min<std::uint64_t>(unread_ + end_, kChunk));
    if (buffer_.size() < want) buffer_.resize(want);
    while (end_ < n) {
      const std::size_t room =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size() - end_, unread_));
      const ssize_t got = source_(buffer_.data() + end_, room);
      if (got <= 0) {
        failed_ = true;
        error_number_ = got < 0 ? errno : 0;
        return false;
      }
      hash_.update(buffer_.data() + end_, static_cast<std::size_t>(got));
      end_ += static_cast<std::size_t>(got);
      unread_ -= static_cast<std::uint64_t>(got);
    }
    return true;
  }
  bool get(std::uint64_t* v, std::size_t n) {
    if (!fill(n)) return false;
    *v = get_le(buffer_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::function<ssize_t(char*, std::size_t)> source_;
  std::uint64_t unread_;  // bytes of the body not read from the source yet
  std::vector<char> buffer_;
  std::size_t pos_ = 0;  // next byte to decode in buffer_
  std::size_t end_ = 0;  // end of the bytes read into buffer_
  Sha256 hash_;
  bool failed_ = false;
  int error_number_ = 0;
};

Error corrupt(std::string what) {
  return make_error(ErrorCode::kDataLoss, "scan cache unusable: " + std::move(what));
}

void encode_body(const ScanCache& cache, Writer& writer) {
  writer.str(cache.root.path);
  writer.u64(cache.root.device);
  writer.u64(cache.root.inode);
  writer.u64(cache.records.size());
  for (const DirRecord& r : cache.records) {
    writer.u64(r.device);
    writer.u64(r.inode);
    writer.i64(r.mtime_ns);
    writer.i64(r.ctime_ns);
    writer.u64(r.counts.files);
    writer.u64(r.counts.directories);
    writer.u64(r.counts.symlinks);
    writer.u64(r.counts.other);
    writer.u32(static_cast<std::uint32_t>(r.subdirectories.size()));
    for (const Subdirectory& sub : r.subdirectories) {
      writer.str(sub.name);
      writer.u64(sub.inode);
    }
  }
}

std::string encode_header(std::uint64_t length, const Digest& sum) {
  std::string out(kMagic);
  put_le(out, kScanCacheVersion, 4);
  put_le(out, 0, 4);
  put_le(out, length, 8);
  out.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  return out;
}

// The header's body length, once magic, version and reserved field are checked.
Result<std::uint64_t> decode_header(std::string_view header) {
  if (header.size() < kHeaderSize) return corrupt("shorter than its header");
  if (header.substr(0, kMagic.size()) != kMagic) return corrupt("not a scan cache (bad magic)");
  const auto get = [&header](std::size_t at, std::size_t n) { return get_le(&header[at], n); };
  const std::uint64_t version = get(8, 4);
  if (version != kScanCacheVersion) {
    return corrupt("version " + std::to_string(version) + ", expected " +
                   std::to_string(kScanCacheVersion));
  }
  // Zero from every writer of this version: anything else is not a cache this code wrote.
  if (get(12, 4) != 0) return corrupt("reserved header field set");
  return get(16, 8);
}

// Decodes the body's records; an error names the first thing wrong in them.
Result<ScanCache> decode_records(Reader& in) {
  ScanCache cache;
  std::uint64_t count = 0;
  if (!in.str(&cache.root.path) || !in.u64(&cache.root.device) || !in.u64(&cache.root.inode) ||
      !in.u64(&count)) {
    return corrupt("truncated root");
  }
  // Each record takes at least 68 bytes: refuse counts the body cannot hold before reserving.
  if (count > in.remaining() / 68) return corrupt("record count larger than the file");
  cache.records.resize(count);
  std::vector<std::string_view> sorted;  // one record's names, to find one named twice
  for (DirRecord& r : cache.records) {
    std::uint32_t names = 0;
    if (!in.u64(&r.device) || !in.u64(&r.inode) || !in.i64(&r.mtime_ns) || !in.i64(&r.ctime_ns) ||
        !in.u64(&r.counts.files) || !in.u64(&r.counts.directories) || !in.u64(&r.counts.symlinks) ||
        !in.u64(&r.counts.other) || !in.u32(&names)) {
      return corrupt("truncated record");
    }
    if (names != r.counts.directories || names > in.remaining() / 12) {
      return corrupt("inconsistent record");
    }
    r.subdirectories.resize(names);
    for (Subdirectory& sub : r.subdirectories) {
      // "." or ".." would make a rescan walk in a loop or out of the root; a name twice would
      // count a subtree twice. A walk never records either.
      const std::string& name = sub.name;
      if (!in.str(&sub.name) || name.empty() || name == "." || name == ".." ||
          name.find('/') != std::string::npos) {
        return corrupt("bad subdirectory name");
      }
      if (!in.u64(&sub.inode)) return corrupt("truncated record");
    }
    if (names > 1) {
      sorted.clear();
      for (const Subdirectory& sub : r.subdirectories) sorted.emplace_back(sub.name);
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        return corrupt("subdirectory named twice");
      }
    }
  }
  if (in.remaining() != 0) return corrupt("trailing bytes");
  return cache;
}

// Decodes a body of `length` bytes from `source` against the header's checksum. A body whose
// checksum does not match is reported as such, whatever else is wrong in it; `read_error`
// makes a failed read an error of its own.
Result<ScanCache> decode_body(std::function<ssize_t(char*, std::size_t)> source,
                              std::uint64_t length, const Digest& expected,
                              const std::function<Error(int)>& read_error) {
  Reader in(std::move(source), length);
  Result<ScanCache> decoded = decode_records(in);
  const std::optional<Digest> sum = in.finish();
  if (!sum) {
    if (in.error_number() != 0) return read_error(in.error_number());
    return corrupt("truncated or extended body");
  }
  if (*sum != expected) return corrupt("checksum mismatch");
  return decoded;
}

Digest digest_in(std::string_view header) {
  Digest d{};
  std::memcpy(d.data(), header.data() + kHeaderSize - d.size(), d.size());
  return d;
}

}  // namespace

std::string encode_scan_cache(const ScanCache& cache) {
  std::string body;
  Writer writer([&body](std::string_view chunk) {
    body.append(chunk);
    return true;
  });
  encode_body(cache, writer);
  const auto [length, sum] = *writer.finish();
  return encode_header(length, sum) + body;
}

Result<ScanCache> decode_scan_cache(std::string_view bytes) {
  Result<std::uint64_t> length = decode_header(bytes);
  if (!length.ok()) return length.error();
  std::string_view body = bytes.substr(kHeaderSize);
  if (*length != body.size()) return corrupt("truncated or extended body");
  return decode_body(
      [&body](char* out, std::size_t max) {
        const std::size_t n = std::min(max, body.size());
        std::memcpy(out, body.data(), n);
        body.remove_prefix(n);
        return static_cast<ssize_t>(n);
      },
      *length, digest_in(bytes), [](int) { return corrupt("unreadable"); });  // never: memory
}

Result<ScanCache> load_scan_cache(const std::filesystem::path& path) {
  const auto read_error = [&path](int error_number) -> Error {
    if (error_number == ENOENT) {
      return make_error(ErrorCode::kNotFound, "no scan cache at " + path.string());
    }
    return make_error(ErrorCode::kIo, "cannot read scan cache " + path.string() + ": " +
                                          std::strerror(error_number));
  };
  // O_NONBLOCK: a FIFO put at the cache's path must not hang the run (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return read_error(errno);
  const auto read_some = [fd](char* out, std::size_t max) {
    for (;;) {
      const ssize_t n = ::read(fd, out, max);
      if (n >= 0 || errno != EINTR) return n;
    }
  };
  // The body is decoded as it is read, in chunks: the file is never held whole in memory. A file
  // changed meanwhile fails the length or checksum.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    return read_error(saved);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kIo,
                      "cannot read scan cache " + path.string() + ": not a regular file");
  }
  std::string header(kHeaderSize, '\0');
  std::size_t got = 0;
  while (got < header.size()) {
    const ssize_t n = read_some(header.data() + got, header.size() - got);
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return read_error(saved);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  header.resize(got);
  Result<std::uint64_t> length = decode_header(header);
  if (!length.ok() || *length != static_cast<std::uint64_t>(st.st_size) - kHeaderSize) {
    ::close(fd);
    return length.ok() ? corrupt("truncated or extended body") : length.error();
  }
  Result<ScanCache> cache = decode_body(read_some, *length, digest_in(header), read_error);
  // Bytes past the body (the file grew meanwhile) are not part of this cache.
  char extra = 0;
  const bool longer = cache.ok() && read_some(&extra, 1) > 0;
  ::close(fd);
  if (longer) return corrupt("truncated or extended body");
  return cache;
}

Status save_scan_cache(const std::filesystem::path& path, const ScanCache& cache) {
  // A new file of a name no one could plant beforehand (the directory may be a shared /tmp):
  // never a symlink or another process's file opened and truncated.
  std::string temp = path.string() + ".tmp.XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, "cannot create " + temp + ": " + std::strerror(errno));
  }
  int write_errno = 0;
  // Writes all of `bytes` at `offset`; false (and write_errno) on a failure.
  const auto write_at = [fd, &write_errno](std::string_view bytes, off_t offset) {
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        write_errno = n < 0 ? errno : EIO;
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
      offset += n;
    }
    return true;
  };
  // The body is encoded straight into the file after the header's place, a chunk at a time;
  // the header, which holds the body's length and checksum, is written last.
  auto offset = static_cast<off_t>(kHeaderSize);
  Writer writer([&](std::string_view chunk) {
    if (!write_at(chunk, offset)) return false;
    offset += static_cast<off_t>(chunk.size());
    return true;
  });
  encode_body(cache, writer);
  const auto body = writer.finish();
  if (!body || !write_at(encode_header(body->first, body->second), 0)) {
    ::close(fd);
    ::unlink(temp.c_str());
    return make_error(ErrorCode::kIo, "cannot write " + temp + ": " + std::strerror(write_errno));
  }
  if (::close(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return make_error(ErrorCode::kIo,
                      "cannot replace " + path.string() + ": " + std::strerror(saved));
  }
  return {};
}

}  // namespace efsas::counter
