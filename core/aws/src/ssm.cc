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
  const nlohmann::json& item = **member;
  // The value may be empty; its name and version never are.
  if (auto fields = detail::require_strings(item, {"Name"}, api.operation); !fields.ok()) {
    return fields.error();
  }
  for (const auto& [key, kind] : {std::pair{"Value", &nlohmann::json::is_string},
                                  std::pair{"Version", &nlohmann::json::is_number_integer}}) {
    if (auto field = detail::member(item, key, kind, api.operation); !field.ok()) {
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
