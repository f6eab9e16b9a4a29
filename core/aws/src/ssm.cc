// SSM Parameter Store JSON 1.1 calls.
#include "efsas/aws/ssm.h"

#include <utility>

#include "wire.h"

namespace efsas::aws::ssm {
namespace {

ApiRequest json_request(std::string operation, const nlohmann::json& body) {
  ApiRequest request;
  request.service = Service::kSsm;
  request.protocol = Protocol::kJson11;
  request.operation = std::move(operation);
  request.body = body.dump();
  return request;
}

// One parameter version as GetParameter and GetParameterHistory describe it.
Result<Parameter> parse_parameter(const nlohmann::json& item, const std::string& operation) {
  // The value may be empty; its name and version never are.
  if (auto fields = detail::require_strings(item, {"Name"}, operation); !fields.ok()) {
    return fields.error();
  }
  for (const auto& [key, kind] : {std::pair{"Value", &nlohmann::json::is_string},
                                  std::pair{"Version", &nlohmann::json::is_number_integer}}) {
    if (auto field = detail::member(item, key, kind, operation); !field.ok()) {
      return field.error();
    }
  }
  Parameter out;
  out.name = detail::str(item, "Name");
  out.type = detail::str(item, "Type");
  out.value = detail::str(item, "Value");
  out.version = detail::num<std::int64_t>(item, "Version");
  out.arn = detail::str(item, "ARN");
  out.data_type = detail::str(item, "DataType");
  out.last_modified = detail::epoch_time(item, "LastModifiedDate");
  return out;
}

}  // namespace

Result<Parameter> get_parameter(const AwsClient& client, const std::string& name,
                                bool with_decryption) {
  const ApiRequest api =
      json_request("GetParameter", {{"Name", name}, {"WithDecryption", with_decryption}});
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  auto member = detail::member(*json, "Parameter", &nlohmann::json::is_object, api.operation);
  if (!member.ok()) return member.error();
  return parse_parameter(**member, api.operation);
}

Result<std::vector<Parameter>> get_parameter_history(const AwsClient& client,
                                                     const std::string& name) {
  // Parameter Store keeps 100 versions and pages them 50 at a time; a service that keeps
  // answering with a token is cut off rather than followed for ever.
  constexpr int kMaxPages = 20;
  std::vector<Parameter> out;
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    nlohmann::json body = {{"Name", name}, {"WithDecryption", false}, {"MaxResults", 50}};
    if (!token.empty()) body["NextToken"] = token;
    const ApiRequest api = json_request("GetParameterHistory", body);
    auto response = client.call(api);
    if (!response.ok()) return response.error();
    auto json = detail::parse_json(response->body, api.operation);
    if (!json.ok()) return json.error();
    auto member = detail::member(*json, "Parameters", &nlohmann::json::is_array, api.operation);
    if (!member.ok()) return member.error();
    for (const nlohmann::json& item : **member) {
      auto parameter = parse_parameter(item, api.operation);
      if (!parameter.ok()) return parameter.error();
      out.push_back(std::move(parameter).value());
    }
    token = detail::str(*json, "NextToken");
    if (token.empty()) return out;
  }
  return make_error(ErrorCode::kDataLoss, "GetParameterHistory answered with a NextToken for " +
                                              std::to_string(kMaxPages) +
                                              " pages; Parameter Store keeps 100 versions");
}

Result<PutParameterResult> put_parameter(const AwsClient& client,
                                         const PutParameterRequest& request) {
  nlohmann::json body = {{"Name", request.name},
                         {"Value", request.value},
                         {"Type", request.type},
                         {"Overwrite", request.overwrite}};
  if (!request.description.empty()) body["Description"] = request.description;
  const ApiRequest api = json_request("PutParameter", body);
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  if (auto version =
          detail::member(*json, "Version", &nlohmann::json::is_number_integer, api.operation);
      !version.ok()) {
    return version.error();
  }
  return PutParameterResult{detail::num<std::int64_t>(*json, "Version"),
                            detail::str(*json, "Tier")};
}

}  // namespace efsas::aws::ssm
