// A whole file read through one NFS session, for the session-level NFS tests.
#pragma once

#include <string>
#include <vector>

#include "efsas/nfs/session.h"
#include "efsas/result.h"

namespace efsas::nfs {

inline Result<std::string> read_all(Session& session, const std::string& path) {
  auto file = session.open_read(path);
  if (!file.ok()) return file.error();
  std::string out;
  std::vector<char> buffer(300'000);
  while (true) {
    auto n = file->read_at(out.size(), buffer);
    if (!n.ok()) return n.error();
    if (*n == 0) break;
    out.append(buffer.data(), *n);
  }
  return out;
}

}  // namespace efsas::nfs
