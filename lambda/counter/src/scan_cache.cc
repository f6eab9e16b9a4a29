// Encoding, checksum and atomic storage of the incremental scan's cache.
// Layout (little endian): "EFSASCNT", u32 version, u32 reserved, u64 body length, 32-byte
// SHA-256 of the body, then the body: root (path, device, inode), record count, records.
#include "efsas/counter/scan_cache.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace efsas::counter {
namespace {

constexpr std::string_view kMagic = "EFSASCNT";
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 8 + SHA256_DIGEST_LENGTH;

class Writer {
 public:
  explicit Writer(std::size_t capacity) { out_.reserve(capacity); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& bytes() { return out_; }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
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
    if (!u32(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  bool get(std::uint64_t* v, std::size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < n; ++i) {
      x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += n;
    *v = x;
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view body) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), out.data());
  return out;
}

Error corrupt(std::string what) {
  return make_error(ErrorCode::kDataLoss, "scan cache unusable: " + std::move(what));
}

// The encoded size, so that the cache is built in one buffer of its final size: a cache of a
// million directories is tens of megabytes, and Lambda's memory is what bounds it.
std::size_t encoded_size(const ScanCache& cache) {
  std::size_t size = kHeaderSize + 4 + cache.root.path.size() + 3 * 8;
  for (const DirRecord& r : cache.records) {
    size += 8 * 8 + 4;
    for (const std::string& name : r.subdirectories) size += 4 + name.size();
  }
  return size;
}

}  // namespace

std::string encode_scan_cache(const ScanCache& cache) {
  const std::size_t size = encoded_size(cache);
  Writer writer(size);
  writer.bytes().append(kMagic);
  writer.u32(kScanCacheVersion);
  writer.u32(0);
  writer.u64(size - kHeaderSize);
  writer.bytes().append(SHA256_DIGEST_LENGTH, '\0');  // the checksum, once the body is written
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
    for (const std::string& name : r.subdirectories) writer.str(name);
  }
  std::string& out = writer.bytes();
  if (out.size() != size) fail_invariant("scan cache: encoded size differs from its estimate");
  const auto sum = digest(std::string_view(out).substr(kHeaderSize));
  std::memcpy(out.data() + kHeaderSize - sum.size(), sum.data(), sum.size());
  return std::move(out);
}

Result<ScanCache> decode_scan_cache(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) return corrupt("shorter than its header");
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt("not a scan cache (bad magic)");
  Reader header(bytes.substr(kMagic.size(), kHeaderSize - kMagic.size()));
  std::uint32_t version = 0;
  std::uint32_t reserved = 0;
  std::uint64_t length = 0;
  (void)header.u32(&version);
  (void)header.u32(&reserved);
  (void)header.u64(&length);
  if (version != kScanCacheVersion) {
    return corrupt("version " + std::to_string(version) + ", expected " +
                   std::to_string(kScanCacheVersion));
  }
  // Zero from every writer of this version: anything else is not a cache this code wrote.
  if (reserved != 0) return corrupt("reserved header field set");
  const std::string_view body = bytes.substr(kHeaderSize);
  if (length != body.size()) return corrupt("truncated or extended body");
  const auto sum = digest(body);
  if (std::memcmp(sum.data(), bytes.data() + kHeaderSize - sum.size(), sum.size()) != 0) {
    return corrupt("checksum mismatch");
  }
  Reader in(body);
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
    if (names != r.counts.directories || names > in.remaining() / 4) {
      return corrupt("inconsistent record");
    }
    r.subdirectories.resize(names);
    for (std::string& name : r.subdirectories) {
      // "." or ".." would make a rescan walk in a loop or out of the root; a name twice would
      // count a subtree twice. A walk never records either.
      if (!in.str(&name) || name.empty() || name == "." || name == ".." ||
          name.find('/') != std::string::npos) {
        return corrupt("bad subdirectory name");
      }
    }
    if (names > 1) {
      sorted.assign(r.subdirectories.begin(), r.subdirectories.end());
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        return corrupt("subdirectory named twice");
      }
    }
  }
  if (in.remaining() != 0) return corrupt("trailing bytes");
  return cache;
}

Result<ScanCache> load_scan_cache(const std::filesystem::path& path) {
  const auto read_error = [&path](int error_number) -> Error {
    if (error_number == ENOENT) {
      return make_error(ErrorCode::kNotFound, "no scan cache at " + path.string());
    }
    return make_error(ErrorCode::kIo, "cannot read scan cache " + path.string() + ": " +
                                          std::strerror(error_number));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return read_error(errno);
  // Read into a buffer of the file's size: a file changed meanwhile fails the length or checksum.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    return read_error(saved);
  }
  std::string bytes(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return read_error(saved);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return decode_scan_cache(bytes);
}

Status save_scan_cache(const std::filesystem::path& path, const ScanCache& cache) {
  const std::string bytes = encode_scan_cache(cache);
  const std::string temp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, "cannot create " + temp + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return make_error(ErrorCode::kIo, "cannot write " + temp + ": " + std::strerror(saved));
    }
    done += static_cast<std::size_t>(n);
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
