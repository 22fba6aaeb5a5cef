// Unit tests of the hub's CA, agent bundles and broker configuration (no broker, no network).
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hub/enroll/broker_config.h"
#include "hub/enroll/bundle.h"
#include "hub/enroll/ca.h"

namespace vigil::hub {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct CrlDeleter {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct StoreDeleter {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

X509Ptr ParseCert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr ParseKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

CrlPtr ParseCrl(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return CrlPtr(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
}

std::string CommonName(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

// X509_verify_cert of `cert` against the CA (and the CRL, when given) for `purpose`; returns the
// verification error (X509_V_OK when it verifies).
int Verify(X509* ca, X509* cert, int purpose, X509_CRL* crl = nullptr) {
  std::unique_ptr<X509_STORE, StoreDeleter> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  if (crl) {
    X509_STORE_add_crl(store.get(), crl);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

int64_t ToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return static_cast<int64_t>(timegm(&tm));
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class EnrollTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-enroll-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    ca_dir_ = tmp_ + "/hub/ca";
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "kept " << tmp_ << " for inspection\n";
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  std::unique_ptr<Ca> OpenCa() {
    auto ca = Ca::OpenOrCreate(ca_dir_);
    EXPECT_TRUE(ca.ok()) << ca.status().ToString();
    return ca.ok() ? std::move(*ca) : nullptr;
  }

  X509Ptr CaCert() { return ParseCert(ReadFile(ca_dir_ + "/ca.crt")); }

  std::string tmp_;
  std::string ca_dir_;
};

TEST_F(EnrollTest, CaCreatedOnceWithPrivateFilesAndReloadedIdentical) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  EXPECT_EQ(Mode(ca_dir_), 0700u);
  EXPECT_EQ(Mode(ca_dir_ + "/ca.key"), 0600u);
  for (const char* f : {"ca.crt", "ca.key", "index", "crlnumber", "crl.pem"}) {
    EXPECT_TRUE(std::filesystem::exists(ca_dir_ + "/" + f)) << f;
  }
  const std::string cert = ReadFile(ca_dir_ + "/ca.crt");
  const std::string key = ReadFile(ca_dir_ + "/ca.key");
  EXPECT_EQ(ca->cert_pem(), cert);

  auto again = OpenCa();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cert_pem(), cert);
  EXPECT_EQ(ReadFile(ca_dir_ + "/ca.crt"), cert);
  EXPECT_EQ(ReadFile(ca_dir_ + "/ca.key"), key);

  X509Ptr x = ParseCert(cert);
  ASSERT_TRUE(x);
  EXPECT_EQ(CommonName(x.get()), "Vigil hub CA");
  EXPECT_EQ(X509_check_ca(x.get()), 1);
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(x.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  const int64_t days = (ToUnix(X509_get0_notAfter(x.get())) - ToUnix(X509_get0_notBefore(x.get()))) / 86400;
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3651);
  // The key on disk is the certificate's.
  PkeyPtr k = ParseKey(key);
  ASSERT_TRUE(k);
  EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1);
}

TEST_F(EnrollTest, DeviceCertVerifiesAgainstCaWithCnClientAuthAndValidity) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  auto issued = ca->IssueDevice("sensor-17", 90);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  X509Ptr cert = ParseCert(issued->cert_pem);
  ASSERT_TRUE(cert);
  X509Ptr ca_cert = CaCert();
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  // Not usable as a server certificate.
  EXPECT_NE(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(CommonName(cert.get()), "sensor-17");
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  const int64_t not_before = ToUnix(X509_get0_notBefore(cert.get()));
  const int64_t not_after = ToUnix(X509_get0_notAfter(cert.get()));
  EXPECT_NEAR(static_cast<double>(not_before), static_cast<double>(before - 300), 5.0);
  EXPECT_NEAR(static_cast<double>(not_after), static_cast<double>(before + 90 * 86400), 5.0);
  EXPECT_EQ(issued->not_after, not_after);
  // A positive 16-byte serial, as recorded in the index.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  EXPECT_EQ(ASN1_STRING_length(serial), 16);
  EXPECT_NE(ASN1_STRING_type(serial), V_ASN1_NEG_INTEGER);
  PkeyPtr key = ParseKey(issued->key_pem);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  ASSERT_EQ(ca->Issued().size(), 1u);
  EXPECT_EQ(ca->Issued()[0].id, "sensor-17");
  EXPECT_EQ(ca->Issued()[0].serial, issued->serial);
  EXPECT_EQ(ca->Issued()[0].not_after, not_after);
  EXPECT_FALSE(ca->Issued()[0].revoked());
}

TEST_F(EnrollTest, BadAndReservedDeviceIdsAreRefusedNamingTheId) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  for (std::string id : {std::string(""), std::string(65, 'a'), std::string("a/b"), std::string("a b"),
                         std::string("dev+"), std::string("dev#"), std::string("dévice")}) {
    auto r = ca->IssueDevice(id);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << id;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("'" + id + "'"));
  }
  for (const char* id : {"vigil-hub", "VIGIL-HUB", "vigil-broker"}) {
    auto r = ca->IssueDevice(id);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("'" + std::string(id) + "'"));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("reserved"));
  }
  EXPECT_TRUE(ca->IssueDevice(std::string(64, 'x')).ok());
  EXPECT_TRUE(ca->IssueDevice("A.b_c-9").ok());
  EXPECT_FALSE(ca->IssueDevice("dev", 0).ok());
  EXPECT_EQ(ca->Issued().size(), 2u);
}

TEST_F(EnrollTest, ReenrollingIssuesANewCertificateAndKeepsTheOld) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  auto first = ca->IssueDevice("cam-1");
  auto second = ca->IssueDevice("cam-1");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->serial, second->serial);
  EXPECT_NE(first->key_pem, second->key_pem);
  auto reopened = OpenCa();
  ASSERT_TRUE(reopened);
  ASSERT_EQ(reopened->Issued().size(), 2u);
  EXPECT_EQ(reopened->Issued()[0].serial, first->serial);
  EXPECT_EQ(reopened->Issued()[1].serial, second->serial);
  EXPECT_FALSE(reopened->Issued()[0].revoked());
}

TEST_F(EnrollTest, RevocationListsEverySerialOfTheDeviceInACrlSignedByTheCa) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  auto a1 = ca->IssueDevice("dev-a");
  auto a2 = ca->IssueDevice("dev-a");
  auto b = ca->IssueDevice("dev-b");
  ASSERT_TRUE(a1.ok() && a2.ok() && b.ok());
  auto revoked = ca->Revoke("dev-a");
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(*revoked, 2);
  auto again = ca->Revoke("dev-a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);

  CrlPtr crl = ParseCrl(ReadFile(ca_dir_ + "/crl.pem"));
  ASSERT_TRUE(crl);
  X509Ptr ca_cert = CaCert();
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca_cert.get())), 0);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_NEAR(static_cast<double>(ToUnix(X509_CRL_get0_nextUpdate(crl.get()))),
              static_cast<double>(now + kDefaultCrlValidDays * 86400), 5.0);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);

  X509Ptr ca1 = ParseCert(a1->cert_pem), ca2 = ParseCert(a2->cert_pem), cb = ParseCert(b->cert_pem);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, ca1.get()), 1);
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, ca2.get()), 1);
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, cb.get()), 0);
  EXPECT_EQ(Verify(ca_cert.get(), ca1.get(), X509_PURPOSE_SSL_CLIENT, crl.get()), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(Verify(ca_cert.get(), cb.get(), X509_PURPOSE_SSL_CLIENT, crl.get()), X509_V_OK);

  auto reopened = OpenCa();
  ASSERT_TRUE(reopened);
  int revoked_entries = 0;
  for (const IndexEntry& e : reopened->Issued()) {
    EXPECT_EQ(e.revoked(), e.id == "dev-a") << e.id;
    if (e.revoked()) {
      ++revoked_entries;
      EXPECT_NEAR(static_cast<double>(e.revoked_at), static_cast<double>(now), 5.0);
    }
  }
  EXPECT_EQ(revoked_entries, 2);
  // Each CRL has a higher number than the one before.
  EXPECT_EQ(ReadFile(ca_dir_ + "/crlnumber"), "3\n");
}

TEST_F(EnrollTest, RevokingAnIdNeverEnrolledIsNotFound) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  auto r = ca->Revoke("ghost");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("'ghost'"));
  EXPECT_FALSE(ca->Revoke("vigil-hub").ok());
}

TEST_F(EnrollTest, ServerCertificateHasSubjectAltNamesAndServerAuth) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  auto s = ca->IssueServer({"hub.example.net", "localhost", "127.0.0.1", "::1"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  X509Ptr cert = ParseCert(s->cert_pem);
  ASSERT_TRUE(cert);
  X509Ptr ca_cert = CaCert();
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_host(cert.get(), "hub.example.net", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "other.example.net", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 0);
  EXPECT_EQ(CommonName(cert.get()), "vigil-broker");

  EXPECT_FALSE(ca->IssueServer({}).ok());
  auto bad = ca->IssueServer({"a,DNS:evil.example"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("a,DNS:evil.example"));
}

TEST_F(EnrollTest, HubClientCertificateIsNamedVigilHubWithClientAuth) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  auto h = ca->IssueHubClient();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  X509Ptr cert = ParseCert(h->cert_pem);
  ASSERT_TRUE(cert);
  X509Ptr ca_cert = CaCert();
  EXPECT_EQ(CommonName(cert.get()), "vigil-hub");
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  ASSERT_EQ(ca->Issued().size(), 1u);
  EXPECT_EQ(ca->Issued()[0].kind, IndexEntry::Kind::kHub);
}

TEST_F(EnrollTest, CaKeyReadableByOthersIsRefusedNamingTheFile) {
  ASSERT_TRUE(OpenCa());
  ASSERT_EQ(chmod((ca_dir_ + "/ca.key").c_str(), 0644), 0);
  auto ca = Ca::OpenOrCreate(ca_dir_);
  ASSERT_FALSE(ca.ok());
  EXPECT_EQ(ca.status().code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(std::string(ca.status().message()), HasSubstr(ca_dir_ + "/ca.key"));
}

TEST_F(EnrollTest, DamagedFilesAreReportedWithFileAndReason) {
  ASSERT_TRUE(OpenCa());
  { std::ofstream(ca_dir_ + "/index", std::ios::app) << "device x ZZZ 1 0\n"; }
  auto bad_index = Ca::OpenOrCreate(ca_dir_);
  ASSERT_FALSE(bad_index.ok());
  EXPECT_EQ(bad_index.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(std::string(bad_index.status().message()), HasSubstr(ca_dir_ + "/index:2"));

  std::ofstream(ca_dir_ + "/ca.crt", std::ios::trunc) << "not a certificate\n";
  auto bad_cert = Ca::OpenOrCreate(ca_dir_);
  ASSERT_FALSE(bad_cert.ok());
  EXPECT_THAT(std::string(bad_cert.status().message()), HasSubstr(ca_dir_ + "/ca.crt"));
  // OpenSSL's own reason is included.
  EXPECT_THAT(std::string(bad_cert.status().message()), HasSubstr("PEM"));
}

TEST_F(EnrollTest, NoTemporaryFilesAreLeftBehind) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  ASSERT_TRUE(ca->IssueDevice("d1").ok());
  ASSERT_TRUE(ca->Revoke("d1").ok());
  ASSERT_TRUE(WriteAgentBundle(*ca, "d2", "mqtts://hub:8883", tmp_ + "/bundle").ok());
  for (const std::string& dir : {ca_dir_, tmp_ + "/bundle"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr(".tmp.")));
    }
  }
}

TEST_F(EnrollTest, BundleHasTheFourFilesWithModesAndAConfigNamingThem) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  const std::string out = tmp_ + "/bundle-sensor-17";
  Status s = WriteAgentBundle(*ca, "sensor-17", "mqtts://hub.example.net:8883", out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Mode(out), 0700u);
  EXPECT_EQ(Mode(out + "/device.key"), 0600u);
  EXPECT_EQ(Mode(out + "/device.crt"), 0644u);
  EXPECT_EQ(Mode(out + "/ca.crt"), 0644u);
  EXPECT_EQ(Mode(out + "/agent.yml"), 0644u);
  EXPECT_EQ(ReadFile(out + "/ca.crt"), ca->cert_pem());

  X509Ptr cert = ParseCert(ReadFile(out + "/device.crt"));
  PkeyPtr key = ParseKey(ReadFile(out + "/device.key"));
  ASSERT_TRUE(cert && key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(CommonName(cert.get()), "sensor-17");
  X509Ptr ca_cert = CaCert();
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  const std::string yml = ReadFile(out + "/agent.yml");
  EXPECT_THAT(yml, HasSubstr("agent:\n  device_id: \"sensor-17\"\n"));
  EXPECT_THAT(yml, HasSubstr("output:\n  target: \"mqtts://hub.example.net:8883\"\n"));
  EXPECT_THAT(yml, HasSubstr("  ca_file: \"/etc/vigil/ca.crt\"\n"));
  EXPECT_THAT(yml, HasSubstr("  cert_file: \"/etc/vigil/device.crt\"\n"));
  EXPECT_THAT(yml, HasSubstr("  key_file: \"/etc/vigil/device.key\"\n"));

  BundleOptions here;
  here.install_dir = out + "/";
  ASSERT_TRUE(WriteAgentBundle(*ca, "sensor-17", "mqtts://[::1]:8883", out, here).ok());
  EXPECT_THAT(ReadFile(out + "/agent.yml"), HasSubstr("  key_file: \"" + out + "/device.key\"\n"));
  EXPECT_EQ(ca->Issued().size(), 2u);
}

TEST_F(EnrollTest, BundleRefusesBadUrlsIdsAndInstallDirs) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  const std::string out = tmp_ + "/b";
  for (const char* url : {"mqtt://hub:1883", "mqtts://hub", "mqtts://hub:0", "mqtts://hub:99999", "mqtts://:8883",
                          "mqtts://hu\"b:8883", "mqtts://a b:8883", "https://hub:443"}) {
    Status s = WriteAgentBundle(*ca, "dev", url, out);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << url;
    EXPECT_THAT(std::string(s.message()), HasSubstr(url));
  }
  EXPECT_EQ(WriteAgentBundle(*ca, "vigil-hub", "mqtts://hub:8883", out).code(), Status::Code::kInvalidArgument);
  BundleOptions relative;
  relative.install_dir = "etc/vigil";
  EXPECT_EQ(WriteAgentBundle(*ca, "dev", "mqtts://hub:8883", out, relative).code(), Status::Code::kInvalidArgument);
  // Nothing was issued for refused bundles.
  EXPECT_TRUE(ca->Issued().empty());
}

TEST_F(EnrollTest, BrokerConfigHasTheRequiredDirectivesAndFiles) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  BrokerOptions o;
  o.port = 8883;
  o.hostnames = {"hub.example.net", "127.0.0.1"};
  o.user = "root";
  const std::string out = tmp_ + "/broker";
  Status s = WriteBrokerConfig(*ca, o, out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::string conf = ReadFile(out + "/mosquitto.conf");
  for (const std::string& line :
       {std::string("per_listener_settings false\n"), std::string("user root\n"),
        std::string("allow_anonymous false\n"), "acl_file " + out + "/acl\n", std::string("persistence true\n"),
        "persistence_location " + out + "/data/\n", std::string("listener 8883\n"), "cafile " + out + "/ca.crt\n",
        "certfile " + out + "/server.crt\n", "keyfile " + out + "/server.key\n", "crlfile " + out + "/crl.pem\n",
        std::string("require_certificate true\n"), std::string("use_identity_as_username true\n"),
        std::string("max_queued_messages 100000\n")}) {
    EXPECT_THAT(conf, HasSubstr(line));
  }
  // The TLS options follow the listener line, where mosquitto applies them to it.
  EXPECT_LT(conf.find("listener 8883"), conf.find("cafile "));
  const std::string acl = ReadFile(out + "/acl");
  for (const char* line : {"pattern write vigil/v1/%u/events\n", "pattern write vigil/v1/%u/status\n",
                           "pattern write vigil/v1/%u/reported\n", "pattern read vigil/v1/%u/config\n",
                           "user vigil-hub\ntopic read vigil/v1/+/events\ntopic read vigil/v1/+/status\n"
                           "topic read vigil/v1/+/reported\ntopic write vigil/v1/+/config\n"}) {
    EXPECT_THAT(acl, HasSubstr(line));
  }
  // No device-wide wildcard grant.
  EXPECT_THAT(acl, Not(HasSubstr("pattern write vigil/v1/+")));
  std::istringstream lines(acl);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_THAT(line, Not(HasSubstr("#"))) << "a multi-level wildcard grant";
  }

  EXPECT_EQ(Mode(out + "/server.key"), 0600u);
  EXPECT_EQ(ReadFile(out + "/ca.crt"), ca->cert_pem());
  X509Ptr server = ParseCert(ReadFile(out + "/server.crt"));
  PkeyPtr server_key = ParseKey(ReadFile(out + "/server.key"));
  ASSERT_TRUE(server && server_key);
  EXPECT_EQ(X509_check_private_key(server.get(), server_key.get()), 1);
  EXPECT_EQ(X509_check_host(server.get(), "hub.example.net", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  CrlPtr crl = ParseCrl(ReadFile(out + "/crl.pem"));
  ASSERT_TRUE(crl);
  X509Ptr ca_cert = CaCert();
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);

  o.listen_host = "127.0.0.1";
  o.port = 18883;
  o.log_file = out + "/mosquitto.log";
  ASSERT_TRUE(WriteBrokerConfig(*ca, o, out).ok());
  const std::string conf2 = ReadFile(out + "/mosquitto.conf");
  EXPECT_THAT(conf2, HasSubstr("listener 18883 127.0.0.1\n"));
  EXPECT_THAT(conf2, HasSubstr("log_dest file " + out + "/mosquitto.log\n"));
}

TEST_F(EnrollTest, BrokerConfigRefusesBadOptions) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  BrokerOptions o;
  o.hostnames = {"localhost"};
  o.port = 0;
  EXPECT_EQ(WriteBrokerConfig(*ca, o, tmp_ + "/b").code(), Status::Code::kInvalidArgument);
  o.port = 8883;
  o.user = "a b";
  EXPECT_EQ(WriteBrokerConfig(*ca, o, tmp_ + "/b").code(), Status::Code::kInvalidArgument);
  o.user = "root";
  o.hostnames.clear();
  EXPECT_EQ(WriteBrokerConfig(*ca, o, tmp_ + "/b").code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(tmp_ + "/b/mosquitto.conf"));
}

TEST_F(EnrollTest, InstallCrlCopiesAFreshCrlToTheBrokerDirectory) {
  auto ca = OpenCa();
  ASSERT_TRUE(ca);
  BrokerOptions o;
  o.hostnames = {"localhost"};
  o.user = "root";
  const std::string out = tmp_ + "/broker";
  ASSERT_TRUE(WriteBrokerConfig(*ca, o, out).ok());
  auto dev = ca->IssueDevice("dev-x");
  ASSERT_TRUE(dev.ok());
  ASSERT_TRUE(ca->Revoke("dev-x").ok());
  ASSERT_TRUE(InstallCrl(*ca, out).ok());
  EXPECT_EQ(ReadFile(out + "/crl.pem"), ReadFile(ca_dir_ + "/crl.pem"));
  CrlPtr crl = ParseCrl(ReadFile(out + "/crl.pem"));
  ASSERT_TRUE(crl);
  X509Ptr cert = ParseCert(dev->cert_pem);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, cert.get()), 1);
}

}  // namespace
}  // namespace vigil::hub
