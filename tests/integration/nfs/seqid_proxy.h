// An NFSv4.0 proxy for tests that holds the client to the open-owner rules of RFC 7530 (9.1.7),
// as Linux's nfsd and other strict servers do, where nfs-ganesha is lenient. Each OPEN,
// OPEN_CONFIRM, OPEN_DOWNGRADE and CLOSE it forwards must carry the sequence id its open-owner
// is at; the server moves that on with each such operation it performs, refused or not, except
// for the refusals RFC 7530 lists. A request that reuses or skips a sequence id is recorded: a
// strict server would answer it from its replay cache (the earlier answer, whatever file the
// request names) or refuse it with NFS4ERR_BAD_SEQID. Bytes pass through unchanged.
// Thread safety: the public members may be called while connections are being served.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace efsas::testing {

class SeqidCheckingProxy {
 public:
  // Listens on `address`:2049 and forwards each connection to `upstream`:2049 (libnfs dials
  // port 2049 only). error() says why it could not listen.
  SeqidCheckingProxy(std::string address, std::string upstream);
  ~SeqidCheckingProxy();
  SeqidCheckingProxy(const SeqidCheckingProxy&) = delete;
  SeqidCheckingProxy& operator=(const SeqidCheckingProxy&) = delete;

  const std::string& error() const { return error_; }
  // Requests a strict server would not have performed as meant, one line each.
  std::vector<std::string> violations() const;
  // How many sequenced operations were checked (OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE).
  std::size_t checked() const;

 private:
  struct Sequenced;
  struct Connection;
  void accept_loop();
  void pump(const std::shared_ptr<Connection>& connection, bool from_client);
  void on_call(Connection& connection, const std::vector<unsigned char>& record);
  void on_reply(Connection& connection, const std::vector<unsigned char>& record);

  std::string upstream_;
  std::string error_;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::vector<std::thread> pumps_;
  // Per open-owner (client id and owner bytes): the sequence id its next operation must carry.
  std::map<std::string, std::uint32_t> expected_;
  // The open-owner of each open state (stateid's `other`), learnt from OPEN replies.
  std::map<std::string, std::string> owner_of_state_;
  std::vector<std::string> violations_;
  std::size_t checked_ = 0;
};

}  // namespace efsas::testing
