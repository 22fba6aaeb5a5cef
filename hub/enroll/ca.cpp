#include "hub/enroll/ca.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <sstream>

#include "hub/enroll/files.h"

namespace vigil::hub {

using enroll_internal::FileExists;
using enroll_internal::MakeDir;
using enroll_internal::ReadWholeFile;
using enroll_internal::WriteFileAtomic;

namespace {

constexpr const char* kCaCommonName = "Vigil hub CA";
constexpr const char* kIndexHeader = "# vigil hub CA index v1: kind id serial not_after revoked_at\n";
constexpr long kBackdateSeconds = 5 * 60;

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CrlFree {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct Asn1IntFree {
  void operator()(ASN1_INTEGER* p) const { ASN1_INTEGER_free(p); }
};
struct Asn1TimeFree {
  void operator()(ASN1_TIME* p) const { ASN1_TIME_free(p); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct OsslStrFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, Asn1IntFree>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Asn1TimeFree>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtFree>;
using OsslStr = std::unique_ptr<char, OsslStrFree>;

// OpenSSL's queued errors, oldest first, joined; the queue is emptied.
std::string OpensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

Status SslError(const std::string& what) { return Status::Internal(what + ": " + OpensslErrors()); }

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const char* KindName(IndexEntry::Kind kind) {
  switch (kind) {
    case IndexEntry::Kind::kDevice:
      return "device";
    case IndexEntry::Kind::kServer:
      return "server";
    case IndexEntry::Kind::kHub:
      return "hub";
  }
  return "device";
}

Result<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n < 0 || !data) return SslError("reading a memory BIO");
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return SslError("PEM-encoding a certificate");
  return BioToString(bio.get());
}

Result<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("PEM-encoding a private key");
  }
  return BioToString(bio.get());
}

Result<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("generating an EC P-256 key");
  return key;
}

// 16 random bytes, the top bit cleared so that the DER INTEGER is positive, and the top byte
// non-zero so that the serial keeps its 16 bytes.
Result<Asn1IntPtr> RandomSerial() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return SslError("drawing a random serial number");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x01);
  BnPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!bn) return SslError("making a serial number");
  Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return SslError("making a serial number");
  return serial;
}

Result<std::string> SerialHex(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return SslError("reading a serial number");
  OsslStr hex(BN_bn2hex(bn.get()));
  if (!hex) return SslError("printing a serial number");
  return std::string(hex.get());
}

Result<int64_t> AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return SslError("reading a certificate time");
  return static_cast<int64_t>(timegm(&tm));
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext) return SslError(std::string("making the extension ") + OBJ_nid2sn(nid) + " = " + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return SslError(std::string("adding the extension ") + OBJ_nid2sn(nid));
  return Status::Ok();
}

Status SetCommonName(X509_NAME* name, const std::string& cn) {
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return SslError("setting the subject CN " + cn);
  }
  return Status::Ok();
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool IsHostName(const std::string& s) {
  std::string_view rest = s;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || rest.size() > 253) return false;
  for (char c : rest) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return rest.front() != '.' && rest.front() != '-';
}

std::string Hint(const std::string& file) { return file + ": "; }

}  // namespace

Status ValidateDeviceId(std::string_view id) {
  const std::string shown = "device id '" + std::string(id) + "'";
  if (id.empty() || id.size() > 64) {
    return Status::InvalidArgument(shown + ": must be 1 to 64 characters (it has " + std::to_string(id.size()) + ")");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return Status::InvalidArgument(shown + ": only A-Z a-z 0-9 . _ - are allowed");
    }
  }
  for (std::string_view reserved : {kHubClientName, kBrokerServerName}) {
    if (EqualsIgnoreCase(id, reserved)) {
      return Status::InvalidArgument(shown + ": reserved for the hub itself");
    }
  }
  return Status::Ok();
}

struct Ca::Keys {
  X509Ptr cert;
  PkeyPtr key;
};

Ca::Ca(std::string dir) : dir_(std::move(dir)), keys_(std::make_unique<Keys>()) {}
Ca::~Ca() = default;

Result<std::unique_ptr<Ca>> Ca::OpenOrCreate(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("CA directory: empty path");
  std::unique_ptr<Ca> ca(new Ca(dir));
  VIGIL_RETURN_IF_ERROR(MakeDir(dir, 0700, /*force_mode=*/false).WithContext("CA directory"));
  if (FileExists(ca->cert_file())) {
    VIGIL_RETURN_IF_ERROR(ca->Load());
  } else {
    VIGIL_RETURN_IF_ERROR(ca->Create());
  }
  return ca;
}

Status Ca::Create() {
  // ca.crt is written last: it marks a complete CA. Leftovers of an interrupted creation (a
  // ca.key with no ca.crt) are replaced, since nothing can have been issued with them.
  if (FileExists(dir_ + "/index")) {
    auto text = ReadWholeFile(dir_ + "/index");
    if (text.ok() && text->find('\n') != std::string::npos && *text != kIndexHeader) {
      return Status::Corruption(Hint(cert_file()) +
                                "missing, but the index lists issued certificates: restore ca.crt from a backup");
    }
  }
  auto key = NewKey();
  if (!key.ok()) return key.status().WithContext("creating the CA key");
  X509Ptr cert(X509_new());
  if (!cert) return SslError("creating the CA certificate");
  auto serial = RandomSerial();
  if (!serial.ok()) return serial.status();
  X509_set_version(cert.get(), X509_VERSION_3);
  X509_set_serialNumber(cert.get(), serial->get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), kCaValidDays, 0, nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  VIGIL_RETURN_IF_ERROR(SetCommonName(name, kCaCommonName));
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key->get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0) return SslError("signing the CA certificate");

  auto key_pem = KeyToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  auto cert_pem = CertToPem(cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(key_file(), *key_pem, 0600));
  keys_->cert = std::move(cert);
  keys_->key = std::move(*key);
  cert_pem_ = *cert_pem;
  index_.clear();
  VIGIL_RETURN_IF_ERROR(SaveIndex());
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/crlnumber", "0\n", 0600));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(cert_file(), cert_pem_, 0644));
  auto crl = WriteCrl();
  if (!crl.ok()) return crl.status();
  return Status::Ok();
}

Status Ca::Load() {
  auto cert_pem = ReadWholeFile(cert_file());
  if (!cert_pem.ok()) return cert_pem.status();
  BioPtr cbio(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  X509Ptr cert(cbio ? PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return Status::Corruption(Hint(cert_file()) + "not a PEM certificate: " + OpensslErrors());

  struct stat st;
  if (::stat(key_file().c_str(), &st) != 0) {
    return Status::NotFound(Hint(key_file()) + "missing (the CA certificate is there, its key is not)");
  }
  if ((st.st_mode & 077) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    return Status::PermissionDenied(Hint(key_file()) + "mode 0" + mode.str() +
                                    " lets others read the CA key; chmod 600 it (and consider the key exposed)");
  }
  auto key_pem = ReadWholeFile(key_file());
  if (!key_pem.ok()) return key_pem.status();
  BioPtr kbio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  PkeyPtr key(kbio ? PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Status::Corruption(Hint(key_file()) + "not a PEM private key: " + OpensslErrors());
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Status::Corruption(Hint(key_file()) + "does not match " + cert_file() + ": " + OpensslErrors());
  }
  keys_->cert = std::move(cert);
  keys_->key = std::move(key);
  cert_pem_ = std::move(*cert_pem);
  return LoadIndex();
}

Status Ca::LoadIndex() {
  const std::string path = dir_ + "/index";
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      index_.clear();
      return Status::Ok();
    }
    return text.status();
  }
  index_.clear();
  std::istringstream in(*text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string kind, id, serial, not_after, revoked_at, extra;
    auto bad = [&](const std::string& why) {
      return Status::Corruption(path + ":" + std::to_string(line_no) + ": " + why + ": '" + line + "'");
    };
    if (!(fields >> kind >> id >> serial >> not_after >> revoked_at) || (fields >> extra)) {
      return bad("expected 5 fields: kind id serial not_after revoked_at");
    }
    IndexEntry e;
    if (kind == "device") {
      e.kind = IndexEntry::Kind::kDevice;
    } else if (kind == "server") {
      e.kind = IndexEntry::Kind::kServer;
    } else if (kind == "hub") {
      e.kind = IndexEntry::Kind::kHub;
    } else {
      return bad("unknown kind '" + kind + "' (device, server or hub)");
    }
    if (serial.empty() || serial.find_first_not_of("0123456789ABCDEF") != std::string::npos) {
      return bad("serial is not upper-case hex");
    }
    auto parse = [](const std::string& s, int64_t* v) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
      return ec == std::errc() && end == s.data() + s.size() && *v >= 0;
    };
    if (!parse(not_after, &e.not_after)) return bad("not_after is not a Unix time");
    if (!parse(revoked_at, &e.revoked_at)) return bad("revoked_at is not a Unix time");
    e.id = id;
    e.serial = serial;
    index_.push_back(std::move(e));
  }
  return Status::Ok();
}

Status Ca::SaveIndex() const {
  std::string text = kIndexHeader;
  for (const IndexEntry& e : index_) {
    text += std::string(KindName(e.kind)) + " " + e.id + " " + e.serial + " " + std::to_string(e.not_after) + " " +
            std::to_string(e.revoked_at) + "\n";
  }
  return WriteFileAtomic(dir_ + "/index", text, 0600);
}

Result<IssuedCert> Ca::Issue(IndexEntry::Kind kind, const std::string& common_name, const std::string& key_usage,
                             const std::string& ext_key_usage, const std::string& subject_alt_name, int valid_days) {
  if (valid_days < 1 || valid_days > kCaValidDays) {
    return Status::InvalidArgument("validity of " + std::to_string(valid_days) + " days: must be 1 to " +
                                   std::to_string(kCaValidDays));
  }
  auto key = NewKey();
  if (!key.ok()) return key.status();
  X509Ptr cert(X509_new());
  if (!cert) return SslError("creating a certificate");
  auto serial = RandomSerial();
  if (!serial.ok()) return serial.status();
  X509_set_version(cert.get(), X509_VERSION_3);
  X509_set_serialNumber(cert.get(), serial->get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), valid_days, 0, nullptr);
  // Never past the CA's own end: the chain would not verify after it anyway.
  if (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(keys_->cert.get())) > 0) {
    X509_set1_notAfter(cert.get(), X509_get0_notAfter(keys_->cert.get()));
  }
  VIGIL_RETURN_IF_ERROR(SetCommonName(X509_get_subject_name(cert.get()), common_name));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(keys_->cert.get()));
  X509_set_pubkey(cert.get(), key->get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, keys_->cert.get(), cert.get(), nullptr, nullptr, 0);
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical," + key_usage));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, ext_key_usage));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!subject_alt_name.empty()) {
    VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name, subject_alt_name));
  }
  if (X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) <= 0) {
    return SslError("signing the certificate for " + common_name);
  }

  IssuedCert out;
  auto cert_pem = CertToPem(cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = KeyToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  auto serial_hex = SerialHex(X509_get0_serialNumber(cert.get()));
  if (!serial_hex.ok()) return serial_hex.status();
  auto not_after = AsnTimeToUnix(X509_get0_notAfter(cert.get()));
  if (!not_after.ok()) return not_after.status();
  out.cert_pem = std::move(*cert_pem);
  out.key_pem = std::move(*key_pem);
  out.serial = *serial_hex;
  out.not_after = *not_after;

  IndexEntry entry;
  entry.kind = kind;
  entry.id = common_name;
  entry.serial = out.serial;
  entry.not_after = out.not_after;
  index_.push_back(entry);
  if (Status s = SaveIndex(); !s.ok()) {
    index_.pop_back();  // not recorded: not handed out
    return s;
  }
  return out;
}

Result<IssuedCert> Ca::IssueDevice(std::string_view device_id, int valid_days) {
  VIGIL_RETURN_IF_ERROR(ValidateDeviceId(device_id));
  return Issue(IndexEntry::Kind::kDevice, std::string(device_id), "digitalSignature", "clientAuth", "", valid_days);
}

Result<IssuedCert> Ca::IssueServer(const std::vector<std::string>& hostnames_and_ips, int valid_days) {
  if (hostnames_and_ips.empty()) {
    return Status::InvalidArgument("broker certificate: at least one host name or IP address is needed");
  }
  std::string san;
  for (const std::string& name : hostnames_and_ips) {
    if (!san.empty()) san += ",";
    if (IsIpAddress(name)) {
      san += "IP:" + name;
    } else if (IsHostName(name)) {
      san += "DNS:" + name;
    } else {
      return Status::InvalidArgument("broker certificate: '" + name +
                                     "' is neither an IP address nor a host name (letters, digits, '-', '.')");
    }
  }
  return Issue(IndexEntry::Kind::kServer, std::string(kBrokerServerName), "digitalSignature", "serverAuth", san,
               valid_days);
}

Result<IssuedCert> Ca::IssueHubClient(int valid_days) {
  return Issue(IndexEntry::Kind::kHub, std::string(kHubClientName), "digitalSignature", "clientAuth", "", valid_days);
}

Result<int> Ca::Revoke(std::string_view device_id) {
  VIGIL_RETURN_IF_ERROR(ValidateDeviceId(device_id));
  bool known = false;
  int revoked = 0;
  const int64_t now = Now();
  std::vector<IndexEntry> updated = index_;
  for (IndexEntry& e : updated) {
    if (e.kind != IndexEntry::Kind::kDevice || e.id != device_id) continue;
    known = true;
    if (e.revoked()) continue;
    e.revoked_at = now;
    ++revoked;
  }
  if (!known) return Status::NotFound("device id '" + std::string(device_id) + "': never enrolled with this CA");
  std::swap(index_, updated);
  if (Status s = SaveIndex(); !s.ok()) {
    std::swap(index_, updated);
    return s;
  }
  auto crl = WriteCrl();
  if (!crl.ok()) return crl.status().WithContext("revoked in the index, but the CRL was not written");
  return revoked;
}

Result<std::string> Ca::WriteCrl(int valid_days) {
  if (valid_days < 1 || valid_days > 3650) {
    return Status::InvalidArgument("CRL validity of " + std::to_string(valid_days) + " days: must be 1 to 3650");
  }
  const std::string number_path = dir_ + "/crlnumber";
  int64_t number = 0;
  if (auto text = ReadWholeFile(number_path); text.ok()) {
    std::string s = *text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
    if (ec != std::errc() || end != s.data() + s.size() || number < 0) {
      return Status::Corruption(number_path + ": expected a decimal number, got '" + s + "'");
    }
  } else if (text.status().code() != Status::Code::kNotFound) {
    return text.status();
  }
  ++number;

  CrlPtr crl(X509_CRL_new());
  if (!crl) return SslError("creating a CRL");
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(keys_->cert.get()));
  Asn1TimePtr last(X509_gmtime_adj(nullptr, 0));
  Asn1TimePtr next(X509_time_adj_ex(nullptr, valid_days, 0, nullptr));
  if (!last || !next || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return SslError("setting the CRL's update times");
  }
  for (const IndexEntry& e : index_) {
    if (!e.revoked()) continue;
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, e.serial.c_str()) == 0) return SslError("reading serial " + e.serial + " of the index");
    BnPtr bn(raw);
    Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(e.revoked_at)));
    X509_REVOKED* rev = X509_REVOKED_new();
    if (!serial || !when || !rev || X509_REVOKED_set_serialNumber(rev, serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(rev, when.get()) != 1) {
      X509_REVOKED_free(rev);
      return SslError("listing serial " + e.serial + " in the CRL");
    }
    if (X509_CRL_add0_revoked(crl.get(), rev) != 1) {
      X509_REVOKED_free(rev);
      return SslError("listing serial " + e.serial + " in the CRL");
    }
  }
  X509_CRL_sort(crl.get());
  Asn1IntPtr crl_number(ASN1_INTEGER_new());
  if (!crl_number || ASN1_INTEGER_set_int64(crl_number.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0) != 1) {
    return SslError("adding the CRL number");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, keys_->cert.get(), nullptr, nullptr, crl.get(), 0);
  ExtPtr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1) return SslError("adding the CRL's authority key id");
  if (X509_CRL_sign(crl.get(), keys_->key.get(), EVP_sha256()) <= 0) return SslError("signing the CRL");

  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) return SslError("PEM-encoding the CRL");
  auto pem = BioToString(bio.get());
  if (!pem.ok()) return pem.status();
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(number_path, std::to_string(number) + "\n", 0600));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(crl_file(), *pem, 0644));
  return pem;
}

}  // namespace vigil::hub
