// The open-owner checking NFSv4.0 proxy: each RPC record is decoded, once complete, with
// libnfs's own XDR routines, then passed on.
#include "seqid_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nfsc/libnfs-raw-nfs4.h>
#include <nfsc/libnfs-zdr.h>
#include <nfsc/libnfs.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

namespace efsas::testing {

namespace {

constexpr std::uint16_t kNfsPort = 2049;
constexpr std::uint32_t kNfsProgram = 100003;
constexpr std::uint32_t kCompound = 1;

// RFC 7530 9.1.7: the refusals after which the server leaves the sequence id where it was.
bool moves_sequence(nfsstat4 status) {
  switch (status) {
    case NFS4ERR_STALE_CLIENTID:
    case NFS4ERR_STALE_STATEID:
    case NFS4ERR_BAD_STATEID:
    case NFS4ERR_BAD_SEQID:
    case NFS4ERR_BADZDR:
    case NFS4ERR_RESOURCE:
    case NFS4ERR_NOFILEHANDLE:
    case NFS4ERR_MOVED:
      return false;
    default:
      return true;
  }
}

const char* op_name(nfs_opnum4 op) {
  switch (op) {
    case OP_OPEN:
      return "OPEN";
    case OP_OPEN_CONFIRM:
      return "OPEN_CONFIRM";
    case OP_OPEN_DOWNGRADE:
      return "OPEN_DOWNGRADE";
    case OP_CLOSE:
      return "CLOSE";
    default:
      return "?";
  }
}

std::string hex(const char* data, std::size_t size) {
  std::string out;
  char byte[3];
  for (std::size_t i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", static_cast<unsigned char>(data[i]));
    out += byte;
  }
  return out;
}

std::string state_key(const stateid4& state) { return hex(state.other, sizeof state.other); }

// Element `i` of an array libnfs decoded, copied out: libnfs's decoder places what it allocates
// 4 bytes past an 8-byte boundary (libnfs-zdr.c, zdr_malloc), too loosely aligned to be read in
// place. Pointers inside the copy point to bytes, which need no alignment.
template <typename T>
T element(const T* array, std::size_t i) {
  T out;
  std::memcpy(&out, reinterpret_cast<const char*>(array) + i * sizeof(T), sizeof(T));
  return out;
}

// Big-endian 32-bit words and padded opaques of an RPC header.
class Words {
 public:
  explicit Words(const std::vector<unsigned char>& bytes) : bytes_(bytes) {}
  bool next(std::uint32_t& out) {
    if (pos_ + 4 > bytes_.size()) return false;
    out = (std::uint32_t{bytes_[pos_]} << 24) | (std::uint32_t{bytes_[pos_ + 1]} << 16) |
          (std::uint32_t{bytes_[pos_ + 2]} << 8) | std::uint32_t{bytes_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  bool skip_opaque() {
    std::uint32_t length = 0;
    if (!next(length)) return false;
    pos_ += (std::size_t{length} + 3) / 4 * 4;
    return pos_ <= bytes_.size();
  }
  // The bytes after the header, for libnfs's decoder (which takes a non-const buffer).
  char* rest() { return reinterpret_cast<char*>(const_cast<unsigned char*>(bytes_.data())) + pos_; }
  std::uint32_t rest_size() const { return static_cast<std::uint32_t>(bytes_.size() - pos_); }

 private:
  const std::vector<unsigned char>& bytes_;
  std::size_t pos_ = 0;
};

bool read_exact(int fd, void* buffer, std::size_t size) {
  auto* at = static_cast<char*>(buffer);
  while (size > 0) {
    const ssize_t n = ::recv(fd, at, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, const void* buffer, std::size_t size) {
  const auto* at = static_cast<const char*>(buffer);
  while (size > 0) {
    const ssize_t n = ::send(fd, at, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

sockaddr_in nfs_address(const std::string& address) {
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(kNfsPort);
  ::inet_pton(AF_INET, address.c_str(), &where.sin_addr);
  return where;
}

}  // namespace

struct SeqidCheckingProxy::Sequenced {
  std::size_t index = 0;  // position in the compound
  nfs_opnum4 op = OP_OPEN;
  std::string owner;  // empty: an open state this proxy never saw opened
  std::uint32_t seqid = 0;
};

struct SeqidCheckingProxy::Connection {
  int client = -1;
  int server = -1;
  std::mutex mutex;
  std::map<std::uint32_t, std::vector<Sequenced>> pending;  // by XID
};

SeqidCheckingProxy::SeqidCheckingProxy(std::string address, std::string upstream)
    : upstream_(std::move(upstream)) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    error_ = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in where = nfs_address(address);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&where), sizeof where) != 0 ||
      ::listen(listener_, 16) != 0) {
    error_ = "cannot listen on " + address + ":2049: " + std::strerror(errno);
    return;
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

SeqidCheckingProxy::~SeqidCheckingProxy() {
  stopping_ = true;
  if (wake_[1] >= 0) (void)::write(wake_[1], "x", 1);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard lock(mutex_);
    for (const auto& c : connections_) {
      ::shutdown(c->client, SHUT_RDWR);
      ::shutdown(c->server, SHUT_RDWR);
    }
    pumps = std::move(pumps_);
  }
  for (auto& t : pumps) t.join();
  for (const auto& c : connections_) {
    ::close(c->client);
    ::close(c->server);
  }
  for (int fd : {listener_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

std::vector<std::string> SeqidCheckingProxy::violations() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

std::size_t SeqidCheckingProxy::checked() const {
  std::lock_guard lock(mutex_);
  return checked_;
}

void SeqidCheckingProxy::accept_loop() {
  while (!stopping_) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (stopping_ || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in where = nfs_address(upstream_);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      continue;
    }
    auto connection = std::make_shared<Connection>();
    connection->client = client;
    connection->server = server;
    std::lock_guard lock(mutex_);
    connections_.push_back(connection);
    pumps_.emplace_back([this, connection] { pump(connection, true); });
    pumps_.emplace_back([this, connection] { pump(connection, false); });
  }
}

// Forwards each record once it is whole and looked at: a reply is taken into account before the
// client can see it and send its next request.
void SeqidCheckingProxy::pump(const std::shared_ptr<Connection>& connection, bool from_client) {
  const int from = from_client ? connection->client : connection->server;
  const int to = from_client ? connection->server : connection->client;
  std::vector<unsigned char> record;  // the fragments' contents
  std::vector<unsigned char> wire;    // the fragments as they came, record marks included
  while (true) {
    unsigned char mark[4];
    if (!read_exact(from, mark, sizeof mark)) break;
    const std::uint32_t word = (std::uint32_t{mark[0]} << 24) | (std::uint32_t{mark[1]} << 16) |
                               (std::uint32_t{mark[2]} << 8) | std::uint32_t{mark[3]};
    const std::size_t length = word & 0x7fffffffu;
    const std::size_t at = record.size();
    record.resize(at + length);
    if (!read_exact(from, record.data() + at, length)) break;
    wire.insert(wire.end(), mark, mark + sizeof mark);
    wire.insert(wire.end(), record.begin() + static_cast<std::ptrdiff_t>(at), record.end());
    if ((word & 0x80000000u) == 0) continue;
    if (from_client) {
      on_call(*connection, record);
    } else {
      on_reply(*connection, record);
    }
    if (!write_all(to, wire.data(), wire.size())) break;
    record.clear();
    wire.clear();
  }
  ::shutdown(connection->client, SHUT_RDWR);
  ::shutdown(connection->server, SHUT_RDWR);
}

void SeqidCheckingProxy::on_call(Connection& connection, const std::vector<unsigned char>& record) {
  Words words(record);
  std::uint32_t xid = 0, type = 0, rpc_version = 0, program = 0, version = 0, procedure = 0;
  std::uint32_t flavor = 0;
  if (!words.next(xid) || !words.next(type) || type != 0 || !words.next(rpc_version) ||
      !words.next(program) || !words.next(version) || !words.next(procedure) ||
      program != kNfsProgram || version != 4 || procedure != kCompound || !words.next(flavor) ||
      !words.skip_opaque() || !words.next(flavor) || !words.skip_opaque()) {
    return;
  }
  ZDR zdr;
  zdrmem_create(&zdr, words.rest(), words.rest_size(), ZDR_DECODE);
  COMPOUND4args args{};
  std::vector<Sequenced> sequenced;
  if (zdr_COMPOUND4args(&zdr, &args)) {
    std::lock_guard lock(mutex_);
    for (u_int i = 0; i < args.argarray.argarray_len; ++i) {
      const nfs_argop4 op = element(args.argarray.argarray_val, i);
      Sequenced s;
      s.index = i;
      s.op = op.argop;
      switch (op.argop) {
        case OP_OPEN: {
          const OPEN4args& open = op.nfs_argop4_u.opopen;
          s.owner = std::to_string(open.owner.clientid) + "/" +
                    hex(open.owner.owner.owner_val, open.owner.owner.owner_len);
          s.seqid = open.seqid;
          break;
        }
        case OP_OPEN_CONFIRM:
          s.owner = owner_of_state_[state_key(op.nfs_argop4_u.opopen_confirm.open_stateid)];
          s.seqid = op.nfs_argop4_u.opopen_confirm.seqid;
          break;
        case OP_OPEN_DOWNGRADE:
          s.owner = owner_of_state_[state_key(op.nfs_argop4_u.opopen_downgrade.open_stateid)];
          s.seqid = op.nfs_argop4_u.opopen_downgrade.seqid;
          break;
        case OP_CLOSE:
          s.owner = owner_of_state_[state_key(op.nfs_argop4_u.opclose.open_stateid)];
          s.seqid = op.nfs_argop4_u.opclose.seqid;
          break;
        default:
          continue;
      }
      ++checked_;
      if (const auto at = expected_.find(s.owner);
          !s.owner.empty() && at != expected_.end() && at->second != s.seqid) {
        violations_.push_back(std::string(op_name(s.op)) + " of open-owner " + s.owner +
                              " with seqid " + std::to_string(s.seqid) +
                              " where the server is at " + std::to_string(at->second) +
                              (s.seqid + 1 == at->second ? " (a replay to the server)" : ""));
      }
      sequenced.push_back(std::move(s));
    }
  }
  zdr_destroy(&zdr);
  if (sequenced.empty()) return;
  std::lock_guard lock(connection.mutex);
  connection.pending[xid] = std::move(sequenced);
}

void SeqidCheckingProxy::on_reply(Connection& connection,
                                  const std::vector<unsigned char>& record) {
  Words words(record);
  std::uint32_t xid = 0, type = 0, reply = 0, flavor = 0, accepted = 0;
  if (!words.next(xid) || !words.next(type) || type != 1) return;
  std::vector<Sequenced> sequenced;
  {
    std::lock_guard lock(connection.mutex);
    const auto it = connection.pending.find(xid);
    if (it == connection.pending.end()) return;
    sequenced = std::move(it->second);
    connection.pending.erase(it);
  }
  if (!words.next(reply) || reply != 0 || !words.next(flavor) || !words.skip_opaque() ||
      !words.next(accepted) || accepted != 0) {
    return;  // refused before any operation ran
  }
  ZDR zdr;
  zdrmem_create(&zdr, words.rest(), words.rest_size(), ZDR_DECODE);
  COMPOUND4res res{};
  if (zdr_COMPOUND4res(&zdr, &res)) {
    std::lock_guard lock(mutex_);
    for (const Sequenced& s : sequenced) {
      if (s.index >= res.resarray.resarray_len) break;  // the compound stopped before it
      const nfs_resop4 result = element(res.resarray.resarray_val, s.index);
      nfsstat4 status = NFS4_OK;
      switch (s.op) {
        case OP_OPEN:
          status = result.nfs_resop4_u.opopen.status;
          if (status == NFS4_OK) {
            owner_of_state_[state_key(result.nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid)] =
                s.owner;
          }
          break;
        case OP_OPEN_CONFIRM:
          status = result.nfs_resop4_u.opopen_confirm.status;
          break;
        case OP_OPEN_DOWNGRADE:
          status = result.nfs_resop4_u.opopen_downgrade.status;
          break;
        default:
          status = result.nfs_resop4_u.opclose.status;
          break;
      }
      if (!s.owner.empty() && moves_sequence(status)) expected_[s.owner] = s.seqid + 1;
    }
  }
  zdr_destroy(&zdr);
}

}  // namespace efsas::testing
