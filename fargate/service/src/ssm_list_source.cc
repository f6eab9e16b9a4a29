// SSM Parameter Store as a ListSource.
#include "efsas/service/ssm_list_source.h"

#include <utility>

#include "efsas/aws/client.h"
#include "efsas/aws/ssm.h"

namespace efsas::service {
namespace {

class SsmListSource final : public ListSource {
 public:
  SsmListSource(std::shared_ptr<const aws::AwsClient> client, std::string name)
      : client_(std::move(client)), name_(std::move(name)) {}
  Result<std::string> fetch() override {
    auto parameter = aws::ssm::get_parameter(*client_, name_);
    if (!parameter.ok()) return parameter.error();
    return parameter->value;
  }
  std::string describe() const override { return "ssm parameter " + name_; }

 private:
  std::shared_ptr<const aws::AwsClient> client_;
  std::string name_;
};

}  // namespace

std::unique_ptr<ListSource> make_ssm_list_source(std::shared_ptr<const aws::AwsClient> client,
                                                 std::string parameter_name) {
  return std::make_unique<SsmListSource>(std::move(client), std::move(parameter_name));
}

}  // namespace efsas::service
