// AWS_CA_BUNDLE: the transport trusts exactly the authorities in the named PEM file, so a Lambda
// package that ships its own bundle can reach AWS over TLS.
#include <gtest/gtest.h>

#include "efsas/aws/http.h"
#include "efsas/testing/process.h"

namespace efsas::aws {
namespace {

using efsas::testing::Process;
using efsas::testing::ProcessOptions;
using efsas::testing::TempDir;

// A self-signed certificate for 127.0.0.1 and its key, made with the openssl command.
void make_certificate(const std::filesystem::path& dir, const std::string& name) {
  const auto result = efsas::testing::run_command(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
       (dir / (name + ".key")).string(), "-out", (dir / (name + ".pem")).string()});
  ASSERT_EQ(result.status, 0) << result.output;
}

class CaBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_certificate(dir_.path(), "server");
    make_certificate(dir_.path(), "other");
    const std::string script =
        "import http.server, ssl, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.send_header('Content-Length', '2')\n"
        "        self.end_headers(); self.wfile.write(b'ok')\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
        "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "c.load_cert_chain(sys.argv[1], sys.argv[2])\n"
        "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
        "print('listening on 127.0.0.1:%d' % s.server_address[1], flush=True)\n"
        "s.serve_forever()\n";
    efsas::testing::write_file(dir_.path() / "server.py", script);
    ProcessOptions options;
    options.argv = {"python3", (dir_.path() / "server.py").string(),
                    (dir_.path() / "server.pem").string(), (dir_.path() / "server.key").string()};
    options.log_file = dir_.path() / "server.log";
    server_ = std::make_unique<Process>(options);
    port_ = efsas::testing::wait_for_logged_port(
        *server_, "listening on 127.0.0.1:", std::chrono::seconds(20));
    ASSERT_NE(port_, 0) << server_->log();
  }

  Result<HttpResponse> get_with_bundle(const std::string& bundle) {
    auto transport = make_curl_transport(2, bundle);
    HttpRequest request;
    request.host = "127.0.0.1:" + std::to_string(port_);
    return transport->send(request, HttpTimeouts{});
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(CaBundleTest, TrustsTheNamedBundle) {
  auto response = get_with_bundle((dir_.path() / "server.pem").string());
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
}

TEST_F(CaBundleTest, RefusesAServerTheBundleDoesNotVouchFor) {
  auto response = get_with_bundle((dir_.path() / "other.pem").string());
  ASSERT_FALSE(response.ok());
  // The same request would fail the same way: not retried, and not taken for a network blip.
  EXPECT_FALSE(response.error().retryable) << response.error().to_string();
  EXPECT_EQ(response.error().code, ErrorCode::kPermissionDenied) << response.error().to_string();
  // So for a bundle that cannot be read.
  auto unreadable = get_with_bundle((dir_.path() / "no-such-bundle.pem").string());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_FALSE(unreadable.error().retryable) << unreadable.error().to_string();
  // The system store does not know this self-signed certificate either.
  auto with_default = get_with_bundle("");
  EXPECT_FALSE(with_default.ok());
}

}  // namespace
}  // namespace efsas::aws
