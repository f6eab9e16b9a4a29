// SigV4 signatures per second: the whole header signing of typical requests of the project, and
// its steps (canonical request, signing key derivation).
#include <benchmark/benchmark.h>

#include "efsas/aws/sigv4.h"

namespace {

using efsas::aws::Credentials;
using efsas::aws::HttpRequest;
namespace sigv4 = efsas::aws::sigv4;

const Credentials kCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                               "FQoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789", std::nullopt};

sigv4::SigningParams params(const char* service) {
  sigv4::SigningParams p;
  p.region = "us-east-1";
  p.service = service;
  p.time = efsas::SystemTime{std::chrono::seconds{1'764'000'000}};
  return p;
}

// EFS DescribeMountTargets: a GET with a query string and no body.
HttpRequest describe_mount_targets() {
  HttpRequest r;
  r.method = "GET";
  r.host = "elasticfilesystem.us-east-1.amazonaws.com";
  r.path = "/2015-02-01/mount-targets";
  r.query = "FileSystemId=fs-0123456789abcdef0&MaxItems=100";
  r.headers = {{"Host", r.host}};
  return r;
}

// SSM PutParameter: a JSON 1.1 POST carrying a mount-target list of about `bytes` bytes.
HttpRequest put_parameter(std::size_t bytes) {
  HttpRequest r;
  r.method = "POST";
  r.host = "ssm.us-east-1.amazonaws.com";
  r.headers = {{"Host", r.host},
               {"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", "AmazonSSM.PutParameter"}};
  r.body = R"({"Name":"/efs-mount-autoscaling/mount-targets","Overwrite":true,"Value":")" +
           std::string(bytes, 'x') + "\"}";
  return r;
}

void BM_SignRequestGet(benchmark::State& state) {
  const HttpRequest base = describe_mount_targets();
  const auto p = params("elasticfilesystem");
  for (auto _ : state) {
    HttpRequest request = base;
    benchmark::DoNotOptimize(sigv4::sign_request(request, kCredentials, p));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignRequestGet);

void BM_SignRequestPost(benchmark::State& state) {
  const HttpRequest base = put_parameter(static_cast<std::size_t>(state.range(0)));
  const auto p = params("ssm");
  for (auto _ : state) {
    HttpRequest request = base;
    benchmark::DoNotOptimize(sigv4::sign_request(request, kCredentials, p));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(base.body.size()));
}
BENCHMARK(BM_SignRequestPost)->Arg(256)->Arg(4096)->Arg(65536);

void BM_CanonicalRequest(benchmark::State& state) {
  HttpRequest request = describe_mount_targets();
  request.headers.push_back({"X-Amz-Date", "20251124T160000Z"});
  const std::string payload = sigv4::sha256_hex("");
  for (auto _ : state) {
    benchmark::DoNotOptimize(sigv4::canonical_request(request, true, payload));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CanonicalRequest);

void BM_SigningKey(benchmark::State& state) {
  const auto p = params("ssm");
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        sigv4::signing_key(kCredentials.secret_access_key, p.time, p.region, p.service));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SigningKey);

}  // namespace

BENCHMARK_MAIN();
