// Request handling: routes, path decoding and safety, conditional and range requests, routing
// over the healthy mount targets with failover down each path's ranking.
#include "efsas/service/file_service.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

#include "efsas/path.h"
#include "efsas/service/status_page.h"

namespace efsas::service {
namespace {

constexpr std::string_view kFilesPrefix = "/files/";
constexpr std::string_view kFileRoute = "/files/{path}";
constexpr std::string_view kListRoute = "/files/{dir}/";

Response with_route(Response response, std::string_view route) {
  response.route = std::string(route);
  return response;
}

Response method_not_allowed(std::string_view allow, std::string_view route) {
  Response response =
      json_error(405, "MethodNotAllowed", "method not allowed; use " + std::string(allow));
  response.set_header("Allow", std::string(allow));
  return with_route(std::move(response), route);
}

// `status` 0: the one the error's code maps to.
Response error_response(const Error& error, std::string_view target_id, int status = 0) {
  Response response = json_error(status != 0 ? status : status_for(error.code),
                                 to_string(error.code), error.message);
  if (!target_id.empty()) {
    response.mount_target = std::string(target_id);
    response.set_header("X-Mount-Target", std::string(target_id));
  }
  return response;
}

Response json_response(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  response.set_header("Content-Type", "application/json");
  return response;
}

Response no_target_response(const RoutingTable* table, const std::string& last_error) {
  if (table == nullptr || table->targets.empty()) {
    return json_error(503, "Unavailable", "no mount-target list is loaded");
  }
  std::string message = "no mount target could serve this request";
  if (!last_error.empty()) message += " (last error: " + last_error + ")";
  return json_error(503, "Unavailable", message);
}

SystemTime truncate_to_seconds(SystemTime t) {
  return std::chrono::time_point_cast<std::chrono::seconds>(t);
}

bool is_get_or_head(const std::string& method) { return method == "GET" || method == "HEAD"; }

// Which failed attempts may move on to the next mount target: any back-end failure for a read;
// for a write only one that cannot have changed anything under the real name (Error::retryable).
enum class Failover { kRead, kWrite };

// A write's failure that leaves its outcome unknown: the back end could not tell whether the
// change happened (a timeout or lost connection on the final step, marked not retryable).
bool outcome_unknown(const Error& error) {
  return !error.retryable &&
         (error.code == ErrorCode::kTimeout || error.code == ErrorCode::kUnavailable ||
          error.code == ErrorCode::kIo);
}

// Runs `attempt` on the path's mount targets (RoutingTable::candidates: the healthy ones, or all
// when none is) in ranking order until one answers. `attempt(entry)` returns the response, or the
// back end's error: a failover error moves on (counted as the target's failure), any other error
// is the answer. With no target left, 503.
template <class Attempt>
Response over_targets(const RoutingTable* table, Metrics& metrics, std::string_view path,
                      Failover rule, Attempt&& attempt) {
  const RoutingTable::Candidates candidates =
      table != nullptr ? table->candidates(path) : RoutingTable::Candidates{};
  if (candidates.fail_open) metrics.record_fail_open();
  std::string last_error;
  for (const TargetEntry* entry : candidates.targets) {
    const std::string& id = entry->target.id;
    entry->status->requests.fetch_add(1);
    Result<Response> answer = attempt(*entry);
    if (answer.ok()) return std::move(answer).value();
    const Error& error = answer.error();
    // Another writer held the name: every target would wait for the same lock again (and write
    // the whole body again first). Not the target's failure either.
    if (error.remote_code == kNameBusy) return error_response(error, id, 503);
    if (is_failover_error(error) && (rule == Failover::kRead || error.retryable)) {
      entry->status->failures.fetch_add(1);
      last_error = id + ": " + error.to_string();
      continue;
    }
    if (rule == Failover::kWrite && outcome_unknown(error)) {
      // The call that changes the name (RENAME, LINK, REMOVE) got no answer: it may have
      // happened, or still happen. Not "nothing written" (503) but unknown, as when the request
      // itself runs out of time.
      entry->status->failures.fetch_add(1);
      Error unknown = error;
      unknown.message = "the outcome is unknown: " + error.message;
      return error_response(unknown, id, 504);
    }
    return error_response(error, id);
  }
  return no_target_response(table, last_error);
}

// The preconditions of a PUT or DELETE. An If-Unmodified-Since that is not a date is ignored, as
// RFC 9110 13.1.4 asks; the back end orders the conditions (check_write_condition).
WriteCondition write_condition(const Request& request) {
  WriteCondition condition;
  if (const auto* if_match = request.header("if-match")) condition.if_match = *if_match;
  if (const auto* if_none_match = request.header("if-none-match")) {
    if (*if_none_match == "*") {
      condition.if_none_match_any = true;
    } else {
      condition.if_none_match = *if_none_match;
    }
  }
  if (const auto* since = request.header("if-unmodified-since")) {
    condition.if_unmodified_since = parse_http_date(*since);
  }
  return condition;
}

}  // namespace

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kPreconditionFailed:
      return 412;
    case ErrorCode::kConflict:
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kResourceExhausted:
      return 507;
    // The file system's answer about the file (its owner and mode, an access point's identity):
    // every mount target of it gives the same, and asking again will not change it.
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kIo:
      return 503;
    default:
      return 500;
  }
}

bool is_failover_error(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kIo:
    case ErrorCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

FileService::FileService(ServiceOptions options, std::shared_ptr<const Clock> clock, Logger logger)
    : options_(options), clock_(std::move(clock)), logger_(std::move(logger)) {}

std::shared_ptr<const RoutingTable> FileService::table() const {
  std::lock_guard lock(table_mutex_);
  return table_;
}

void FileService::set_table(std::shared_ptr<const RoutingTable> table) {
  std::lock_guard lock(table_mutex_);
  table_ = std::move(table);
}

bool FileService::storage_is_local() const {
  const auto current = table();
  return current != nullptr && !current->targets.empty() && current->all_local();
}

FileService::Routing FileService::route(const Request& request) const {
  Routing out;
  const auto refuse = [&](Response response, std::string_view route) {
    out.kind = Routing::kRefused;
    out.refusal = with_route(std::move(response), route);
    return std::move(out);
  };
  if (request.target.size() > options_.max_target_bytes) {
    return refuse(json_error(414, "UriTooLong", "the request target is too long"), "other");
  }
  const std::string_view target = request.target;
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  out.query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  if (path.starts_with(kFilesPrefix) || path == "/files") {
    const std::string_view raw =
        path.size() > kFilesPrefix.size() ? path.substr(kFilesPrefix.size()) : std::string_view();
    auto decoded = percent_decode(raw);
    if (!decoded.ok()) {
      return refuse(json_error(400, "InvalidPath", decoded.error().message), kFileRoute);
    }
    if (decoded->empty() || decoded->back() == '/') {
      if (!is_get_or_head(request.method)) {
        return refuse(method_not_allowed("GET, HEAD", kListRoute), kListRoute);
      }
      out.kind = Routing::kList;
      out.path = std::move(decoded).value();
      return out;
    }
    auto normalized = normalize_path(*decoded);
    if (!normalized.ok()) {
      return refuse(json_error(400, "InvalidPath", normalized.error().message), kFileRoute);
    }
    if (request.method != "GET" && request.method != "HEAD" && request.method != "PUT" &&
        request.method != "DELETE") {
      return refuse(method_not_allowed("GET, HEAD, PUT, DELETE", kFileRoute), kFileRoute);
    }
    if (const auto* if_none_match = request.header("if-none-match");
        request.method == "PUT" && if_none_match != nullptr && *if_none_match != "*") {
      return refuse(json_error(400, "InvalidArgument", "only If-None-Match: * is supported on PUT"),
                    kFileRoute);
    }
    out.kind = Routing::kFile;
    out.path = std::move(normalized).value();
    return out;
  }
  if (path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics" ||
      path == "/targets") {
    if (!is_get_or_head(request.method)) {
      return refuse(method_not_allowed("GET, HEAD", path), path);
    }
    out.kind = Routing::kMemory;
    out.path = std::string(path);
    return out;
  }
  return refuse(json_error(404, "NotFound", "no such route: " + std::string(path)), "other");
}

FileService::Work FileService::work_of(const Request& request) const {
  switch (route(request).kind) {
    case Routing::kList:
      return Work::kStorage;
    case Routing::kFile:
      return is_get_or_head(request.method) ? Work::kRead : Work::kStorage;
    case Routing::kRefused:
    case Routing::kMemory:
      break;
  }
  return Work::kMemory;
}

std::optional<Response> FileService::refuse_before_body(const Request& request) const {
  return route(request).refusal;
}

Response FileService::handle_request(const Request& request) const {
  Routing routing = route(request);
  const bool head = request.method == "HEAD";
  switch (routing.kind) {
    case Routing::kRefused:
      return std::move(*routing.refusal);
    case Routing::kList:
      return with_route(list_directory(request, routing.path, routing.query), kListRoute);
    case Routing::kFile:
      if (request.method == "PUT") return with_route(put_file(request, routing.path), kFileRoute);
      if (request.method == "DELETE") {
        return with_route(delete_file(request, routing.path), kFileRoute);
      }
      return with_route(get_file(request, routing.path, head), kFileRoute);
    case Routing::kMemory:
      break;
  }
  const std::string& path = routing.path;
  Response response;
  if (path == "/") {
    response.status = 200;
    response.body = std::string(status_page_html());
    response.set_header("Content-Type", "text/html; charset=utf-8");
    response.set_header("Cache-Control", "no-store");
  } else if (path == "/healthz") {
    response = json_response(200, {{"status", "ok"}});
  } else if (path == "/readyz") {
    response = readyz();
  } else if (path == "/metrics") {
    const auto current = table();
    response.body = metrics_->render(current.get());
    response.set_header("Content-Type", "text/plain; version=0.0.4");
  } else {
    response = targets();
  }
  response.head = head;
  return with_route(std::move(response), path);
}

Response FileService::get_file(const Request& request, const std::string& path, bool head) const {
  const auto current = table();
  return over_targets(
      current.get(), *metrics_, path, Failover::kRead,
      [&](const TargetEntry& entry) -> Result<Response> {
        const std::string& id = entry.target.id;
        auto opened = entry.backend->open(path);
        if (!opened.ok()) return opened.error();
        std::shared_ptr<FileReader> reader = std::move(*opened);
        const FileInfo& info = reader->info();

        Response response;
        response.mount_target = id;
        response.head = head;
        response.headers.reserve(8);
        response.add_header("ETag", info.etag);
        response.add_header("Last-Modified", format_http_date(info.modified));
        const std::size_t last_modified = response.headers.size() - 1;
        response.add_header("Accept-Ranges", "bytes");
        // A file can be replaced at any time: a cache may keep it but asks before each use (the
        // ETag makes that a 304), rather than serving it stale for a heuristic lifetime.
        response.add_header("Cache-Control", "no-cache");
        response.add_header("X-Mount-Target", id);

        const SystemTime modified = truncate_to_seconds(info.modified);
        if (const auto* if_match = request.header("if-match")) {
          if (!etag_list_matches(*if_match, info.etag, false)) {
            return error_response(
                make_error(ErrorCode::kPreconditionFailed, "If-Match does not match"), id);
          }
        } else if (const auto* since = request.header("if-unmodified-since")) {
          const auto date = parse_http_date(*since);
          if (date && modified > *date) {
            return error_response(
                make_error(ErrorCode::kPreconditionFailed, "modified since If-Unmodified-Since"),
                id);
          }
        }
        bool not_modified = false;
        if (const auto* if_none_match = request.header("if-none-match")) {
          not_modified = etag_list_matches(*if_none_match, info.etag, true);
        } else if (const auto* since = request.header("if-modified-since")) {
          const auto date = parse_http_date(*since);
          not_modified = date && modified <= *date;
        }
        if (not_modified) {
          response.status = 304;
          return response;
        }

        response.add_header("Content-Type", "application/octet-stream");
        ByteRange range{0, info.size == 0 ? 0 : info.size - 1};
        std::uint64_t length = info.size;
        // Range is defined for GET only (RFC 9110 14.2): a HEAD describes the whole file.
        const auto* range_header = head ? nullptr : request.header("range");
        const auto* if_range = request.header("if-range");
        // An If-Range date holds only as a strong validator (RFC 9110 13.1.5, 8.8.2.2): the file
        // last changed at least a second before now. A file replaced within the second of the
        // client's copy has the same date, and a range of it would be spliced onto the old
        // bytes; such a request gets the whole file. An entity tag is compared as it is.
        const bool date_is_strong = info.modified + std::chrono::seconds(1) <= clock_->now();
        if (range_header != nullptr &&
            (if_range == nullptr || *if_range == info.etag ||
             (date_is_strong && *if_range == response.headers[last_modified].second))) {
          const RangeResult parsed = parse_range(*range_header, info.size);
          if (parsed.outcome == RangeOutcome::kUnsatisfiable) {
            Response unsatisfiable = json_error(
                416, "RangeNotSatisfiable",
                "the range is outside the file's " + std::to_string(info.size) + " bytes");
            unsatisfiable.set_header("Content-Range", "bytes */" + std::to_string(info.size));
            unsatisfiable.set_header("X-Mount-Target", id);
            unsatisfiable.mount_target = id;
            return unsatisfiable;
          }
          if (parsed.outcome == RangeOutcome::kSatisfiable) {
            range = parsed.range;
            length = range.length();
            response.status = 206;
            response.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                     std::to_string(range.last) + "/" +
                                                     std::to_string(info.size));
          }
        }
        if (head || length > options_.inline_body_max ||
            (request.zero_copy && reader->native_fd() >= 0)) {
          response.stream = StreamBody{std::move(reader), range.first, length};
          return response;
        }
        response.body.resize(length);
        for (std::size_t done = 0; done < length;) {
          auto n = reader->read_at(range.first + done,
                                   std::span<char>(response.body.data() + done, length - done));
          // A read that fails half-way moves on like a failed open: nothing was sent yet.
          if (!n.ok()) return make_error(ErrorCode::kIo, n.error().message);
          if (*n == 0) return make_error(ErrorCode::kIo, "the file shrank while it was read");
          done += *n;
        }
        return response;
      });
}

Response FileService::put_file(const Request& request, const std::string& path) const {
  if (request.body_size() > options_.body_limit) {
    return json_error(
        413, "PayloadTooLarge",
        "the body is over the limit of " + std::to_string(options_.body_limit) + " bytes");
  }
  // route() has refused any If-None-Match but "*".
  const WriteCondition condition = write_condition(request);

  const auto current = table();
  MemoryBodySource memory_body(*request.body);
  std::optional<FileBodySource> file_body;
  if (request.spooled) file_body.emplace(request.spooled->fd(), request.spooled->size());
  BodySource& body = file_body ? static_cast<BodySource&>(*file_body) : memory_body;
  return over_targets(current.get(), *metrics_, path, Failover::kWrite,
                      [&](const TargetEntry& entry) -> Result<Response> {
                        const std::string& id = entry.target.id;
                        body.rewind();
                        auto written = entry.backend->put(path, body, condition);
                        if (!written.ok()) return written.error();
                        Response response;
                        response.mount_target = id;
                        response.status = written->created ? 201 : 204;
                        response.set_header("ETag", written->info.etag);
                        response.set_header("X-Mount-Target", id);
                        if (written->created) {
                          response.set_header("Location", "/files/" + percent_encode_path(path));
                          response.set_header("Content-Type", "application/json");
                          response.body =
                              nlohmann::json{{"path", path},
                                             {"size", written->info.size},
                                             {"etag", written->info.etag},
                                             {"mount_target", id}}
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                              "\n";
                        }
                        return response;
                      });
}

Response FileService::delete_file(const Request& request, const std::string& path) const {
  const WriteCondition condition = write_condition(request);
  const auto current = table();
  return over_targets(current.get(), *metrics_, path, Failover::kWrite,
                      [&](const TargetEntry& entry) -> Result<Response> {
                        const std::string& id = entry.target.id;
                        if (Status removed = entry.backend->remove(path, condition);
                            !removed.ok()) {
                          return removed.error();
                        }
                        Response response;
                        response.status = 204;
                        response.mount_target = id;
                        response.set_header("X-Mount-Target", id);
                        return response;
                      });
}

Response FileService::list_directory(const Request& request, const std::string& dir,
                                     std::string_view query) const {
  auto normalized = normalize_dir_path(dir);
  if (!normalized.ok()) return json_error(400, "InvalidPath", normalized.error().message);
  auto params = parse_query(query);
  if (!params.ok()) return json_error(400, "InvalidArgument", params.error().message);
  std::size_t limit = options_.list_default_limit;
  if (auto it = params->find("limit"); it != params->end()) {
    std::size_t value = 0;
    const auto& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > options_.list_max_limit) {
      return json_error(400, "InvalidArgument",
                        "limit must be between 1 and " + std::to_string(options_.list_max_limit));
    }
    limit = value;
  }
  const std::string token = params->contains("token") ? params->at("token") : "";

  const auto current = table();
  return over_targets(current.get(), *metrics_, *normalized, Failover::kRead,
                      [&](const TargetEntry& entry) -> Result<Response> {
                        const std::string& id = entry.target.id;
                        auto page = entry.backend->list(*normalized, limit, token);
                        if (!page.ok()) return page.error();
                        nlohmann::json entries = nlohmann::json::array();
                        for (const auto& e : page->entries) {
                          entries.push_back({{"name", e.name},
                                             {"type", e.is_directory ? "directory" : "file"},
                                             {"size", e.size},
                                             {"modified", format_iso8601_ms(e.modified)}});
                        }
                        nlohmann::json body = {
                            {"path", normalized->empty() ? "" : *normalized + "/"},
                            {"entries", std::move(entries)},
                            {"next_token", page->next_token}};
                        Response response = json_response(200, body);
                        response.head = request.method == "HEAD";
                        response.mount_target = id;
                        response.set_header("X-Mount-Target", id);
                        return response;
                      });
}

// Ready once a list is loaded and a probe of one of its mount targets has succeeded: a task that
// never reached the file system (a wrong export path, identity or security group) is not, so a
// deployment of it fails and rolls back. From then on it stays ready whatever the probes say:
// with every mount target down, requests still try them all (fail open), and a 503 here would
// have the load balancer's health check stop the tasks. Every task shares the file system, so an
// outage of it, or probes slowed by a load every task shares, would stop them all, over and
// over, and take capacity away when it is most needed. Each task's mount targets' health is in
// /targets and the metrics.
Response FileService::readyz() const {
  const auto current = table();
  if (!current || current->targets.empty()) {
    return json_error(503, "NotReady", "no valid mount-target list is loaded");
  }
  if (!reached_storage_.load()) {
    const bool answered =
        std::any_of(current->targets.begin(), current->targets.end(),
                    [](const TargetEntry& entry) { return entry.status->answered(); });
    if (!answered) {
      return json_error(503, "NotReady", "no mount target has answered a probe yet");
    }
    reached_storage_.store(true);
  }
  const std::size_t healthy = current->healthy_count();
  return json_response(200, {{"status", healthy > 0 ? "ready" : "degraded"},
                             {"generation", current->list.generation},
                             {"healthy_mount_targets", healthy},
                             {"mount_targets", current->targets.size()}});
}

Response FileService::targets() const {
  const auto current = table();
  nlohmann::json body = {{"generation", current ? current->list.generation : 0},
                         {"file_system_id", current ? current->list.file_system_id : ""},
                         {"updated_at", current ? current->list.updated_at : ""}};
  nlohmann::json list = nlohmann::json::array();
  if (current) {
    for (const auto& entry : current->targets) {
      nlohmann::json item = entry.status->to_json();
      item["id"] = entry.target.id;
      item["availability_zone"] = entry.target.availability_zone;
      item["availability_zone_id"] = entry.target.availability_zone_id;
      item["subnet_id"] = entry.target.subnet_id;
      item["ip_address"] = entry.target.ip_address;
      item["state"] = entry.target.state;
      item["local_storage"] = entry.backend->local();
      const Metrics::TargetLatency latency = metrics_->target_latency(entry.target.id);
      item["timed_requests"] = latency.count;
      item["request_seconds_total"] = latency.sum_seconds;
      list.push_back(std::move(item));
    }
  }
  body["mount_targets"] = std::move(list);
  return json_response(200, body);
}

}  // namespace efsas::service
