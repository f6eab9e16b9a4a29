// AWS Systems Manager Parameter Store calls (JSON 1.1, target AmazonSSM), with the wire shapes of
// botocore's model. Thread safety: free functions over a thread-safe AwsClient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "efsas/aws/client.h"
#include "efsas/clock.h"
#include "efsas/result.h"

namespace efsas::aws::ssm {

struct Parameter {
  std::string name{};
  std::string type{};  // String | StringList | SecureString
  std::string value{};
  std::int64_t version = 0;
  std::string arn{};
  std::string data_type{};
  std::optional<SystemTime> last_modified{};
};

// Errors: ParameterNotFound (Error::remote_code).
Result<Parameter> get_parameter(const AwsClient& client, const std::string& name,
                                bool with_decryption = false);

// Every version of the parameter that Parameter Store keeps (the newest 100), oldest first,
// following NextToken. Errors: ParameterNotFound.
Result<std::vector<Parameter>> get_parameter_history(const AwsClient& client,
                                                     const std::string& name);

struct PutParameterRequest {
  std::string name{};
  std::string value{};
  std::string type = "String";
  std::string description{};
  bool overwrite = false;
};

struct PutParameterResult {
  std::int64_t version = 0;
  std::string tier{};
};

// Errors: ParameterAlreadyExists when it exists and overwrite is false.
Result<PutParameterResult> put_parameter(const AwsClient& client,
                                         const PutParameterRequest& request);

}  // namespace efsas::aws::ssm
